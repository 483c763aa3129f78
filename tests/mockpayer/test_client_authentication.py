"""Client authentication rules authlib leaves to the server: one method per request (RFC 6749 §2.3), and the
seed's `1up` code exchange, which authenticates in the body and sends no `redirect_uri`."""

import pytest
import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, DEMO_PUBLIC, assert_oauth_error, s256


@pytest.mark.parametrize("body_secret", ["wrong", DEMO_CONFIDENTIAL[1]])
def test_basic_and_a_body_secret_together_are_invalid_request_rfc6749_2_3(payer, body_secret):
    """'The client MUST NOT use more than one authentication method in each request.'"""
    code = payer.code()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": DEMO_CONFIDENTIAL[0], "client_secret": body_secret}
    assert_oauth_error(payer.token(data, auth=DEMO_CONFIDENTIAL), 400, "invalid_request")
    assert payer.exchange(code).status_code == 200  # refused before the code was looked at


@pytest.mark.parametrize("endpoint", ["revoke", "introspect"])
def test_two_methods_are_refused_at_revocation_and_introspection_too(payer, endpoint):
    tokens = payer.tokens()
    data = {"token": tokens["access_token"], "client_secret": DEMO_CONFIDENTIAL[1]}
    assert_oauth_error(payer.token(data, auth=DEMO_CONFIDENTIAL, path=f"/oauth2/{endpoint}"), 400, "invalid_request")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert_oauth_error(payer.token(data, headers=bearer, path="/oauth2/introspect"), 400, "invalid_request")
    assert payer.introspect(tokens["access_token"])["active"] is True


@pytest.mark.parametrize("endpoint", ["token", "revoke", "introspect"])
def test_basic_for_one_client_and_a_body_client_id_of_another_is_invalid_request_rfc6749_2_3_1(payer, endpoint):
    """RFC 6749 §2.3.1/§3.2.1: the client is the one the credentials authenticate; a body `client_id` naming
    another client makes the request ambiguous: `invalid_request` (§5.2: 'otherwise malformed'), not taken as
    the Basic client. Refused before the code is spent."""
    code, token = payer.code(), payer.tokens()["access_token"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "token": token,
            "client_id": DEMO_PUBLIC}
    assert_oauth_error(payer.token(data, auth=DEMO_CONFIDENTIAL, path=f"/oauth2/{endpoint}"), 400, "invalid_request")
    assert payer.exchange(code).status_code == 200
    assert payer.introspect(token)["active"] is True


def test_basic_with_a_client_id_in_the_body_is_one_method(payer):
    data = {"grant_type": "authorization_code", "code": payer.code(), "redirect_uri": CALLBACK,
            "client_id": DEMO_CONFIDENTIAL[0]}
    assert payer.token(data, auth=DEMO_CONFIDENTIAL).status_code == 200


def test_the_seeds_1up_exchange_without_redirect_uri_succeeds(payer):
    """1upHealth's documented exchange sends exactly client_id, client_secret, code and grant_type."""
    code = payer.code()
    response = requests.post(f"{payer.url}/oauth2/token", timeout=10, data={
        "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1], "code": code,
        "grant_type": "authorization_code"})
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == "demoplan-m1"


def test_in_1up_mode_a_redirect_uri_that_is_sent_must_still_match(payer):
    """RFC 6749 §4.1.3 whenever the parameter is present."""
    for sent in ("https://app.example.org/callback", "", "http://127.0.0.1:9/callback"):
        response = payer.exchange(payer.code(), redirect_uri=sent)
        assert_oauth_error(response, 400, "invalid_grant")


def test_smart_mode_keeps_redirect_uri_required_at_the_exchange(payer):
    """RFC 6749 §4.1.3: 'REQUIRED, if the "redirect_uri" parameter was included in the authorization request'."""
    verifier = "v" * 43
    url = payer.authorize_url(system_id="smartplan", client_id="smart-confidential-app", response_type="code",
                              aud=f"{payer.url}/smartplan/r4", code_challenge=s256(verifier),
                              code_challenge_method="S256")
    code = payer.sign_in(url, "smart1", "pass-smart1")["code"]
    response = requests.post(f"{payer.url}/smartplan/oauth2/token", timeout=10, data={
        "client_id": "smart-confidential-app", "client_secret": "mock-secret-not-for-production", "code": code,
        "grant_type": "authorization_code", "code_verifier": verifier})
    assert_oauth_error(response, 400, "invalid_grant")
