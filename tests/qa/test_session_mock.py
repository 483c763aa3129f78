"""QA: a big plan in the session-wide mock (`mock_payer_session`, serving the generated plan of tests/conftest.py):
loaded once, kept off the garbage collector so that it slows no other test, and put back as it started for
each test that uses it."""

import gc

import pytest
import requests

from mockpayer.pytest_plugin import MockPayerError

HOUR = 3600


def tracked_objects_of(stored_resources) -> list:
    """The objects the garbage collector tracks among loaded records: each StoredResource and the dicts and lists
    of the elements it keeps parsed (a dict of strings and numbers only is not tracked, so not counted)."""
    found, pending = [], [*stored_resources, *(stored.indexed for stored in stored_resources)]
    while pending:
        item = pending.pop()
        if gc.is_tracked(item):
            found.append(item)
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def test_the_collector_never_walks_the_session_mocks_records(mock_payer_session):
    """The mock runs in a thread of this process, so its records are objects of this process; a full collection,
    in this test or any other, walks every object in the collector's generations, and `gc.get_objects()` lists
    exactly those. None of the big plan's are among them, however many there are: measured with the
    collector's own lists, not with time."""
    loaded = mock_payer_session._app.extensions["mockpayer"].resources["bigplan"]
    stored = [*loaded.data.resources.values(), *loaded.directory.resources.values()]
    records = tracked_objects_of(stored)
    assert len(records) > 3 * len(stored)  # what every full collection would walk again without the freeze
    gc.collect()
    walked = {id(item) for item in gc.get_objects()}
    assert sum(id(item) in walked for item in records) == 0


def test_reset_puts_back_faults_lockouts_the_clock_and_the_day(mock_payer_session):
    """What one test changes on the shared mock is gone for the next (the fixture resets before each test that
    uses it; a test may call `reset()` itself): faults, a client locked out by RFC 6749 §10.10, the clock, the
    day of records. The token got before, in the same test, still works: tokens are not reset."""
    payer = mock_payer_session
    plan = payer.plans["bigplan"]
    tokens = payer.login("bigplan-member1")
    claims = f"{plan.fhir_base}/ExplanationOfBenefit?patient={tokens.patient}&_count=1"
    day_one = payer.records("bigplan-member1")

    payer.clock.advance(2 * HOUR)
    assert requests.get(claims, headers=tokens.headers, timeout=10).status_code == 401
    payer.faults("bigplan", server_error={"every": 1, "status": 503})
    assert payer.fault_report()["bigplan"]["faults"]["server_error"] == {"every": 1, "status": 503}
    assert payer.advance_day("bigplan")["bigplan"]["day"] == 2
    assert payer.records("bigplan-member1") != day_one
    wrong_secret = {"grant_type": "authorization_code", "code": "x", "client_id": "bigplan-confidential-app",
                    "client_secret": "guess"}
    assert {requests.post(plan.token_url, data=wrong_secret, timeout=10).status_code for _ in range(10)} == {401}
    with pytest.raises(MockPayerError, match="429"):
        payer.login("bigplan-member1")

    payer.reset()

    assert payer.fault_report()["bigplan"] == {"faults": {}, "requests": {}, "hits": {}, "never_reached": {}}
    assert payer.day("bigplan") == 1 and payer.records("bigplan-member1") == day_one
    assert requests.get(claims, headers=tokens.headers, timeout=10).status_code == 200
    assert payer.login("bigplan-member1").patient == tokens.patient
