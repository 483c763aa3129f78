"""The OAuth client's pieces: checking the plan's redirect (CL-1), reading a grant (CL-6), the private
connection file (DR-1) and refresh with rotation persisted before use (RT-4).
"""

import json
import os
import stat
from dataclasses import replace

import pytest
import requests

from mirror.oauth import (
    ConnectError,
    Connection,
    MockLogin,
    ReconnectNeeded,
    Token,
    callback_url,
    code_from_redirect,
    connect,
    connection_path,
    grant_warnings,
    list_connections,
    load_connection,
    one_line,
    refresh,
    save_connection,
)
from mirror.plans import Endpoints, PlanConfig

STATE = "s" * 43
REDIRECT_URI = "http://127.0.0.1:8765/callback"
MEMBER1 = MockLogin("member1", "pass-member1")


def _token(**changes) -> Token:
    fields = {"access_token": "access-1", "token_type": "Bearer", "expires_at": 2_000_000_000,
              "scope": "patient/*.read offline_access", "patient": "p1", "refresh_token": "refresh-1", **changes}
    return Token(**fields)


def test_the_code_is_taken_only_with_this_requests_state():
    """CL-1."""
    assert code_from_redirect(f"{REDIRECT_URI}?code=abc&state={STATE}", REDIRECT_URI, STATE) == "abc"


@pytest.mark.parametrize("query", [f"code=abc&state={'t' * 43}", "code=abc", "code=abc&state=",
                                   f"code=abc&state={STATE}&state={STATE}x", f"error=access_denied&state={'t' * 43}"])
def test_a_missing_wrong_or_doubled_state_is_refused(query):
    """CL-1: refused before the code or an error is believed; the message is one line."""
    with pytest.raises(ConnectError) as refused:
        code_from_redirect(f"{REDIRECT_URI}?{query}", REDIRECT_URI, STATE)
    assert "\n" not in str(refused.value)
    assert "state" in str(refused.value) or "repeats a parameter" in str(refused.value)


def test_an_error_answer_with_the_right_state_says_what_the_plan_said():
    with pytest.raises(ConnectError) as refused:
        code_from_redirect(f"{REDIRECT_URI}?error=access_denied&error_description=Member%0Asaid+no&state={STATE}",
                           REDIRECT_URI, STATE)
    assert str(refused.value) == ("the plan did not grant access: access was declined at the plan's consent page "
                                  "(access_denied: Member said no)")


@pytest.mark.parametrize("redirect", ["http://127.0.0.1:9999/callback", "http://localhost:8765/callback",
                                      "https://evil.example.org/callback", "http://127.0.0.1:8765/other"])
def test_a_redirect_elsewhere_is_refused(redirect):
    with pytest.raises(ConnectError, match="somewhere other than this app's callback"):
        code_from_redirect(f"{redirect}?code=abc&state={STATE}", REDIRECT_URI, STATE)


def test_an_answer_with_neither_code_nor_error_is_refused():
    with pytest.raises(ConnectError, match="neither a code nor an error"):
        code_from_redirect(f"{REDIRECT_URI}?state={STATE}", REDIRECT_URI, STATE)


def test_redirect_uri_is_the_loopback_ip_literal():
    """CL-3: `127.0.0.1`, never `localhost`, path /callback."""
    assert callback_url(53682) == "http://127.0.0.1:53682/callback"
    assert callback_url(0) == "http://127.0.0.1/callback"


def test_token_response_defaults_and_hygiene():
    token = Token.from_response({"access_token": "a" * 43, "token_type": "bearer", "expires_at": 123},
                                "patient/*.read", previous_refresh_token="r" * 43)
    assert (token.scope, token.refresh_token, token.patient, token.token_type) == ("patient/*.read", "r" * 43, None,
                                                                                   "Bearer")
    assert "a" * 43 not in repr(token) and "r" * 43 not in repr(token)
    with pytest.raises(ConnectError, match="no bearer access token"):
        Token.from_response({"access_token": "x", "token_type": "mac"}, "patient/*.read")


