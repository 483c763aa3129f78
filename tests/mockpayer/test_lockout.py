"""RFC 6749 §10.10: 'The authorization server MUST prevent attackers from guessing access tokens, authorization
codes, refresh tokens, resource owner passwords, and client credentials.' Members' passwords and one-time codes
and clients' secrets are locked after the plan's `lockout.after` consecutive failures for `lockout.minutes`."""

import json
import threading

import pytest
import requests

from mockpayer.app import create_app
from mockpayer.auth.lockout import MEMBER, Lockouts, Subject
from mockpayer.clock import Clock
from mockpayer.plans import LockoutSettings, PlanError, load_plan, load_plans
from mirror.http.wsgi_server import start_in_thread
from tests.mockpayer.driver import DEMO_CONFIDENTIAL, DEMO_PUBLIC, PayerDriver, assert_oauth_error, s256

WINDOW = 15 * 60  # the default lockout.minutes, in seconds


class SignIn:
    """One member's browser on the sign-in pages of one authorization request."""

    def __init__(self, payer, **params):
        self.session = requests.Session()
        self.page = self.session.get(payer.authorize_url(**params))
        self.csrf = self.page.text.split('name="csrf_token" value="')[1].split('"')[0]

    def post(self, **fields) -> requests.Response:
        return self.session.post(self.page.url, data={"csrf_token": self.csrf, **fields}, allow_redirects=False)

    def login(self, username="member1", password="pass-member1") -> requests.Response:
        return self.post(step="login", username=username, password=password)

    def mfa(self, code) -> requests.Response:
        return self.post(step="mfa", code=code)


def _alert(response: requests.Response) -> str:
    return response.text.split('role="alert">')[1].split("<")[0]


