"""PKCE at the token endpoint (PK-1..PK-5)."""

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mockpayer.auth.server import S256CodeChallenge
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, DEMO_PUBLIC, assert_oauth_error, s256

VERIFIER = secrets.token_urlsafe(48)


def _public_code(payer, verifier=VERIFIER):
    return payer.code(client_id=DEMO_PUBLIC, code_challenge=s256(verifier), code_challenge_method="S256")


def test_wrong_verifier_is_invalid_grant(payer):
    """PK-1."""
    response = payer.exchange(_public_code(payer), client=DEMO_PUBLIC, code_verifier=secrets.token_urlsafe(48))
    assert_oauth_error(response, 400, "invalid_grant")


@pytest.mark.parametrize("verifier", [None, ""])
def test_missing_or_blank_verifier_is_invalid_request(payer, verifier):
    """PK-2."""
    extra = {} if verifier is None else {"code_verifier": verifier}
    assert_oauth_error(payer.exchange(_public_code(payer), client=DEMO_PUBLIC, **extra), 400, "invalid_request")


def test_the_challenge_sent_as_verifier_is_refused(payer):
    """PK-2: the 'plain' downgrade."""
    response = payer.exchange(_public_code(payer), client=DEMO_PUBLIC, code_verifier=s256(VERIFIER))
    assert_oauth_error(response, 400, "invalid_grant")


def test_verifier_on_a_code_without_challenge_is_refused(payer):
    """PK-3: the downgrade the other way, under the relaxed 1up mode."""
    response = payer.exchange(payer.code(), client=DEMO_CONFIDENTIAL, code_verifier=VERIFIER)
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 42 + "!"])
def test_malformed_verifier_is_invalid_request(payer, verifier):
    """PK-4."""
    code = _public_code(payer, verifier="b" * 43)
    assert_oauth_error(payer.exchange(code, client=DEMO_PUBLIC, code_verifier=verifier), 400, "invalid_request")


def test_a_public_client_without_a_challenge_is_refused_at_authorize_rfc9700_2_1_1(payer):
    """RFC 9700 §2.1.1: public clients MUST use PKCE. Even in the relaxed `1up` mode a public client's request
    without `code_challenge` gets `invalid_request` at its redirect URI, with its state, rather than a code that
    no exchange could redeem; a confidential client may still go without."""
    response = requests.get(payer.authorize_url(client_id=DEMO_PUBLIC), allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == ["invalid_request"] and "code_challenge" in params["error_description"][0]
    assert params["state"] == ["state-123"] and "code" not in params
    assert payer.exchange(payer.code()).status_code == 200


def test_s256_matches_the_rfc_test_vector():
    """PK-5: RFC 7636 appendix B."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert S256CodeChallenge.CODE_CHALLENGE_METHODS["S256"](verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
