"""QA fault injection (API-5): each fault seen happening over real HTTP against a real server, set live through
`/_admin/faults`, from plan.json or from `mockpayer serve --faults FILE`."""

import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime

import orjson
import pytest
import requests

from mockpayer.app import create_app
from mockpayer.clock import Clock
from mockpayer.plans import BUNDLED_PLANS_DIR
from mirror.http.wsgi_server import start_in_thread
from tests.mockpayer.driver import PayerDriver, assert_oauth_error
from tests.mockpayer.test_cli import _free_port

PATIENT = "Patient/demoplan-m1"


def _set_faults(payer, system_id="demoplan", **spec) -> dict:
    response = requests.post(f"{payer.url}/_admin/faults", json={"system_id": system_id, **spec}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _get(payer, path_or_url, token, **params) -> requests.Response:
    url = path_or_url if path_or_url.startswith("http") else f"{payer.url}/demoplan/r4/{path_or_url}"
    return requests.get(url, params=params or None, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _statuses(payer, token, requests_made: int) -> list[int]:
    return [_get(payer, PATIENT, token).status_code for _ in range(requests_made)]


def _walk(payer, token, url=None, max_pages=20) -> list[dict]:
    """Every page of member1's EOBs, five to a page (about four pages), following `next` as given."""
    url = url or f"{payer.url}/demoplan/r4/ExplanationOfBenefit?_count=5"
    pages = []
    while url and len(pages) < max_pages:
        response = _get(payer, url, token)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = _link(pages[-1], "next")
    return pages


def _link(bundle: dict, relation: str) -> str | None:
    return next((link["url"] for link in bundle["link"] if link["relation"] == relation), None)


def _ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def _assert_outcome(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.json()["resourceType"] == "OperationOutcome"


# ---- 429 -----------------------------------------------------------------------------------------------


def test_rate_limit_every_nth_request_with_retry_after_seconds(payer):
    """SY-1's input: 429 with delta-seconds."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, rate_limit={"every": 3, "retry_after": 7})
    responses = [_get(payer, PATIENT, token) for _ in range(7)]
    assert [r.status_code for r in responses] == [200, 200, 429, 200, 200, 429, 200]
    _assert_outcome(responses[2], 429)
    assert responses[2].headers["Retry-After"] == "7"
    assert "injected fault rate_limit, request 3" in responses[2].text


def test_rate_limit_with_an_http_date_from_the_mock_clock(payer):
    """SY-1's input: 429 with an HTTP-date, computed from the mock's clock (moved a day ahead here)."""
    token = payer.tokens()["access_token"]
    payer.clock.advance(24 * 3600)
    _set_faults(payer, rate_limit={"every": 1, "retry_after": 30, "retry_after_format": "http-date"})
    response = _get(payer, PATIENT, token)
    assert response.status_code == 429
    retry_at = parsedate_to_datetime(response.headers["Retry-After"]).timestamp()
    assert abs(retry_at - (payer.clock.now() + 30)) < 3


def test_rate_limit_burst(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, rate_limit={"from": 3, "to": 5})
    assert _statuses(payer, token, 7) == [200, 200, 429, 429, 429, 200, 200]


def test_rate_limit_at_the_token_endpoint_is_rfc6749_json(payer):
    tokens = payer.tokens()
    _set_faults(payer, rate_limit={"at": "token", "every": 1, "retry_after": 2})
    response = payer.refresh(tokens["refresh_token"])
    assert_oauth_error(response, 429, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "2"
    assert _get(payer, PATIENT, tokens["access_token"]).status_code == 200  # the API is not affected


def test_counters_are_thread_safe(payer):
    """40 requests from 8 threads against waitress's 8: every 4th is refused, exactly 10 of them."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, rate_limit={"every": 4})
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _get(payer, PATIENT, token).status_code, range(40)))
    assert statuses.count(429) == 10 and statuses.count(200) == 30


# ---- 5xx -----------------------------------------------------------------------------------------------


def test_server_error_on_page_k_then_success_after_times(payer):
    """SY-2's input: page 2 fails twice with 503, then a retrying client gets it."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, server_error={"status": 503, "page": 2, "times": 2})
    first = _get(payer, "ExplanationOfBenefit", token, _count="5").json()
    second_url = _link(first, "next")
    for _ in range(2):
        _assert_outcome(_get(payer, second_url, token), 503)
    second = _get(payer, second_url, token)
    assert second.status_code == 200
    assert not set(_ids(first)) & set(_ids(second.json()))


def test_server_error_forever_on_one_page(payer):
    """SY-6's input: a page that never succeeds while the others do."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, server_error={"status": 502, "page": 3})
    page_one = _get(payer, "ExplanationOfBenefit", token, _count="5").json()
    page_three = _link(_get(payer, _link(page_one, "next"), token).json(), "next")
    assert {_get(payer, page_three, token).status_code for _ in range(5)} == {502}


def _rate_statuses(seed: int, requests_made=40) -> list[int]:
    clock = Clock()
    server = start_in_thread(create_app(clock=clock))
    try:
        payer = PayerDriver(server.url, None, clock)
        token = payer.tokens()["access_token"]
        _set_faults(payer, seed=seed, server_error={"rate": 0.3, "status": 500})
        return _statuses(payer, token, requests_made)
    finally:
        server.stop()


def test_rate_based_errors_replay_with_the_same_seed():
    first, again, other = _rate_statuses(11), _rate_statuses(11), _rate_statuses(12)
    assert first == again
    assert set(first) == {200, 500}
    assert other != first


# ---- latency -------------------------------------------------------------------------------------------


def test_latency_fixed_and_range(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, latency={"seconds": 0.3})
    started = time.monotonic()
    assert _get(payer, PATIENT, token).status_code == 200
    assert time.monotonic() - started >= 0.3
    _set_faults(payer, latency={"seconds": [0.2, 0.4]})
    started = time.monotonic()
    assert _get(payer, PATIENT, token).status_code == 200
    assert time.monotonic() - started >= 0.2


# ---- broken pages --------------------------------------------------------------------------------------


def test_truncated_body_on_page_k(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, truncate={"page": 2, "fraction": 0.5})
    first = _get(payer, "ExplanationOfBenefit", token, _count="5")
    whole = len(first.content)
    cut = _get(payer, _link(first.json(), "next"), token)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content) < whole
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(cut.content)


