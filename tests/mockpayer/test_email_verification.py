"""Members who verify by email (plan.json `"verification": "email"`): after the password the mock "sends" a
six-digit code, valid for ten minutes of its clock and for this sign-in only, once, and the page asks for it.
The messages are listed at `GET /_admin/outbox`. Wrong codes count toward the lock (RFC 6749 §10.10)."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from mockpayer.plans import PlanError, load_plan
from tests.mockpayer.driver import DEMO_CONFIDENTIAL, PayerDriver

TEN_MINUTES = 10 * 60
LOCK_WINDOW = 15 * 60


class SignIn:
    """One member's browser on the sign-in pages of one authorization request."""

    def __init__(self, payer: PayerDriver, **params):
        self.session = requests.Session()
        self.page = self.session.get(payer.authorize_url(**params), timeout=10)
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.page.text)[1]

    def post(self, **fields) -> requests.Response:
        return self.session.post(self.page.url, data={"csrf_token": self.csrf, **fields}, allow_redirects=False,
                                 timeout=10)

    def login(self, username="member3", password="pass-member3") -> requests.Response:
        return self.post(step="login", username=username, password=password)

    def code(self, code: str) -> requests.Response:
        return self.post(step="email", code=code)

    def resend(self) -> requests.Response:
        return self.post(step="email", resend="yes")

    def consent(self) -> requests.Response:
        return self.post(step="consent", share="patient/*.read", decision="allow")


def _outbox(payer: PayerDriver, **query) -> requests.Response:
    return requests.get(f"{payer.url}/_admin/outbox", params=query, timeout=10)


def _messages(payer: PayerDriver) -> list[dict]:
    response = _outbox(payer, system_id="demoplan")
    assert response.status_code == 200, response.text
    return response.json()["demoplan"]


def _alert(response: requests.Response) -> str:
    return re.search(r'role="alert">([^<]*)<', response.text)[1]


def test_the_password_sends_a_six_digit_code_to_the_members_address_and_the_page_asks_for_it(payer):
    sign_in = SignIn(payer)
    assert _messages(payer) == []
    page = sign_in.login()
    assert page.status_code == 200 and 'name="step" value="email"' in page.text and 'name="code"' in page.text
    assert "member3@example.org" in page.text and "expires in 10 minutes" in page.text
    [message] = _messages(payer)
    assert message["member"] == "member3" and message["to"] == "member3@example.org"
    assert re.fullmatch(r"\d{6}", message["code"]) and message["code"] in message["body"]
    assert message["subject"] == "Your Demo Health Plan sign-in code"
    sent_at = datetime.fromisoformat(message["sent_at"].replace("Z", "+00:00"))
    assert abs(sent_at.timestamp() - payer.clock.now()) < 5  # the mock's clock, not the wall's
    assert sign_in.consent().status_code == 400  # no consent before the code
    consent_page = sign_in.code(message["code"])
    assert consent_page.status_code == 200 and 'value="consent"' in consent_page.text
    redirect = sign_in.consent()
    assert redirect.status_code == 303 and "code=" in redirect.headers["Location"]


def test_the_emailed_code_follows_the_mocks_clock_and_expires_after_ten_minutes(payer):
    payer.clock.advance(7200)  # sent_at is the mock's time, two hours ahead of the wall
    sign_in = SignIn(payer)
    sign_in.login()
    [message] = _messages(payer)
    sent_at = datetime.fromisoformat(message["sent_at"].replace("Z", "+00:00"))
    assert sent_at > datetime.now(timezone.utc) + timedelta(hours=1)
    payer.clock.advance(TEN_MINUTES)
    expired = sign_in.code(message["code"])
    assert expired.status_code == 401
    assert _alert(expired) == "That code has expired. Send a new code and enter that one."
    assert 'name="resend"' in expired.text  # the way to a new one is on the page
    sign_in.resend()
    assert 'value="consent"' in sign_in.code(_messages(payer)[-1]["code"]).text


def test_a_code_is_good_until_its_tenth_minute(payer):
    sign_in = SignIn(payer)
    sign_in.login()
    payer.clock.advance(TEN_MINUTES - 5)
    assert 'value="consent"' in sign_in.code(_messages(payer)[-1]["code"]).text


