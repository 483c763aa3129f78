"""QA fault injection (API-5) on Blue Button's FHIR API (`/v2/fhir`), over real HTTP: every fault kind acts there
as on the 1up and SMART paths, its refusals in Blue Button's shapes, and its page conditions and reshaping read
Blue Button's `startIndex` and `_count` (page K starts at startIndex (K-1) x _count)."""

import json
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests

from tests.mockpayer.bluebutton.driver import TIMEOUT, assert_detail, entry_ids, link
from tests.mockpayer.bluebutton.plan import BENEFICIARY, CONFIDENTIAL, SYSTEM_ID, claim_ids
from tests.mockpayer.bluebutton.test_serve import _answer
from tests.mockpayer.driver import assert_oauth_error
from tests.mockpayer.test_cli import _free_port

CLAIMS = "fhir/ExplanationOfBenefit/"
PATIENT = f"fhir/Patient/{BENEFICIARY[2]}"


@pytest.fixture
def tokens(bluebutton) -> dict:
    return bluebutton.tokens()


def _set_faults(bluebutton, **spec) -> None:
    response = requests.post(f"{bluebutton.url}/_admin/faults", json={"system_id": SYSTEM_ID, **spec},
                             timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def _report(bluebutton) -> dict:
    return requests.get(f"{bluebutton.url}/_admin/faults", timeout=TIMEOUT).json()[SYSTEM_ID]


def _follow(url: str, token: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)


def _start_index(url: str) -> str:
    return parse_qs(urlsplit(url).query)["startIndex"][0]


# ---- refusals before the answer ------------------------------------------------------------------------


def test_rate_limit_every_second_request_is_blue_buttons_429(bluebutton, tokens):
    """SY-1's input on `/v2/fhir`: 429 with `Retry-After`, in Django REST framework's words, as Blue Button
    throttles; the requests are counted and the hits reported."""
    _set_faults(bluebutton, rate_limit={"every": 2, "retry_after": 7})
    responses = [bluebutton.get(PATIENT, tokens["access_token"]) for _ in range(4)]
    assert [response.status_code for response in responses] == [200, 429, 200, 429]
    assert_detail(responses[1], 429, "Request was throttled. Expected available in 7 seconds.")
    assert responses[1].headers["Retry-After"] == "7"
    report = _report(bluebutton)
    assert report["requests"]["api"] == 4 and report["hits"]["rate_limit"] == 2


def test_rate_limit_with_an_http_date(bluebutton, tokens):
    """RFC 9110 §10.2.3's other form: the header is a date, and the words give no number of seconds."""
    _set_faults(bluebutton, rate_limit={"retry_after": 30, "retry_after_format": "http-date"})
    response = bluebutton.get(CLAIMS, tokens["access_token"])
    assert_detail(response, 429, "Request was throttled.")
    assert response.headers["Retry-After"].endswith(" GMT")


@pytest.mark.parametrize("status, body", [
    (500, {"error": "Server Error (500)"}),
    (502, {"detail": "An error occurred contacting the upstream server"}),
    (503, {"detail": "Service temporarily unavailable, try again later."}),
])
def test_server_error_then_success_after_times(bluebutton, tokens, status, body):
    """SY-2's input: the status asked for, in Blue Button's body for it, then the read succeeds."""
    _set_faults(bluebutton, server_error={"status": status, "times": 1})
    failed = bluebutton.get(PATIENT, tokens["access_token"])
    assert failed.status_code == status and failed.json() == body
    assert bluebutton.get(PATIENT, tokens["access_token"]).status_code == 200


def test_expire_token_is_blue_buttons_401_and_a_refresh_works(bluebutton, tokens):
    """SY-4's input: the token is revoked and the request gets Blue Button's 401 with its `Bearer realm="api"`
    challenge naming `invalid_token` (RFC 6750 §3.1); from then on the API refuses the token itself; a refresh
    gets one that works."""
    _set_faults(bluebutton, expire_token={"from": 2, "times": 1})
    assert bluebutton.get(PATIENT, tokens["access_token"]).status_code == 200
    for _ in range(2):  # the injected 401, then the API's own
        expired = bluebutton.get(PATIENT, tokens["access_token"])
        assert_detail(expired, 401, "Authentication credentials were not provided.")
        assert expired.headers["WWW-Authenticate"] == (
            'Bearer realm="api", error="invalid_token", error_description="The access token is invalid."')
    refreshed = bluebutton.token({"client_id": CONFIDENTIAL[0], "grant_type": "refresh_token",
                                  "refresh_token": tokens["refresh_token"]}, auth=CONFIDENTIAL)
    assert refreshed.status_code == 200, refreshed.text
    assert bluebutton.get(PATIENT, refreshed.json()["access_token"]).status_code == 200


def test_revoke_refresh_after_a_request(bluebutton, tokens):
    """SY-4's input: a request to `/v2/fhir` revokes the plan's refresh tokens, so the refresh is `invalid_grant`."""
    _set_faults(bluebutton, revoke_refresh={"from": 1})
    assert bluebutton.get(PATIENT, tokens["access_token"]).status_code == 200
    refused = bluebutton.token({"client_id": CONFIDENTIAL[0], "grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]}, auth=CONFIDENTIAL)
    assert_oauth_error(refused, 400, "invalid_grant")


def test_latency_acts_on_every_request(bluebutton, tokens):
    """A delayed answer is still the answer; each request counts as a hit."""
    _set_faults(bluebutton, latency={"seconds": 0.01})
    assert [bluebutton.get(PATIENT, tokens["access_token"]).status_code for _ in range(3)] == [200, 200, 200]
    assert _report(bluebutton)["hits"]["latency"] == 3


# ---- page conditions and reshaping, by startIndex and _count -----------------------------------------------


def test_server_error_on_page_two_by_start_index(bluebutton, tokens):
    """SY-2's input: page 2 of `_count=3` is the one from startIndex 3; it fails once, then a retry gets it; the
    first and third pages are never faulted."""
    token = tokens["access_token"]
    _set_faults(bluebutton, server_error={"status": 502, "page": 2, "times": 1})
    first = bluebutton.get(CLAIMS, token, _count=3)
    assert first.status_code == 200
    second_url = link(first.json(), "next")
    assert _start_index(second_url) == "3"
    assert_detail(_follow(second_url, token), 502, "An error occurred contacting the upstream server")
    second = _follow(second_url, token)
    assert second.status_code == 200 and len(second.json()["entry"]) == 3
    assert _follow(link(second.json(), "next"), token).status_code == 200


def test_page_condition_on_a_page_the_app_asks_for_by_itself(bluebutton, tokens):
    """A page is its startIndex, however the app came to it: `startIndex=4&count=2` is page 3."""
    _set_faults(bluebutton, server_error={"page": 3})
    token = tokens["access_token"]
    assert bluebutton.get(CLAIMS, token, startIndex=2, count=2).status_code == 200
    assert bluebutton.get(CLAIMS, token, startIndex=4, count=2).status_code == 500


def test_truncated_page(bluebutton, tokens):
    token = tokens["access_token"]
    _set_faults(bluebutton, truncate={"page": 2, "fraction": 0.5})
    first = bluebutton.get(CLAIMS, token, _count=3)
    cut = _follow(link(first.json(), "next"), token)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content) < len(first.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


@pytest.mark.parametrize("back_to, start_index", [("self", "3"), ("first", "0")])
def test_next_link_loops_back(bluebutton, tokens, back_to, start_index):
    """SY-5's input: page 2's `next` leads back to page 2 itself or to page 1, in Blue Button's link shape."""
    token = tokens["access_token"]
    _set_faults(bluebutton, loop_next={"page": 2, "back_to": back_to})
    first = bluebutton.get(CLAIMS, token, _count=3).json()
    second = _follow(link(first, "next"), token).json()
    looped = link(second, "next")
    assert _start_index(looped) == start_index
    assert looped.startswith(f"{bluebutton.root}/fhir/ExplanationOfBenefit?")
    assert parse_qs(urlsplit(looped).query)["_count"] == ["3"]
    again = _follow(looped, token).json()
    assert entry_ids(again) == entry_ids(second if back_to == "self" else first)


def test_duplicate_entries_across_pages(bluebutton, tokens):
    """SY-5's input: page 1's `next` starts one entry early, so page 2 repeats page 1's last claim; walking on
    still reaches every claim."""
    token = tokens["access_token"]
    _set_faults(bluebutton, duplicates={"page": 1, "entries": 1})
    pages = bluebutton.pages(CLAIMS, token, _count=3)
    assert _start_index(link(pages[0], "next")) == "2"
    assert entry_ids(pages[1])[0] == entry_ids(pages[0])[-1]
    walked = [claim for page in pages for claim in entry_ids(page)]
    assert len(walked) == len(claim_ids()) + 1 and set(walked) == claim_ids()


# ---- as a user runs it ----------------------------------------------------------------------------------


def test_serve_with_a_faults_file_faults_the_bluebutton_plan(tmp_path):
    """The report that was: `mockpayer serve --plan bluebutton --faults F` with a rate limit on every second
    request. The rate limit acts before the token check, as a load balancer's, so the second request is 429
    whatever it carries."""
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(json.dumps({"bluebutton": {"rate_limit": {"every": 2, "retry_after": 3}}}))
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--plan", "bluebutton",
                                "--faults", str(faults_file), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = _answer(f"http://127.0.0.1:{port}/v2/fhir/ExplanationOfBenefit")
        second = requests.get(f"http://127.0.0.1:{port}/v2/fhir/ExplanationOfBenefit", timeout=TIMEOUT)
        assert first.status_code == 401
        assert_detail(second, 429, "Request was throttled. Expected available in 3 seconds.")
        report = requests.get(f"http://127.0.0.1:{port}/_admin/faults", timeout=TIMEOUT).json()["bluebutton"]
        assert report["hits"] == {"rate_limit": 1} and report["requests"]["api"] == 2
    finally:
        process.terminate()
        process.communicate(timeout=10)
