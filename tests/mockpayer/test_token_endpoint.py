"""The token endpoint's refusals: codes, client authentication, methods (TK-1..TK-6)."""

import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, assert_oauth_error


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(payer):
    """TK-1."""
    code = payer.code()
    first = payer.exchange(code)
    assert first.status_code == 200
    tokens = first.json()
    assert payer.introspect(tokens["access_token"])["active"] is True
    assert_oauth_error(payer.exchange(code), 400, "invalid_grant")
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    refresh = payer.refresh(tokens["refresh_token"])
    assert_oauth_error(refresh, 400, "invalid_grant")


def test_code_expires_after_the_plans_lifetime(payer):
    """TK-2: 300 s for demoplan, moved on the test clock rather than slept."""
    fresh = payer.code()
    assert payer.exchange(fresh).status_code == 200
    stale = payer.code()
    payer.clock.advance(301)
    assert_oauth_error(payer.exchange(stale), 400, "invalid_grant")


def test_code_is_bound_to_client_and_redirect_uri(payer):
    """TK-3."""
    assert_oauth_error(payer.exchange(payer.code(), redirect_uri="http://127.0.0.1:8765/other"), 400, "invalid_grant")
    other_client = payer.exchange(payer.code(), client="demo-public-app")
    assert_oauth_error(other_client, 400, "invalid_grant")


def test_bogus_code_and_unknown_client(payer):
    """TK-4."""
    assert_oauth_error(payer.exchange("not-a-code"), 400, "invalid_grant")
    unknown = payer.token({"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
                          auth=("nobody", "secret"))
    assert_oauth_error(unknown, 401, "invalid_client")
    assert "WWW-Authenticate" in unknown.headers


def test_wrong_client_secret_is_401_invalid_client(payer):
    response = payer.exchange(payer.code(), client=(DEMO_CONFIDENTIAL[0], "wrong-secret"))
    assert_oauth_error(response, 401, "invalid_client")
    basic = payer.token({"grant_type": "authorization_code", "code": payer.code(), "redirect_uri": CALLBACK},
                        auth=(DEMO_CONFIDENTIAL[0], "wrong-secret"))
    assert_oauth_error(basic, 401, "invalid_client")


def test_confidential_client_must_authenticate(payer):
    code = payer.code()
    response = payer.token({"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                            "client_id": DEMO_CONFIDENTIAL[0]})
    assert_oauth_error(response, 401, "invalid_client")


def test_get_on_the_token_endpoint_is_405(payer):
    """TK-5."""
    response = requests.get(payer.url + "/oauth2/token", timeout=10)
    assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["Allow"] == "POST"


def test_json_body_is_not_a_token_request(payer):
    """TK-5: only form bodies are read."""
    response = requests.post(payer.url + "/demoplan/oauth2/token", timeout=10,
                             json={"grant_type": "authorization_code", "code": payer.code()}, auth=DEMO_CONFIDENTIAL)
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_unknown_grant_type(payer):
    response = payer.token({"grant_type": "password", "username": "member1", "password": "pass-member1"},
                           auth=DEMO_CONFIDENTIAL)
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_tokens_are_unique_and_long(payer):
    """TK-9: at least 43 URL-safe characters (256 random bits), never repeated."""
    seen = set()
    for _ in range(5):
        tokens = payer.tokens()
        for name in ("access_token", "refresh_token"):
            assert len(tokens[name]) >= 43
            seen.add(tokens[name])
    assert len(seen) == 10
