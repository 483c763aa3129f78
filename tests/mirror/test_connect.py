"""`connect` end to end against the real mock payer, with the mock's sign-in pages filled in (`--login`)."""

import logging

import pytest
import requests

from mirror import oauth
from mirror.http.mock_login import MockLoginError, complete_mock_login
from mirror.oauth import ConnectError, MockLogin, connect, connection_path, load_connection, refresh
from mirror.plans import PlanConfig, discover_endpoints, mock_endpoints
from tests.mirror.conftest import DEMO_SECRET

MEMBER1 = MockLogin("member1", "pass-member1")


def _quiet(line):
    pass


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_confidential_client_connects_to_the_1up_mode_plan(demo_plan, data_dir, auth_method):
    """CL-1, CL-2 (state and PKCE on every request, checked by the mock), CL-6 (patient and scope kept)."""
    connection = connect(demo_plan(auth_method=auth_method), data_dir, mock_login=MEMBER1, show=_quiet)
    token = connection.token
    assert token.patient == "demoplan-m1"
    assert token.scope == "patient/*.read launch/patient offline_access"
    assert token.token_type == "Bearer" and token.expires_at is not None
    assert len(token.access_token) >= 43 and len(token.refresh_token) >= 43
    assert load_connection(data_dir, "demo") == connection


def test_public_client_connects_to_the_strict_smart_plan(smart_plan, data_dir):
    """CL-2: strict SMART mode refuses a request without PKCE S256 or without aud = the FHIR base."""
    connection = connect(smart_plan, data_dir, mock_login=MockLogin("smart1", "pass-smart1"), show=_quiet)
    assert connection.token.patient == "smartplan-m1" and connection.token.refresh_token


def test_confidential_client_connects_to_a_discovered_smart_plan(mock_payer, data_dir):
    """Endpoints found from the FHIR base alone, then the code flow with HTTP Basic client authentication."""
    plan = PlanConfig("smart-conf", discover_endpoints(f"{mock_payer}/smartplan/r4"), "smart-confidential-app",
                      auth_method="client_secret_basic", client_secret=DEMO_SECRET)
    connection = connect(plan, data_dir, mock_login=MockLogin("smart1", "pass-smart1"), show=_quiet)
    assert connection.token.patient == "smartplan-m1"


def test_member_with_mfa(demo_plan, data_dir):
    connection = connect(demo_plan(), data_dir, mock_login=MockLogin("member2", "pass-member2", "246810"), show=_quiet)
    assert connection.token.patient == "demoplan-m2"


def test_member_with_mfa_but_no_code_is_told_to_pass_one(demo_plan, data_dir):
    with pytest.raises(ConnectError, match="needs a one-time code: pass --mfa CODE"):
        connect(demo_plan(), data_dir, mock_login=MockLogin("member2", "pass-member2"), show=_quiet)


def test_member_who_verifies_by_email_when_the_outbox_refuses_is_told_why(mock_payer):
    """The outbox answers only on the mock's machine; a request a proxy forwarded is from elsewhere, so refused."""
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = "192.0.2.7"
    authorize_url = f"{mock_payer}/oauth2/authorize/demoplan?client_id=demo-public-app&state=s&" \
                    "redirect_uri=http://127.0.0.1/callback&code_challenge_method=S256&code_challenge=" + "x" * 43
    with pytest.raises(MockLoginError, match=r"^this member verifies by email, and the mock's outbox \(http://127.0."
                                             r"0.1:\d+/_admin/outbox\) answered 403: it answers only on the mock's own "
                                             r"machine$"):
        complete_mock_login(browser, authorize_url, "member3", "pass-member3")


def test_access_denied_is_one_clear_line(demo_plan, data_dir):
    with pytest.raises(ConnectError) as refused:
        connect(demo_plan(), data_dir, mock_login=MockLogin("member1", "pass-member1", allow=False), show=_quiet)
    assert str(refused.value).startswith("the plan did not grant access: access was declined at the plan's consent page")
    assert "\n" not in str(refused.value)
    assert not connection_path(data_dir, "demo").exists()


def test_wrong_client_secret_is_one_clear_line(demo_plan, data_dir):
    with pytest.raises(ConnectError) as refused:
        connect(demo_plan(client_secret="not-the-secret"), data_dir, mock_login=MEMBER1, show=_quiet)
    message = str(refused.value)
    assert message.startswith("the plan's token endpoint refused: the client id or secret was not accepted (invalid_client")
    assert "\n" not in message and "not-the-secret" not in message


def test_unknown_client_is_one_clear_line(demo_plan, data_dir):
    with pytest.raises(ConnectError) as refused:
        connect(demo_plan(client_id="no-such-app"), data_dir, mock_login=MEMBER1, show=_quiet)
    assert "\n" not in str(refused.value) and "400" in str(refused.value)


def test_wrong_password_is_one_clear_line(demo_plan, data_dir):
    with pytest.raises(ConnectError, match="^sign-in refused at the login step: Wrong username or password.$"):
        connect(demo_plan(), data_dir, mock_login=MockLogin("member1", "wrong"), show=_quiet)


def test_unreachable_plan_is_one_clear_line(data_dir, closed_port):
    plan = PlanConfig("gone", mock_endpoints(f"http://127.0.0.1:{closed_port}", "demoplan"), "demo-public-app")
    with pytest.raises(ConnectError, match=f"^could not reach 127.0.0.1:{closed_port}: the connection failed$"):
        connect(plan, data_dir, mock_login=MEMBER1, show=_quiet)


@pytest.mark.parametrize("failure", [
    {"mock_login": MockLogin("member1", "pass-member1", allow=False)},
    {"mock_login": MEMBER1, "client_secret": "not-the-secret"},
    {"mock_login": MockLogin("member1", "wrong")},
])
def test_a_failed_connect_leaves_the_earlier_connection_untouched(demo_plan, data_dir, failure):
    """The record is written only after a complete success."""
    connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    path = connection_path(data_dir, "demo")
    before = path.read_bytes()
    changes = {key: value for key, value in failure.items() if key != "mock_login"}
    with pytest.raises(ConnectError):
        connect(demo_plan(**changes), data_dir, mock_login=failure["mock_login"], show=_quiet)
    assert path.read_bytes() == before


def test_reconnecting_replaces_the_connection(demo_plan, data_dir):
    first = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    second = connect(demo_plan(), data_dir, mock_login=MockLogin("member3", "pass-member3"), show=_quiet)
    assert second.token.patient == "demoplan-m3" != first.token.patient
    assert load_connection(data_dir, "demo") == second


def test_no_token_code_or_secret_reaches_the_log(demo_plan, data_dir, caplog, monkeypatch):
    """WB-4: a connect and a refresh, logged at DEBUG (the client's urllib3 and the in-process mock alike)."""
    caplog.set_level(logging.DEBUG)
    codes = []
    take_code = oauth.code_from_redirect

    def remember_code(*args):
        codes.append(take_code(*args))
        return codes[-1]

    monkeypatch.setattr(oauth, "code_from_redirect", remember_code)
    connection = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=_quiet)
    renewed = refresh(data_dir, "demo")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "oauth2/token" in logged  # urllib3's request lines are there, so the check below means something
    for secret in (*codes, connection.token.access_token, connection.token.refresh_token, renewed.token.access_token,
                   renewed.token.refresh_token, DEMO_SECRET, "pass-member1"):
        assert secret not in logged
    assert len(codes) == 1
