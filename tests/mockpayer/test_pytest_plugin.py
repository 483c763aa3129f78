"""The pytest plugin as a user gets it: a fresh pytest process in which nothing is imported or registered by
hand (the `pytest11` entry point does it), the `mock_payer_fixtures` ini option, and the server gone after
each test; the session-wide mock shared by the tests of a session and reset for each."""

import json
import socket
from urllib.parse import urlsplit

import pytest

from mockpayer.generate import write_plan

pytest_plugins = ["pytester"]

USING_THE_FIXTURE = '''
from pathlib import Path

def test_served_plans(mock_payer):
    Path("served.txt").write_text(" ".join(sorted(mock_payer.plans)) + "\\n" + mock_payer.url)
    plan = "demoplan" if "demoplan" in mock_payer.plans else sorted(mock_payer.plans)[0]
    assert mock_payer.login(next(iter(mock_payer.plans[plan].members)), plan=plan).access_token
'''


def served(pytester: pytest.Pytester) -> tuple[list[str], str]:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    plans, url = (pytester.path / "served.txt").read_text().splitlines()
    return plans.split(), url


def test_installing_the_package_is_enough_and_the_bundled_plans_are_the_default(pytester):
    pytester.makepyfile(test_app=USING_THE_FIXTURE)
    plans, url = served(pytester)
    assert plans == ["bluebutton", "demoplan", "smartplan"]
    with socket.socket() as probe:  # the test is over: nobody listens there any more
        assert probe.connect_ex((urlsplit(url).hostname, urlsplit(url).port)) != 0


def test_the_ini_option_names_the_plans_to_serve(pytester):
    write_plan(pytester.path / "qa-plans" / "tinyplan", system_id="tinyplan", members=1, claims_per_member=2)
    pytester.makeini("[pytest]\nmock_payer_fixtures = qa-plans\n")
    pytester.makepyfile(test_app=USING_THE_FIXTURE)
    assert served(pytester)[0] == ["tinyplan"]


# The same test twice: each records what it finds, then changes everything a test can change on the mock.
USING_THE_SESSION_FIXTURE = '''
import json
import time

import pytest
import requests

@pytest.mark.parametrize("run", [1, 2])
def test_finds_the_mock_as_it_started(mock_payer_session, run):
    payer = mock_payer_session
    found = [payer.url, payer.day("tinyplan"), round(payer.clock.now() - time.time()), payer.fault_report()]
    with open("found.txt", "a") as out:
        out.write(json.dumps(found) + "\\n")
    tokens = payer.login("tinyplan-member1")
    patient = f"{payer.plans['tinyplan'].fhir_base}/Patient/{tokens.patient}"
    assert requests.get(patient, headers=tokens.headers, timeout=10).status_code == 200
    assert payer.fault_report()["tinyplan"]["requests"]["api"] == 1
    payer.faults("tinyplan", server_error={"every": 1})
    payer.clock.advance(7200)
    payer.advance_day("tinyplan")
'''


def test_the_session_fixture_is_one_mock_reset_before_each_test(pytester):
    """Two tests of one session get the same mock (the same URL), and the second finds it as the first did:
    plan.json's faults with no request counted yet, day 1, the clock on time; its plans from the
    `mock_payer_session_fixtures` ini option."""
    plan = pytester.path / "session-plans" / "tinyplan"
    write_plan(plan, system_id="tinyplan", members=1, claims_per_member=2, days=2)
    settings = json.loads((plan / "plan.json").read_text())
    (plan / "plan.json").write_text(json.dumps({**settings, "faults": {"rate_limit": {"every": 5}}}))
    pytester.makeini("[pytest]\nmock_payer_session_fixtures = session-plans\n")
    pytester.makepyfile(test_app=USING_THE_SESSION_FIXTURE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    first, second = map(json.loads, (pytester.path / "found.txt").read_text().splitlines())
    assert first == second
    url, day, offset, faults = first
    assert url.startswith("http://127.0.0.1:") and (day, offset) == (1, 0)
    assert faults == {"tinyplan": {"faults": {"seed": 0, "rate_limit": {"every": 5}},
                                   "requests": {"api": 0, "token": 0, "authorize": 0}, "hits": {"rate_limit": 0},
                                   "never_reached": {}}}
