"""The authorization request as a one-time server-side transaction, and SMART's required `state`."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.mockpayer.driver import CALLBACK, s256


def _signed_in(payer, **params) -> tuple[requests.Session, str, str]:
    """A browser at the consent page: (its session, the page URL, the form's CSRF token)."""
    session = requests.Session()
    page = session.get(payer.authorize_url(**params))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    consent = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1",
                                           "password": "pass-member1"})
    assert 'value="consent"' in consent.text
    return session, page.url, csrf


def _consent(session_or_cookies, url, csrf, decision="allow") -> requests.Response:
    """Posts the consent form as a browser would, every kind of record still ticked."""
    data = {"csrf_token": csrf, "step": "consent", "decision": decision, "share": "patient/*.read"}
    if isinstance(session_or_cookies, requests.Session):
        return session_or_cookies.post(url, data=data, allow_redirects=False, timeout=10)
    return requests.post(url, data=data, cookies=session_or_cookies, allow_redirects=False, timeout=10)


def _assert_no_code(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert "Location" not in response.headers and "code=" not in response.text
    assert "Start signing in again" in response.text


@pytest.mark.parametrize("decision", ["allow", "deny"])
def test_a_consent_form_posted_again_with_the_cookie_saved_before_consent_gets_no_code(payer, decision):
    """The replay from the attack report: the cookie saved before consent no longer finds a transaction."""
    session, url, csrf = _signed_in(payer)
    saved_cookies = session.cookies.get_dict()
    first = _consent(session, url, csrf, decision)
    assert first.status_code == 303
    params = parse_qs(urlsplit(first.headers["Location"]).query)
    assert ("code" in params) is (decision == "allow")
    _assert_no_code(_consent(saved_cookies, url, csrf))


def test_a_consent_form_posted_twice_in_one_session_gets_no_second_code(payer):
    session, url, csrf = _signed_in(payer)
    assert "code=" in _consent(session, url, csrf).headers["Location"]
    _assert_no_code(_consent(session, url, csrf))


def test_an_expired_transaction_gets_the_expired_page(payer):
    session, url, csrf = _signed_in(payer)
    payer.clock.advance(16 * 60)
    response = _consent(session, url, csrf)
    assert response.status_code == 400 and "Location" not in response.headers and "expired" in response.text


def test_the_session_cookie_holds_only_the_transaction_id(payer):
    """The steps live server-side: the signed cookie carries no member, CSRF token or passed step to replay."""
    session, url, csrf = _signed_in(payer)
    serializer = payer.app.session_interface.get_signing_serializer(payer.app)
    content = serializer.loads(session.cookies.get("mockpayer_session"))
    assert list(content) == ["authorization"]
    assert isinstance(content["authorization"], str) and len(content["authorization"]) >= 43
    assert csrf not in content["authorization"]


def _smart_url(payer, **params):
    query = {"system_id": "smartplan", "client_id": "smart-confidential-app", "response_type": "code",
             "aud": f"{payer.url}/smartplan/r4", "code_challenge": s256("v" * 43), "code_challenge_method": "S256"}
    return payer.authorize_url(**{**query, **params})


def test_smart_mode_requires_state(payer):
    """SMART App Launch: `state` REQUIRED. The redirect URI is verified, so the error goes back to the app by
    redirect (RFC 6749 §4.1.2.1), with no code and no state to echo."""
    response = requests.get(_smart_url(payer, state=None), allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == ["invalid_request"] and "state" in params["error_description"][0]
    assert "code" not in params and "state" not in params


def test_1up_mode_keeps_state_optional(payer):
    """The 1up documentation's authorize URL sends no state; `1up` mode still signs the member in."""
    assert "code" in payer.sign_in(payer.authorize_url(state=None))
