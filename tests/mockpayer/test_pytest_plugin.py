"""The pytest plugin as a user gets it: a fresh pytest process in which nothing is imported or registered by
hand (the `pytest11` entry point does it), the `mock_payer_fixtures` ini option, and the server gone after
each test."""

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
