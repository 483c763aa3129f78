"""The authorization request as a one-time server-side transaction, and SMART's required `state`."""

import copy
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mockpayer.auth.transactions import MAX_OPEN, Transactions
from mockpayer.clock import Clock
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


def _page(session: requests.Session, url: str) -> str:
    """Opens the sign-in page in this browser and answers its form's CSRF token."""
    page = session.get(url, timeout=10)
    assert page.status_code == 200 and 'value="login"' in page.text, page.text
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _post(session, url, csrf, **fields) -> requests.Response:
    return session.post(url, data={"csrf_token": csrf, **fields}, allow_redirects=False, timeout=10)


def test_a_consent_posted_before_the_one_time_code_leaves_the_sign_in_alive(payer):
    """Consent needs every sign-in step passed; a consent post that comes too early is refused without ending
    the transaction, so the member's right code still leads to consent and a code."""
    session, url = requests.Session(), payer.authorize_url()
    csrf = _page(session, url)
    assert 'value="mfa"' in _post(session, url, csrf, step="login", username="member2", password="pass-member2").text
    early = _post(session, url, csrf, step="consent", decision="allow", share="patient/*.read")
    assert early.status_code == 400 and "Location" not in early.headers and "Please sign in first" in early.text
    assert 'value="consent"' in _post(session, url, csrf, step="mfa", code="246810").text
    assert "code=" in _consent(session, url, csrf).headers["Location"]


def test_a_second_tab_of_the_same_request_keeps_the_first_tabs_form_working(payer):
    """A reload, or the same authorization request opened again in the same browser, continues the browser's
    transaction instead of replacing it: the first tab's form still signs in."""
    session, url = requests.Session(), payer.authorize_url()
    first_tab = _page(session, url)
    second_tab = _page(session, url)
    assert second_tab == first_tab
    response = _post(session, url, first_tab, step="login", username="member1", password="pass-member1")
    assert 'value="consent"' in response.text
    assert "code=" in _consent(session, url, first_tab).headers["Location"]


def test_another_authorization_request_in_the_same_browser_gets_its_own_transaction(payer):
    session = requests.Session()
    first = _page(session, payer.authorize_url(state="one"))
    assert _page(session, payer.authorize_url(state="two")) != first


def test_a_cookie_from_before_sign_in_cannot_finish_it_session_fixation(payer):
    """OWASP session fixation: signing in gives the transaction a fresh id, so a session cookie obtained before
    the password step (by an attacker who planted it in the member's browser) no longer finds the transaction."""
    attacker, url = requests.Session(), payer.authorize_url()
    csrf = _page(attacker, url)
    planted = attacker.cookies.get_dict()
    member = requests.Session()
    for cookie in attacker.cookies:  # the attacker's cookie, planted in the member's browser as it was set
        member.cookies.set_cookie(copy.copy(cookie))
    assert _page(member, url) == csrf  # the member opens the attacker's link: the planted transaction continues
    consent = _post(member, url, csrf, step="login", username="member1", password="pass-member1")
    assert 'value="consent"' in consent.text
    assert member.cookies.get_dict() != planted
    replay = _consent(planted, url, csrf)
    assert replay.status_code == 400 and "code=" not in replay.headers.get("Location", "") and "expired" in replay.text
    assert "code=" in _consent(member, url, csrf).headers["Location"]


def test_the_table_of_open_transactions_is_bounded():
    """A flood of authorization requests drops the oldest transactions rather than exhausting memory."""
    transactions = Transactions(Clock())
    ids = [transactions.begin("demoplan", str(n))[0] for n in range(MAX_OPEN + 10)]
    assert all(transactions.get(old) is None for old in ids[:10])
    assert all(transactions.get(new) is not None for new in ids[10:])


def test_a_transaction_moved_to_a_fresh_id_still_counts_among_the_open_ones():
    """A sign-in step passed moves the transaction to a fresh id; its slot follows, so the flood still drops it."""
    transactions = Transactions(Clock())
    first_id, first = transactions.begin("demoplan", "first")
    moved_id = transactions.save(first_id, first.advance(member="member1"))
    assert transactions.get(moved_id) is not None
    for n in range(MAX_OPEN):
        transactions.begin("demoplan", str(n))
    assert transactions.get(moved_id) is None