def test_a_full_grant_needs_no_warning():
    assert grant_warnings("patient/*.read offline_access", _token()) == []


def test_a_narrower_grant_is_reported():
    """CL-6: the plan may grant fewer scopes than asked; the member is told which."""
    token = _token(scope="patient/Coverage.read offline_access", patient=None, refresh_token=None)
    warnings = grant_warnings("patient/*.read patient/Coverage.read offline_access", token)
    assert warnings == ["the plan granted less than asked; missing: patient/*.read",
                        "the plan did not say which patient record it granted; sync will have to ask it",
                        "the plan gave no refresh token; connect again when the access token expires"]


def test_a_grant_that_reads_nothing_is_an_error():
    """CL-6."""
    with pytest.raises(ConnectError, match="granted no permission to read records"):
        grant_warnings("patient/*.read", _token(scope="launch/patient offline_access"))


def test_mock_login_parsing():
    login = MockLogin.parse("member2:pass:with:colons", "246810")
    assert (login.username, login.password, login.mfa_code) == ("member2", "pass:with:colons", "246810")
    assert "pass:with:colons" not in repr(login) and "246810" not in repr(login)
    with pytest.raises(ConnectError, match="USER:PASSWORD"):
        MockLogin.parse("member2")


def test_connection_file_is_private_whatever_the_umask(tmp_path):
    """DR-1: data folder and connections folder 0700, file 0600, and a too-open folder is narrowed."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    connection = Connection(_plan(), _token(), "2024-01-01T00:00:00+00:00")
    previous = os.umask(0o000)
    try:
        path = save_connection(data_dir, connection)
    finally:
        os.umask(previous)
    assert path == connection_path(data_dir, "plan") == data_dir / "connections" / "plan.json"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_connection(data_dir, "plan") == connection
    assert [left.name for left in path.parent.iterdir()] == ["plan.json"]  # no temporary file left behind


def test_connections_are_listed_by_name(tmp_path):
    for name in ("zeta", "alpha"):
        save_connection(tmp_path, Connection(_plan(name), _token(), "2024-01-01T00:00:00+00:00"))
    assert [connection.plan.name for connection in list_connections(tmp_path)] == ["alpha", "zeta"]
    assert list_connections(tmp_path / "nothing-here") == []


def test_missing_or_damaged_connection_files_are_one_line(tmp_path):
    with pytest.raises(ConnectError, match="^nowhere is not connected; run: mirror connect nowhere"):
        load_connection(tmp_path, "nowhere")
    path = save_connection(tmp_path, Connection(_plan(), _token(), "2024-01-01T00:00:00+00:00"))
    path.write_text('{"plan": ')
    with pytest.raises(ConnectError, match=r"is damaged \(JSONDecodeError\)"):
        load_connection(tmp_path, "plan")
    record = Connection(_plan(), _token(), "x").to_dict()
    record["plan"]["endpoints"]["token_url"] = "http://auth.example.org/token"
    path.write_text(json.dumps(record))
    with pytest.raises(ConnectError, match="is damaged .*uses plain http"):
        load_connection(tmp_path, "plan")


def test_refresh_persists_the_rotated_token_before_returning_it(demo_plan, data_dir):
    """RT-4: the new refresh token is in the file when refresh returns, and the old one is dead at the plan,
    so it must have been kept."""
    first = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=lambda line: None)
    renewed = refresh(data_dir, "demo")
    assert renewed.token.refresh_token != first.token.refresh_token
    assert renewed.token.access_token != first.token.access_token
    assert renewed.token.patient == "demoplan-m1" and renewed.token.scope == first.token.scope
    assert renewed.connected_at == first.connected_at and renewed.plan == first.plan
    assert load_connection(data_dir, "demo") == renewed
    on_disk = json.loads(connection_path(data_dir, "demo").read_text())
    assert on_disk["token"]["refresh_token"] == renewed.token.refresh_token
    old_refresh = requests.post(first.plan.endpoints.token_url, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": first.token.refresh_token,
        "client_id": "demo-confidential-app", "client_secret": "mock-secret-not-for-production"})
    assert old_refresh.json()["error"] == "invalid_grant"


def test_public_client_refreshes_with_its_client_id(smart_plan, data_dir):
    """RT-4 for a public client (token_endpoint_auth_method none) on the strict SMART plan."""
    first = connect(smart_plan, data_dir, mock_login=MockLogin("smart1", "pass-smart1"), show=lambda line: None)
    renewed = refresh(data_dir, "smart")
    assert renewed.token.refresh_token not in (None, first.token.refresh_token)
    assert load_connection(data_dir, "smart") == renewed


def test_a_crash_between_refresh_and_persist_asks_for_reconnect_not_a_loop(demo_plan, data_dir):
    """RT-4: the plan rotated the refresh token but the file kept the old one; the next refresh is refused
    (the mock revokes the whole grant on replay) and says so once, leaving the file as it was."""
    connect(demo_plan(), data_dir, mock_login=MEMBER1, show=lambda line: None)
    path = connection_path(data_dir, "demo")
    before_crash = path.read_bytes()
    refresh(data_dir, "demo")
    path.write_bytes(before_crash)  # as if killed before the rotated token reached the disk
    with pytest.raises(ReconnectNeeded) as refused:
        refresh(data_dir, "demo")
    message = str(refused.value)
    assert "\n" not in message and "invalid_grant" in message and message.endswith("run: mirror connect demo ...")
    assert path.read_bytes() == before_crash
    tokens = json.loads(before_crash)["token"]
    assert tokens["refresh_token"] not in message and tokens["access_token"] not in message


def test_an_unknown_refresh_token_needs_a_reconnect(demo_plan, data_dir):
    """RT-4: an invalid refresh token raises ReconnectNeeded."""
    connection = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=lambda line: None)
    save_connection(data_dir, replace(connection, token=replace(connection.token, refresh_token="not-a-real-token")))
    with pytest.raises(ReconnectNeeded, match="^demo: the plan's token endpoint refused: the code or refresh token"):
        refresh(data_dir, "demo")


def test_without_a_refresh_token_refresh_asks_for_reconnect(tmp_path):
    save_connection(tmp_path, Connection(_plan(), _token(refresh_token=None), "x"))
    with pytest.raises(ReconnectNeeded, match="gave no refresh token"):
        refresh(tmp_path, "plan")


def test_an_unreachable_token_endpoint_is_not_a_reason_to_reconnect(demo_plan, data_dir, closed_port):
    """A network failure may pass: ConnectError (not ReconnectNeeded), and the saved tokens stay as they were."""
    connection = connect(demo_plan(), data_dir, mock_login=MEMBER1, show=lambda line: None)
    unreachable = replace(connection.plan.endpoints, token_url=f"http://127.0.0.1:{closed_port}/token")
    save_connection(data_dir, replace(connection, plan=replace(connection.plan, endpoints=unreachable)))
    before = connection_path(data_dir, "demo").read_bytes()
    with pytest.raises(ConnectError) as failed:
        refresh(data_dir, "demo")
    assert type(failed.value) is ConnectError
    assert str(failed.value) == f"could not reach 127.0.0.1:{closed_port}: the connection failed"
    assert connection_path(data_dir, "demo").read_bytes() == before


def _plan(name="plan"):
    return PlanConfig(name, Endpoints("https://api.example.org/r4", "https://auth.example.org/authorize",
                                      "https://auth.example.org/token"), "app")


def test_one_line_keeps_printable_text_on_one_short_line():
    """The one cleaner that server-supplied text goes through before it reaches a message (oauth and sync)."""
    assert one_line("bad\r\n  code\x1b[31m\tthere ") == "bad code [31m there"
    assert one_line("x" * 500) == "x" * 200
    assert one_line("a  b c", limit=3) == "a b"
    assert one_line(None) == "None"