def test_next_link_loops_back_to_itself(payer):
    """SY-5's input: `next == self` on page 2."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, loop_next={"page": 2})
    pages = _walk(payer, token, max_pages=4)
    assert len(pages) == 4
    assert _link(pages[1], "next") == _link(pages[1], "self")
    assert _ids(pages[1]) == _ids(pages[2]) == _ids(pages[3])


def test_next_link_loops_back_to_page_one_on_everything(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, loop_next={"page": 2, "back_to": "first"})
    pages = _walk(payer, token, url=f"{payer.url}/demoplan/r4/{PATIENT}/$everything?_count=5", max_pages=3)
    assert _link(pages[1], "next") == _link(pages[0], "self")
    assert _ids(pages[2]) == _ids(pages[0])


def test_duplicate_entries_across_pages(payer):
    """SY-5's input: page 2 repeats the last two entries of page 1; every EOB still comes once at least."""
    token = payer.tokens()["access_token"]
    clean = [resource_id for page in _walk(payer, token) for resource_id in _ids(page)]
    _set_faults(payer, duplicates={"page": 1, "entries": 2})
    pages = _walk(payer, token)
    walked = [resource_id for page in pages for resource_id in _ids(page)]
    assert _ids(pages[1])[:2] == _ids(pages[0])[-2:]
    assert len(walked) == len(clean) + 2 and set(walked) == set(clean)


# ---- tokens --------------------------------------------------------------------------------------------


