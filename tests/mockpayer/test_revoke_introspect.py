"""RFC 7009 revocation (RV-1..RV-3) and RFC 7662 introspection (IN-1..IN-3)."""

import requests

from tests.mockpayer.driver import DEMO_CONFIDENTIAL, DEMO_PUBLIC, assert_oauth_error


def _revoke(payer, token, auth=DEMO_CONFIDENTIAL, **extra):
    return requests.post(payer.url + "/oauth2/revoke", data={"token": token, **extra}, auth=auth, timeout=10)


def test_revoking_an_unknown_token_is_200(payer):
    """RV-1."""
    payer.tokens()
    response = _revoke(payer, "no-such-token")
    assert response.status_code == 200


def test_revoking_the_refresh_token_ends_the_grant(payer):
    """RV-2."""
    tokens = payer.tokens()
    assert _revoke(payer, tokens["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    refresh = payer.refresh(tokens["refresh_token"])
    assert_oauth_error(refresh, 400, "invalid_grant")


def test_revoking_the_access_token_leaves_the_refresh_token(payer):
    tokens = payer.tokens()
    assert _revoke(payer, tokens["access_token"]).status_code == 200
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    assert payer.introspect(tokens["refresh_token"])["active"] is True


def test_revoking_another_clients_token_is_refused(payer):
    """RV-3."""
    public = payer.public_tokens()
    response = _revoke(payer, public["access_token"])
    assert response.status_code == 400
    assert_oauth_error(_revoke(payer, "x", auth=(DEMO_CONFIDENTIAL[0], "wrong")), 401, "invalid_client")
    unsupported = _revoke(payer, "x", token_type_hint="id_token")
    assert unsupported.status_code in (400, 401) and unsupported.json()["error"] == "unsupported_token_type"


def test_public_client_revokes_its_own_token(payer):
    tokens = payer.public_tokens()
    response = requests.post(payer.url + "/oauth2/revoke", timeout=10,
                             data={"token": tokens["refresh_token"], "client_id": DEMO_PUBLIC})
    assert response.status_code == 200


def test_introspection_needs_client_authentication(payer):
    """IN-1."""
    tokens = payer.tokens()
    response = requests.post(payer.url + "/demoplan/oauth2/introspect", data={"token": tokens["access_token"]},
                             timeout=10)
    assert_oauth_error(response, 401, "invalid_client")


def test_active_token_introspection(payer):
    """IN-2: exp agrees with expires_in, patient is there."""
    before = payer.clock.now()
    tokens = payer.tokens()
    body = payer.introspect(tokens["access_token"])
    assert body["active"] is True
    assert body["scope"] == tokens["scope"] and body["client_id"] == DEMO_CONFIDENTIAL[0]
    assert body["patient"] == "demoplan-m1"
    assert abs(body["exp"] - (before + tokens["expires_in"])) <= 5


def test_holder_of_a_bearer_token_may_introspect_it(payer):
    tokens = payer.public_tokens()
    response = requests.post(payer.url + "/oauth2/introspect", data={"token": tokens["access_token"]},
                             headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10)
    assert response.status_code == 200 and response.json()["active"] is True


def test_expired_unknown_and_foreign_tokens_are_just_inactive(payer):
    """IN-3: exactly {"active": false}."""
    tokens = payer.tokens()
    public = payer.public_tokens()
    assert payer.introspect("no-such-token") == {"active": False}
    assert payer.introspect(public["access_token"]) == {"active": False}
    payer.clock.advance(3601)
    assert payer.introspect(tokens["access_token"]) == {"active": False}
