"""Two `mockpayer serve --state redis://...` processes on one real redis-server act as one mock.

Each test starts two mock processes on their own ports, as a load balancer would see them, and sends each step of a
flow to one or the other: what one issued, counted, moved or registered, the other honours.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from mirror.http.mock_login import MockLoginError, complete_mock_login
from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.plans import BUNDLED_PLANS_DIR
from mockpayer.pytest_plugin import MockPayer
from tests.redis_server import running_redis
from tests.mockpayer.driver import CALLBACK, DEMO_PUBLIC, PayerDriver, assert_oauth_error, s256

PATIENT = "demoplan/r4/Patient/demoplan-m1"
OPENID = "openid fhirUser patient/*.read offline_access"


def _serve(redis_url: str, *extra: str) -> tuple[subprocess.Popen, str]:
    """A `mockpayer serve` process on a free port, and its root URL once it listens."""
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--plan", "demoplan", "--port", "0",
                                "--state", redis_url, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    for line in process.stdout:
        if line.startswith("mock payer serving at "):
            assert process.stdout.readline() == f"state shared in Redis at {redis_url}\n"
            return process, line.split()[4]
    process.kill()
    raise AssertionError(f"the mock did not start: {process.communicate(timeout=10)[1]}")


@pytest.fixture
def mocks(redis_url) -> Iterator[tuple[PayerDriver, PayerDriver]]:
    """Two mock processes sharing the test's Redis: a driver for each."""
    started = []
    try:
        for _ in range(2):
            started.append(_serve(redis_url))
        yield tuple(PayerDriver(url, None, None) for _, url in started)
    finally:
        for process, _ in started:
            process.terminate()
            process.communicate(timeout=10)


class Alternating(requests.adapters.HTTPAdapter):
    """Sends each request to the next mock in turn, as a load balancer without sticky sessions would."""

    def __init__(self, *urls: str):
        super().__init__()
        self.hosts = itertools.cycle(urlsplit(url).netloc for url in urls)
        self.served: list[str] = []

    def send(self, request, **kwargs):
        host = next(self.hosts)
        request.url = urlsplit(request.url)._replace(netloc=host).geturl()
        self.served.append(host)
        return super().send(request, **kwargs)


def _sign_in_across(a: PayerDriver, b: PayerDriver, **params) -> str:
    """A code from the sign-in pages, each page served by the other mock than the one before."""
    browser = requests.Session()
    alternating = Alternating(a.url, b.url)
    browser.mount("http://", alternating)
    location = complete_mock_login(browser, a.authorize_url(**params), "member1", "pass-member1")
    assert len(set(alternating.served)) == 2
    return parse_qs(urlsplit(location).query)["code"][0]


def _read(mock: PayerDriver, access_token: str) -> int:
    return requests.get(f"{mock.url}/{PATIENT}", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10).status_code


def _admin(mock: PayerDriver, method: str, path: str, body: dict | None = None) -> dict:
    response = requests.request(method, f"{mock.url}/_admin/{path}", json=body, timeout=10)
    assert response.ok, response.text
    return response.json() if response.content else {}


def test_a_sign_in_spread_over_both_mocks_gives_a_code_the_other_redeems(mocks):
    a, b = mocks
    code = _sign_in_across(a, b)
    response = b.exchange(code)
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    assert _read(a, access_token) == _read(b, access_token) == 200


def test_a_code_redeems_once_across_both_and_its_replay_revokes_on_both(mocks):
    """TK-1 across processes: the second exchange, on the other mock, fails and revokes what the first got."""
    a, b = mocks
    code = a.code()
    first = a.exchange(code)
    assert first.status_code == 200, first.text
    assert_oauth_error(b.exchange(code), 400, "invalid_grant")
    assert _read(a, first.json()["access_token"]) == _read(b, first.json()["access_token"]) == 401