def test_a_new_code_replaces_the_old_one(payer):
    sign_in = SignIn(payer)
    sign_in.login()
    page = sign_in.resend()
    assert page.status_code == 200 and "We emailed you a new code." in page.text
    old, new = _messages(payer)
    assert old["to"] == new["to"] and old["code"] != new["code"]  # equal one time in a million
    replaced = sign_in.code(old["code"])
    assert replaced.status_code == 401 and _alert(replaced) == "That code is not right. Try again."
    assert 'value="consent"' in sign_in.code(new["code"]).text


def test_a_code_finishes_only_the_sign_in_it_was_sent_for_once(payer):
    first = SignIn(payer)
    first.login()
    code = _messages(payer)[-1]["code"]
    assert 'value="consent"' in first.code(code).text
    assert first.consent().status_code == 303
    second = SignIn(payer, state="another")
    second.login()
    fresh = _messages(payer)[-1]["code"]
    assert fresh != code  # equal one time in a million
    refused = second.code(code)
    assert refused.status_code == 401 and _alert(refused) == "That code is not right. Try again."
    assert first.code(code).status_code == 400  # that sign-in is over
    assert 'value="consent"' in second.code(fresh).text


def test_wrong_codes_lock_the_sign_in_like_wrong_mfa_codes_rfc6749_10_10(payer):
    sign_in = SignIn(payer)
    sign_in.login()
    code = _messages(payer)[-1]["code"]
    wrong = [f"{(int(code) + n) % 10 ** 6:06d}" for n in range(1, 11)]
    answers = [sign_in.code(guess) for guess in wrong]
    assert [answer.status_code for answer in answers] == [401] * 9 + [429]
    assert _alert(answers[0]) == "That code is not right. Try again."
    locked = sign_in.code(code)
    assert locked.status_code == 429 and "locked for 15 more minutes" in _alert(locked)
    assert 0 < int(locked.headers["Retry-After"]) <= LOCK_WINDOW
    assert sign_in.resend().status_code == 429 and len(_messages(payer)) == 1  # no new code while locked
    assert SignIn(payer).login().status_code == 429  # the password too: one counter per member


def test_the_email_step_cannot_be_skipped_by_posting_another_step(payer):
    """The code is the only way past the email page: an MFA-shaped form or a consent is refused."""
    sign_in = SignIn(payer)
    sign_in.login()
    skipped = sign_in.post(step="mfa", code="000000")
    assert skipped.status_code == 400 and 'value="consent"' not in skipped.text
    assert sign_in.consent().status_code == 400


def test_the_outbox_is_per_plan_reset_empties_it_and_it_answers_loopback_only(payer):
    SignIn(payer).login()
    everything = _outbox(payer).json()
    assert set(everything) == {"bluebutton", "demoplan", "smartplan"} and len(everything["demoplan"]) == 1
    assert everything["smartplan"] == []
    assert _outbox(payer, system_id="nope").status_code == 404
    assert requests.get(f"{payer.url}/_admin/outbox", headers={"Origin": "https://evil.example"},
                        timeout=10).status_code == 403
    assert requests.get(f"{payer.url}/_admin/outbox", headers={"X-Forwarded-For": "192.0.2.7"},
                        timeout=10).status_code == 403
    assert requests.post(f"{payer.url}/_admin/reset", json={"system_id": "demoplan"}, timeout=10).status_code == 200
    assert _messages(payer) == []


def test_the_emailed_code_signs_in_through_the_mock_login_and_the_token_names_the_member(payer):
    answer = payer.sign_in(payer.authorize_url(), "member3", "pass-member3")
    tokens = payer.exchange(answer["code"], client=DEMO_CONFIDENTIAL).json()
    assert tokens["patient"] == "demoplan-m3"


@pytest.mark.parametrize("member, message", [
    ({"verification": "sms", "email": "a@example.org"}, "verification must be 'email'"),
    ({"verification": "email"}, "verification by email needs an email"),
    ({"verification": "email", "email": "a@example.org", "mfa": "123456"}, "and no mfa code"),
    ({"email": "not an address"}, "email must be an address"),
])
def test_plan_json_refuses_a_member_who_cannot_verify_as_written(tmp_path, member, message):
    (tmp_path / "plan.json").write_text(
        json.dumps({"system_id": "p", "name": "P", "base_url": "p.example", "mode": "1up", "clients": [],
                    "members": [{"username": "u", "password": "pw", "patient": "Patient/p-1", **member}]}))
    with pytest.raises(PlanError, match=message):
        load_plan(tmp_path)
