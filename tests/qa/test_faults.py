"""QA: each fault class the mock injects, as a client sees it on the wire, and how the app under test (the
mirror's sync) comes through it: complete with exactly the member's records, or partial and then whole on
the next run once the fault is gone."""

import functools
import time

import orjson
import pytest
import requests

from mirror.sync.options import SyncOptions
from mirror.sync.retry import RetryPolicy
from mockpayer.pytest_plugin import MockPayerError
from tests.qa.mirror_app import connect_demo, held, mirror, parsed, sync


def claims_page(mock_payer, tokens, url=None):
    return requests.get(url or f"{mock_payer.plans['demoplan'].fhir_base}/ExplanationOfBenefit?_count=5",
                        headers=tokens.headers, timeout=10)


def link(page: dict, relation: str) -> str | None:
    return next((item["url"] for item in page["link"] if item["relation"] == relation), None)


# ---- on the wire ------------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", rate_limit={"every": 2, "retry_after": 7})
    assert claims_page(mock_payer, tokens).status_code == 200
    limited = claims_page(mock_payer, tokens)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["resourceType"] == "OperationOutcome"
    assert mock_payer.fault_report()["demoplan"]["hits"] == {"rate_limit": 1}


def test_server_error_on_one_page_a_few_times(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", server_error={"status": 503, "page": 2, "times": 2})
    second_page = link(claims_page(mock_payer, tokens).json(), "next")
    statuses = [claims_page(mock_payer, tokens, second_page).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_latency_delays_the_answer(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", latency={"seconds": 0.3, "times": 1})
    started = time.monotonic()
    assert claims_page(mock_payer, tokens).status_code == 200
    assert time.monotonic() - started >= 0.3  # the fault's own delay, not a performance figure


def test_expire_token_revokes_the_access_token_and_a_refresh_recovers(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", expire_token={"times": 1})
    expired = claims_page(mock_payer, tokens)
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert claims_page(mock_payer, tokens).status_code == 401  # revoked for good
    assert claims_page(mock_payer, mock_payer.refresh(tokens)).status_code == 200


def test_revoke_refresh_refuses_the_refresh_token(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", revoke_refresh={})
    with pytest.raises(MockPayerError, match="invalid_grant"):
        mock_payer.refresh(tokens)
    assert claims_page(mock_payer, tokens).status_code == 200  # the access token lives on until it expires


def test_truncate_cuts_the_body(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", truncate={"fraction": 0.5, "times": 1})
    cut = claims_page(mock_payer, tokens)
    assert cut.status_code == 200 and int(cut.headers["Content-Length"]) == len(cut.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_loop_next_points_back_at_the_same_page(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", loop_next={"page": 1})
    page = claims_page(mock_payer, tokens).json()
    again = claims_page(mock_payer, tokens, link(page, "next")).json()
    assert [entry["fullUrl"] for entry in again["entry"]] == [entry["fullUrl"] for entry in page["entry"]]


def test_duplicates_repeat_the_last_entries_on_the_next_page(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", duplicates={"entries": 2, "page": 1})
    page = claims_page(mock_payer, tokens).json()
    following = claims_page(mock_payer, tokens, link(page, "next")).json()
    assert [entry["fullUrl"] for entry in following["entry"][:2]] == [entry["fullUrl"] for entry in page["entry"][-2:]]


def test_faults_at_the_token_endpoint_fail_the_sign_in_until_cleared(mock_payer):
    mock_payer.faults("demoplan", rate_limit={"at": "token", "retry_after": 3})
    with pytest.raises(MockPayerError, match="429"):
        mock_payer.login("member1")
    mock_payer.faults()  # no spec: every plan's faults cleared
    assert mock_payer.login("member1").access_token


# ---- the app under test -----------------------------------------------------------------------------------

COMPLETE, PARTIAL = 0, 3  # `mirror sync` exit statuses
QUICK_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05)  # the same attempts, shorter waits

MIRROR_UNDER_FAULTS = {
    "rate_limit": ({"rate_limit": {"from": 2, "to": 3, "retry_after": 0}}, COMPLETE),
    "server_error": ({"server_error": {"status": 503, "page": 2, "times": 2}}, COMPLETE),
    "latency": ({"latency": {"seconds": [0.0, 0.05]}}, COMPLETE),
    "expire_token": ({"expire_token": {"every": 4}}, COMPLETE),
    "revoke_refresh": ({"revoke_refresh": {}, "expire_token": {"from": 3, "times": 1}}, PARTIAL),
    "truncate": ({"truncate": {"page": 2, "times": 1}}, COMPLETE),
    "truncate for good": ({"truncate": {"page": 2}}, PARTIAL),
    "loop_next": ({"loop_next": {"page": 2, "times": 1}}, COMPLETE),
    "duplicates": ({"duplicates": {"entries": 3}}, COMPLETE),
}


@pytest.mark.parametrize("fault", MIRROR_UNDER_FAULTS)
def test_the_mirror_syncs_through_each_fault_or_resumes_after_it(mock_payer, tmp_path, fault, monkeypatch):
    monkeypatch.setattr("mirror.cli.SyncOptions", functools.partial(SyncOptions, retry=QUICK_RETRIES))
    spec, expected = MIRROR_UNDER_FAULTS[fault]
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    mock_payer.faults("demoplan", **spec)
    status, report = sync(data_dir, "--page-size", "10")
    assert status == expected, report["errors"]
    member_records = parsed(mock_payer.records("member1"))
    if expected == COMPLETE:
        assert held(data_dir) == member_records
        return
    assert report["errors"]
    assert all(member_records[key] == resource for key, resource in held(data_dir).items())  # nothing torn
    mock_payer.faults()
    if report["reconnect_needed"]:
        connect_demo(data_dir, mock_payer.url)
    assert sync(data_dir, "--page-size", "10")[0] == COMPLETE
    assert held(data_dir) == member_records
    assert mirror(data_dir, "status")[0] == 0
