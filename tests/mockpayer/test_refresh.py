"""Refresh tokens: scope, binding, rotation, replay (RT-1..RT-3), and the public client with no client_id."""

import requests

from tests.mockpayer.driver import DEMO_PUBLIC, assert_oauth_error, s256


def test_refresh_keeps_scope_and_honours_a_narrower_one(payer):
    """RT-1."""
    tokens = payer.tokens()
    same = payer.refresh(tokens["refresh_token"])
    assert same.status_code == 200 and same.headers["Cache-Control"] == "no-store"
    body = same.json()
    assert body["scope"] == tokens["scope"] and body["patient"] == "demoplan-m1" and body["expires_in"] == 3600
    narrower = payer.refresh(body["refresh_token"], scope="patient/*.read")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "patient/*.read"


def test_refresh_with_a_wider_scope_is_refused(payer):
    """RT-1."""
    tokens = payer.tokens(scope="patient/Coverage.read offline_access")
    response = payer.refresh(tokens["refresh_token"], scope="patient/*.read offline_access")
    assert_oauth_error(response, 400, "invalid_scope")


def test_refresh_token_is_bound_to_its_client(payer):
    """RT-2."""
    tokens = payer.public_tokens()
    response = payer.refresh(tokens["refresh_token"])
    assert_oauth_error(response, 400, "invalid_grant")


def test_rotation_and_replay_kill_the_family(payer):
    """RT-3: a used refresh token is dead; presenting it again revokes every token of the grant."""
    first = payer.tokens()
    second = payer.refresh(first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert_oauth_error(payer.refresh(first["refresh_token"]), 400, "invalid_grant")
    assert_oauth_error(payer.refresh(second["refresh_token"]), 400, "invalid_grant")
    assert payer.introspect(second["access_token"]) == {"active": False}


def test_public_client_refreshes_without_client_id(payer):
    """The SMART JS client posts only grant_type and refresh_token."""
    tokens = payer.public_tokens()
    response = payer.refresh(tokens["refresh_token"], auth=None)
    assert response.status_code == 200, response.text
    again = payer.refresh(response.json()["refresh_token"], auth=None, client_id=DEMO_PUBLIC)
    assert again.status_code == 200, again.text


def test_refresh_token_expires(payer):
    tokens = payer.tokens()
    payer.clock.advance(90 * 24 * 3600 + 1)
    assert_oauth_error(payer.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_smart_mode_issues_refresh_tokens_only_for_offline_access(payer):
    def smart_tokens(scope):
        verifier = "v" * 50
        code = payer.code(system_id="smartplan", client_id="smart-public-app", response_type="code", scope=scope,
                          aud=f"{payer.url}/smartplan/r4", code_challenge=s256(verifier), code_challenge_method="S256")
        location_params = {"grant_type": "authorization_code", "code": code, "client_id": "smart-public-app",
                           "redirect_uri": "http://127.0.0.1:8765/callback", "code_verifier": verifier}
        return requests.post(payer.url + "/smartplan/oauth2/token", data=location_params, timeout=10).json()

    payer.sign_in = _smart_member(payer.sign_in)
    assert "refresh_token" not in smart_tokens("patient/*.read launch/patient")
    with_offline = smart_tokens("patient/*.read offline_access")
    assert "refresh_token" in with_offline and with_offline["expires_in"] == 900


def _smart_member(sign_in):
    def signed_in_as_smart1(url, *args, **kwargs):
        return sign_in(url, "smart1", "pass-smart1")
    return signed_in_as_smart1


def test_concurrent_refreshes_with_one_token_have_one_winner(payer):
    """RT-3 under a race: the token is claimed atomically, so two clients racing cannot both fork the family."""
    from concurrent.futures import ThreadPoolExecutor

    tokens = payer.tokens()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: payer.refresh(tokens["refresh_token"]).status_code, range(8)))
    assert statuses.count(200) == 1 and statuses.count(400) == 7


def test_a_refused_refresh_gives_the_token_back(payer):
    """A wider scope is refused without spending the token; the same token then refreshes normally."""
    tokens = payer.tokens(scope="patient/Coverage.read offline_access")
    assert_oauth_error(payer.refresh(tokens["refresh_token"], scope="patient/*.read"), 400, "invalid_scope")
    assert_oauth_error(payer.refresh(tokens["refresh_token"], auth=("demo-public-app", "x")), 401, "invalid_client")
    assert payer.refresh(tokens["refresh_token"]).status_code == 200