def _assert_locked(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert "locked for 15 more minutes" in _alert(response)
    assert 0 < int(response.headers["Retry-After"]) <= WINDOW


def test_guessed_passwords_lock_the_sign_in_even_for_the_right_password_rfc6749_10_10(payer):
    sign_in = SignIn(payer)
    statuses = [sign_in.login(password=f"guess-{n}").status_code for n in range(10)]
    assert statuses == [401] * 9 + [429]
    _assert_locked(sign_in.login())
    payer.clock.advance(WINDOW - 60)
    assert sign_in.login().status_code == 429
    payer.clock.advance(61)
    assert "code" in payer.sign_in(payer.authorize_url())


def test_a_locked_member_is_told_so_in_plain_words_on_the_login_page(payer):
    sign_in = SignIn(payer)
    for n in range(10):
        sign_in.login(password=f"guess-{n}")
    response = sign_in.login()
    assert _alert(response).startswith("Too many failed attempts to sign in.")
    assert 'name="password"' in response.text and "Traceback" not in response.text


def test_unknown_usernames_lock_exactly_like_members_so_a_lock_tells_no_membership(payer):
    """Known and unknown usernames answer the same statuses and words, failure after failure."""
    answers = {}
    for username in ("member1", "nobody-here"):
        sign_in = SignIn(payer)
        answers[username] = [(r.status_code, _alert(r)) for r in
                             (sign_in.login(username, f"guess-{n}") for n in range(11))]
    assert answers["member1"] == answers["nobody-here"]
    assert answers["member1"][0] == (401, "Wrong username or password.")
    assert answers["member1"][-1][0] == 429


def test_guessed_one_time_codes_lock_the_sign_in_rfc6749_10_10(payer):
    sign_in = SignIn(payer)
    assert 'name="code"' in sign_in.login("member2", "pass-member2").text
    statuses = [sign_in.mfa(f"{n:06d}").status_code for n in range(10)]
    assert statuses == [401] * 9 + [429]
    _assert_locked(sign_in.mfa("246810"))
    _assert_locked(sign_in.login("member2", "pass-member2"))


def test_the_right_password_buys_no_fresh_guesses_at_the_code(payer):
    """The password and the code count against one counter; only a finished sign-in resets it."""
    sign_in = SignIn(payer)
    sign_in.login("member2", "pass-member2")
    assert [sign_in.mfa(f"{n:06d}").status_code for n in range(9)] == [401] * 9
    assert sign_in.login("member2", "pass-member2").status_code == 200
    _assert_locked(sign_in.mfa("000000"))


def test_a_finished_sign_in_resets_the_count(payer):
    for _ in range(2):
        sign_in = SignIn(payer)
        assert [sign_in.login(password=f"guess-{n}").status_code for n in range(9)] == [401] * 9
        assert "code" in payer.sign_in(payer.authorize_url())


def test_failures_are_per_member(payer):
    sign_in = SignIn(payer)
    for n in range(10):
        sign_in.login(password=f"guess-{n}")
    assert "code" in payer.sign_in(payer.authorize_url(), "member3", "pass-member3")


def _wrong_secret(payer, path="/oauth2/token") -> requests.Response:
    data = {"grant_type": "authorization_code", "code": "x"} if path.endswith("token") else {"token": "x"}
    return requests.post(payer.url + path, data=data, auth=(DEMO_CONFIDENTIAL[0], "wrong"), timeout=10)


@pytest.mark.parametrize("path", ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"])
def test_guessed_client_secrets_lock_the_client_with_429_rfc6749_10_10(payer, path):
    assert [_wrong_secret(payer, path).status_code for _ in range(10)] == [401] * 10
    code = payer.code()
    locked = payer.exchange(code)
    assert_oauth_error(locked, 429, "invalid_client")
    assert 0 < int(locked.headers["Retry-After"]) <= WINDOW
    assert_oauth_error(requests.post(payer.url + "/oauth2/introspect", data={"token": "x"}, auth=DEMO_CONFIDENTIAL,
                                     timeout=10), 429, "invalid_client")
    payer.clock.advance(WINDOW)
    assert payer.exchange(payer.code()).status_code == 200


def test_a_locked_client_is_told_how_long_in_the_words_a_member_reads(payer):
    """One wording of a lock's length, for the member's page and a client's `error_description`."""
    for _ in range(10):
        _wrong_secret(payer)
    locked = payer.exchange(payer.code())
    assert_oauth_error(locked, 429, "invalid_client")
    assert "locked for 15 more minutes" in locked.json()["error_description"]


def test_a_public_client_sending_a_secret_is_never_locked_rfc6749_10_10(payer):
    """A public client has no secret to guess: one sent anyway is refused (401) but counts toward no lock, so
    nobody can lock a public app out by posting secrets in its name."""
    data = {"grant_type": "authorization_code", "code": "x", "client_id": DEMO_PUBLIC, "client_secret": "guess"}
    statuses = {requests.post(payer.url + "/oauth2/token", data=data, timeout=10).status_code for _ in range(12)}
    assert statuses == {401}
    verifier = "v" * 43
    code = payer.code(client_id=DEMO_PUBLIC, code_challenge=s256(verifier), code_challenge_method="S256")
    assert payer.exchange(code, client=DEMO_PUBLIC, code_verifier=verifier).status_code == 200


def test_a_successful_client_authentication_resets_the_count(payer):
    for _ in range(2):
        assert [_wrong_secret(payer).status_code for _ in range(9)] == [401] * 9
        assert payer.exchange(payer.code()).status_code == 200


def test_admin_reset_lifts_lockouts_of_the_plan_named_or_of_every_plan(payer):
    """`POST /_admin/reset` lets QA test a lockout again at once."""
    code = payer.code()
    for _ in range(10):
        _wrong_secret(payer)
    sign_in = SignIn(payer)
    for n in range(10):
        sign_in.login(password=f"guess-{n}")
    assert requests.post(f"{payer.url}/_admin/reset", json={"system_id": "smartplan"}, timeout=10).ok
    assert sign_in.login().status_code == 429 and payer.exchange(code).status_code == 429
    assert requests.post(f"{payer.url}/_admin/reset", json={"system_id": "demoplan"}, timeout=10).ok
    assert sign_in.login().status_code == 200 and payer.exchange(code).status_code == 200
    for n in range(10):
        sign_in.login(password=f"guess-{n}")
    assert requests.post(f"{payer.url}/_admin/reset", timeout=10).ok
    assert sign_in.login().status_code == 200


@pytest.fixture
def strict_payer():
    """demoplan with `"lockout": {"after": 3, "minutes": 1}`."""
    plans = load_plans()
    plans["demoplan"].lockout = LockoutSettings(after=3, minutes=1)
    clock = Clock()
    app = create_app(plans=plans, clock=clock)
    server = start_in_thread(app)
    yield PayerDriver(server.url, app, clock)
    server.stop()


def test_the_plan_sets_how_many_failures_and_how_long(strict_payer):
    sign_in = SignIn(strict_payer)
    assert [sign_in.login(password=f"guess-{n}").status_code for n in range(3)] == [401, 401, 429]
    assert "locked for 1 more minute;" in _alert(sign_in.login())
    strict_payer.clock.advance(60)
    assert sign_in.login().status_code == 200


def _plan_folder(tmp_path, lockout):
    folder = tmp_path / "p"
    folder.mkdir()
    plan = {"system_id": "p", "name": "P", "base_url": "p.example", "lockout": lockout,
            "clients": [{"client_id": "c", "client_secret": None, "redirect_uris": ["http://127.0.0.1/cb"]}]}
    (folder / "plan.json").write_text(json.dumps(plan))
    return folder


def test_lockout_settings_default_and_read_from_plan_json(tmp_path):
    assert load_plans()["demoplan"].lockout == LockoutSettings(after=10, minutes=15)
    assert load_plan(_plan_folder(tmp_path, {"minutes": 5})).lockout == LockoutSettings(after=10, minutes=5)


@pytest.mark.parametrize("lockout, message", [
    ({"after": 0}, "lockout.after must be a positive int"),
    ({"minutes": "15"}, "lockout.minutes must be a positive int"),
    ({"after": True}, "lockout.after must be a positive int"),
    ({"forever": 1}, "lockout.forever is not a known setting"),
    ([10, 15], "lockout must be an object"),
])
def test_broken_lockout_settings_are_one_clear_line(tmp_path, lockout, message):
    with pytest.raises(PlanError, match=message):
        load_plan(_plan_folder(tmp_path, lockout))


def test_concurrent_failures_are_all_counted():
    """waitress serves from several threads: every failure counts, and the lock falls at exactly `after`."""
    lockouts, policy = Lockouts(Clock()), LockoutSettings(after=400, minutes=1)
    subject = Subject("demoplan", MEMBER, "member1")
    results = []

    def fail_many():
        results.extend(lockouts.record(subject, succeeded=False, policy=policy) for _ in range(100))

    threads = [threading.Thread(target=fail_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for seconds in results if seconds) == 1 and lockouts.get(subject) > 0