def test_a_refresh_token_replayed_on_one_mock_revokes_the_family_on_both(mocks):
    """RT-3 across processes: rotation on one mock, the old token replayed on the other, the whole family dead."""
    a, b = mocks
    tokens = a.tokens()
    rotated = b.refresh(tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert _read(a, rotated.json()["access_token"]) == 200
    assert_oauth_error(a.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert _read(a, rotated.json()["access_token"]) == _read(b, rotated.json()["access_token"]) == 401
    assert_oauth_error(b.refresh(rotated.json()["refresh_token"]), 400, "invalid_grant")


def test_a_fault_set_on_one_mock_fires_on_both_with_one_count(mocks):
    """Every second API request fails: alternating A, B, A, B, the failures are B's two, so the count is shared."""
    a, b = mocks
    access_token = a.tokens()["access_token"]
    _admin(a, "post", "faults", {"system_id": "demoplan", "seed": 3, "server_error": {"every": 2, "status": 503}})
    statuses = [_read(mock, access_token) for mock in (a, b, a, b)]
    assert statuses == [200, 503, 200, 503]
    report = _admin(b, "get", "faults")["demoplan"]
    assert report["requests"]["api"] == 4 and report["hits"] == {"server_error": 2}
    _admin(b, "post", "reset", {"system_id": "demoplan"})
    assert _admin(a, "get", "faults")["demoplan"]["requests"]["api"] == 0


def test_the_clock_moved_once_expires_tokens_on_both(mocks):
    a, b = mocks
    access_token = b.tokens()["access_token"]
    assert _read(a, access_token) == _read(b, access_token) == 200
    _admin(a, "post", "clock", {"advance": 3601})
    assert _admin(b, "get", "clock")["offset_seconds"] == 3601
    assert _read(a, access_token) == _read(b, access_token) == 401
    assert requests.post(f"{b.url}/_admin/clock", json={"set": "2001-01-01T00:00:00Z"}, timeout=10).status_code == 409


def test_a_day_advanced_on_one_mock_is_served_by_both(mocks):
    """The next day's records, stamped with the one moment it was reached, read the same from either mock."""
    a, b = mocks
    headers = {"Authorization": f"Bearer {a.tokens()['access_token']}"}

    def read(mock, reference):
        return requests.get(f"{mock.url}/demoplan/r4/{reference}", headers=headers, timeout=10)

    assert read(b, "ExplanationOfBenefit/demoplan-m1-eob6").status_code == 200
    changes = _admin(a, "post", "advance", {"system_id": "demoplan"})["demoplan"]
    assert changes["day"] == 2 and "ExplanationOfBenefit/demoplan-m1-eob6" in changes["removed"]
    assert _admin(b, "get", "days")["demoplan"]["day"] == 2
    assert read(b, "ExplanationOfBenefit/demoplan-m1-eob6").status_code in (404, 410)
    stamped = [reference for reference in changes["new"] + changes["changed"] if "-m1-" in reference]
    assert stamped
    for reference in stamped:
        on_a, on_b = read(a, reference), read(b, reference)
        assert on_a.status_code == 200 and on_a.content == on_b.content
    _admin(b, "post", "advance", {"system_id": "demoplan"})
    assert _admin(a, "get", "days")["demoplan"]["day"] == 3


def test_a_client_registered_on_one_mock_signs_in_on_the_other(mocks):
    a, b = mocks
    client = {"system_id": "demoplan", "client_id": "load-test-app", "redirect_uris": [CALLBACK]}
    assert requests.post(f"{a.url}/_admin/clients", json=client, timeout=10).status_code == 201
    assert requests.post(f"{b.url}/_admin/clients", json=client, timeout=10).status_code == 409
    assert "load-test-app" in {shown["client_id"] for shown in _admin(b, "get", "clients")["demoplan"]}
    verifier = "v" * 50
    code = b.code(client_id="load-test-app", code_challenge=s256(verifier), code_challenge_method="S256")
    response = a.exchange(code, client="load-test-app", code_verifier=verifier)
    assert response.status_code == 200, response.text
    assert requests.delete(f"{b.url}/_admin/clients/demoplan/load-test-app", timeout=10).status_code == 204
    assert _read(a, response.json()["access_token"]) == 401
    assert DEMO_PUBLIC in {shown["client_id"] for shown in _admin(a, "get", "clients")["demoplan"]}


def test_id_tokens_from_either_mock_verify_against_either_key_set(mocks):
    """The plan gives no signing key: the first mock to need one makes it, and both sign and publish that one."""
    a, b = mocks
    id_tokens = [mock.tokens(scope=OPENID)["id_token"] for mock in (a, b)]
    key_sets = [requests.get(f"{mock.url}/demoplan/r4/.well-known/jwks.json", timeout=10).json() for mock in (a, b)]
    assert key_sets[0] == key_sets[1] and len(key_sets[0]["keys"]) == 1
    for id_token, key_set in itertools.product(id_tokens, key_sets):
        assert jwt.decode(id_token, KeySet.import_key_set(key_set), algorithms=["RS256"]).claims["sub"]


def test_failed_sign_ins_on_both_mocks_count_against_one_lock(mocks, redis_url):
    """Failed sign-ins count on the member's one counter whichever mock saw them; `/_admin/reset` on one lifts it."""
    a, b = mocks
    statuses = []
    for attempt in range(10):
        with pytest.raises(MockLoginError) as refused:
            complete_mock_login(requests.Session(), (a, b)[attempt % 2].authorize_url(), "member1", f"guess-{attempt}")
        statuses.append(refused.value.status)
    assert statuses == [401] * 9 + [429]
    with pytest.raises(MockLoginError, match="locked"):
        complete_mock_login(requests.Session(), a.authorize_url(), "member1", "pass-member1")
    _admin(b, "post", "reset", {"system_id": "demoplan"})
    assert a.code()
    keys = redis.Redis.from_url(redis_url).keys("*")
    assert keys and all(key.startswith(b"mockpayer:") for key in keys)


def test_a_bad_state_url_is_one_line_and_status_2():
    for url, expected in (("http://127.0.0.1:6379/0", "not a Redis URL"),
                          ("redis://:hunter2@127.0.0.1:1/0", "cannot use Redis there")):
        result = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--plan", "demoplan", "--port", "0",
                                 "--state", url], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("mockpayer: --state ")
        assert expected in result.stderr and "hunter2" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_two_pytest_plugin_mocks_on_one_redis_share_sign_ins_and_days(redis_url):
    """`MockPayer(fixtures, state=URL)`, as the `mock_payer_state` ini option gives the fixtures."""
    first, second = MockPayer(BUNDLED_PLANS_DIR, redis_url), MockPayer(BUNDLED_PLANS_DIR, redis_url)
    try:
        tokens = first.login("member1")
        assert second.refresh(tokens).access_token != tokens.access_token
        assert first.advance_day("demoplan")["demoplan"]["day"] == 2
        assert second.day("demoplan") == 2
        second.reset()
        assert first.day("demoplan") == 1
    finally:
        first.stop()
        second.stop()


def test_a_shared_state_that_stops_answering_is_a_503_not_a_traceback(redis_server, tmp_path):
    with running_redis(tmp_path) as url:
        server = start_in_thread(create_app(state=url))
    try:
        response = requests.get(f"{server.url}/demoplan/r4/Patient/demoplan-m1",
                                headers={"Authorization": "Bearer x"}, timeout=30)
        assert response.status_code == 503 and "shared state" in response.text
        assert response.json()["resourceType"] == "OperationOutcome"
        token = requests.post(f"{server.url}/demoplan/oauth2/token", data={"grant_type": "refresh_token"}, timeout=30)
        assert token.status_code == 503 and token.json()["error"] == "invalid_request"
    finally:
        server.stop()


def test_a_shared_state_that_refuses_writes_is_a_503_not_a_traceback(redis_url):
    """A Redis that answers but refuses to write (here: no replica to confirm it; likewise a read-only replica or one
    out of memory) raises the client's ResponseError, which is answered like an outage."""
    server = start_in_thread(create_app(state=redis_url))
    admin = redis.Redis.from_url(redis_url)
    admin.config_set("min-replicas-to-write", 1)
    try:
        moved = requests.post(f"{server.url}/_admin/clock", json={"advance": 60}, timeout=30)
        assert moved.status_code == 503 and "shared state" in moved.text and "Traceback" not in moved.text
    finally:
        admin.config_set("min-replicas-to-write", 0)
        server.stop()