def test_access_token_expires_after_n_requests_and_refresh_works(payer):
    """SY-4's input: a 401 mid-sync; the token is revoked in the ledger, a refresh gets a working one."""
    tokens = payer.tokens()
    _set_faults(payer, expire_token={"from": 4, "times": 1})
    assert _statuses(payer, tokens["access_token"], 3) == [200, 200, 200]
    for _ in range(2):  # the injected 401, then the API's own: the token is dead
        expired = _get(payer, PATIENT, tokens["access_token"])
        _assert_outcome(expired, 401)
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    fresh = payer.refresh(tokens["refresh_token"])
    assert fresh.status_code == 200, fresh.text
    assert _get(payer, PATIENT, fresh.json()["access_token"]).status_code == 200


def test_access_token_expires_at_page_k(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, expire_token={"page": 2})
    first = _get(payer, "ExplanationOfBenefit", token, _count="5").json()
    response = _get(payer, _link(first, "next"), token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_refresh_tokens_revoked_when_the_fault_is_set(payer):
    """SY-4's input: the refresh gives invalid_grant."""
    tokens = payer.tokens()
    _set_faults(payer, revoke_refresh={})
    assert_oauth_error(payer.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_refresh_tokens_revoked_after_n_requests(payer):
    tokens = payer.tokens()
    _set_faults(payer, revoke_refresh={"from": 3})
    assert _statuses(payer, tokens["access_token"], 2) == [200, 200]
    rotated = payer.refresh(tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert _get(payer, PATIENT, rotated.json()["access_token"]).status_code == 200  # request 3
    assert_oauth_error(payer.refresh(rotated.json()["refresh_token"]), 400, "invalid_grant")


# ---- /_admin -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("get", "/_admin/faults"), ("post", "/_admin/faults"),
                                          ("post", "/_admin/reset")])
def test_admin_answers_loopback_only(method, path):
    app = create_app()
    elsewhere = app.test_client()
    response = getattr(elsewhere, method)(path, json={"system_id": "demoplan", "server_error": {}},
                                          environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert response.status_code == 403 and "loopback" in response.get_json()["error"]
    assert not app.extensions["mockpayer"].faults  # nothing was set
    here = getattr(app.test_client(), method)(path, json={"system_id": "demoplan", "server_error": {}},
                                              environ_base={"REMOTE_ADDR": "::1"})
    assert here.status_code == 200


def test_admin_shows_config_and_counters_and_reset_rewinds_them(payer):
    token = payer.tokens()["access_token"]
    answer = _set_faults(payer, seed=5, server_error={"rate": 0.5})
    assert answer["demoplan"]["faults"] == {"seed": 5, "server_error": {"rate": 0.5}}
    before_reset = _statuses(payer, token, 12)
    shown = requests.get(f"{payer.url}/_admin/faults", timeout=10).json()
    assert shown["demoplan"]["requests"] == {"api": 12, "token": 0, "authorize": 0}
    assert shown["demoplan"]["hits"] == {"server_error": before_reset.count(500)}
    assert shown["smartplan"]["faults"] == {}
    assert requests.post(f"{payer.url}/_admin/reset", json={"system_id": "demoplan"}, timeout=10).status_code == 200
    assert _statuses(payer, token, 12) == before_reset  # counters and seed back to the start
    assert requests.post(f"{payer.url}/_admin/reset", timeout=10).json() == {"reset": ["bluebutton", "demoplan", "smartplan"]}


def test_an_empty_spec_clears_the_plan(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, server_error={})
    assert _get(payer, PATIENT, token).status_code == 500
    _set_faults(payer)
    assert _get(payer, PATIENT, token).status_code == 200
    assert requests.get(f"{payer.url}/_admin/faults", timeout=10).json()["demoplan"]["faults"] == {}


@pytest.mark.parametrize("body, status, message", [
    ({"system_id": "demoplan", "rate_limit": {"every": 0}}, 400, "rate_limit.every must be a positive integer"),
    ({"system_id": "demoplan", "slowness": {}}, 400, "unknown fault 'slowness'"),
    ({"system_id": "demoplan", "server_error": {"status": 404}}, 400, "server_error.status must be one of 500, 502"),
    ({"system_id": "demoplan", "server_error": {"rate": 1.5}}, 400, "server_error.rate must be a number in (0, 1]"),
    ({"system_id": "demoplan", "truncate": {"at": "token"}}, 400, "can be aimed at the token endpoint"),
    ({"system_id": "demoplan", "latency": {}}, 400, "latency.seconds is needed"),
    ({"system_id": "demoplan", "rate_limit": {"from": 5, "to": 2}}, 400, "from (5) is after to (2)"),
    ({"system_id": "nowhere", "latency": {"seconds": 1}}, 404, "No plan 'nowhere'"),
])
def test_bad_specs_are_refused_with_a_clear_message(payer, body, status, message):
    response = requests.post(f"{payer.url}/_admin/faults", json=body, timeout=10)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_admin_body_must_be_json(payer):
    response = requests.post(f"{payer.url}/_admin/faults", data="server_error=1", timeout=10)
    assert response.status_code == 400 and "application/json" in response.json()["error"]


def test_a_clean_plan_has_no_fault_state(payer):
    assert not payer.app.extensions["mockpayer"].faults
    shown = requests.get(f"{payer.url}/_admin/faults", timeout=10).json()
    assert all(plan["faults"] == {} for plan in shown.values())


# ---- configuration from files --------------------------------------------------------------------------


def test_faults_from_plan_json_and_create_app_override(tmp_path):
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", tmp_path / "demoplan")
    plan_file = tmp_path / "demoplan" / "plan.json"
    plan_file.write_text(json.dumps({**json.loads(plan_file.read_text()), "faults": {"rate_limit": {"every": 2}}}))
    every_third = {"*": {"rate_limit": {"every": 3}}}
    for overrides, expected in ((None, [200, 429, 200, 429]), (every_third, [200, 200, 429, 200])):
        clock = Clock()
        server = start_in_thread(create_app(tmp_path, clock=clock, faults=overrides))
        try:
            payer = PayerDriver(server.url, None, clock)
            token = payer.tokens()["access_token"]
            assert _statuses(payer, token, 4) == expected
        finally:
            server.stop()


def test_bad_faults_in_plan_json_name_the_file(tmp_path):
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", tmp_path / "demoplan")
    plan_file = tmp_path / "demoplan" / "plan.json"
    plan_file.write_text(json.dumps({**json.loads(plan_file.read_text()), "faults": {"latency": {"seconds": -1}}}))
    result = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--fixtures", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("mockpayer: ") and "plan.json: faults: latency.seconds" in result.stderr


def test_serve_with_a_faults_file(tmp_path):
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(json.dumps({"*": {"server_error": {"status": 503}}, "smartplan": {}}))
    port = _free_port()
    command = [sys.executable, "-m", "mockpayer.cli", "serve", "--port", str(port), "--faults", str(faults_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        shown = None
        for _ in range(100):
            try:
                shown = requests.get(f"http://127.0.0.1:{port}/_admin/faults", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert shown["demoplan"]["faults"] == {"seed": 0, "server_error": {"status": 503}}
        assert shown["smartplan"]["faults"] == {}
        # Faults act before the token check, as a load balancer's would: no sign-in needed to see one.
        assert requests.get(f"http://127.0.0.1:{port}/demoplan/r4/{PATIENT}", timeout=5).status_code == 503
        assert requests.get(f"http://127.0.0.1:{port}/smartplan/r4/Patient/x", timeout=5).status_code == 401
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_faults_file_naming_an_unknown_plan_is_one_line(tmp_path):
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(json.dumps({"nosuchplan": {"latency": {"seconds": 1}}}))
    result = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--faults", str(faults_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "mockpayer: faults for 'nosuchplan': no such plan (plans: bluebutton, demoplan, smartplan)"


def test_admin_refuses_a_cross_site_web_page(payer):
    """A page on another site can POST a plain form to loopback without a preflight; its Origin gives it away."""
    response = requests.post(f"{payer.url}/_admin/advance", data="x", timeout=10,
                             headers={"Origin": "https://evil.example", "Content-Type": "text/plain"})
    assert response.status_code == 403
    assert requests.post(f"{payer.url}/_admin/reset", timeout=10, headers={"Origin": payer.url}).status_code == 200
