"""The authorization-code flow end to end over HTTP: login, MFA, consent, code, tokens (issue 2)."""

import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, DEMO_PUBLIC, assert_oauth_error


def test_confidential_client_gets_tokens_with_secret_in_form(payer):
    """TK-7: the token response carries what SMART clients read, and must not be cached."""
    redirect = payer.sign_in(payer.authorize_url())
    assert redirect["state"] == "state-123"
    response = payer.exchange(redirect["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "patient/*.read launch/patient offline_access"
    assert body["patient"] == "demoplan-m1"
    assert len(body["access_token"]) >= 43 and len(body["refresh_token"]) >= 43  # TK-9


def test_confidential_client_with_http_basic(payer):
    code = payer.code()
    response = payer.token({"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                           auth=DEMO_CONFIDENTIAL)
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == "demoplan-m1"


def test_token_request_as_multipart_form(payer):
    """The Blue Button SDK posts its token requests as multipart/form-data."""
    code = payer.code()
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
              "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1]}
    response = requests.post(payer.url + "/oauth2/token", files={k: (None, v) for k, v in fields.items()}, timeout=10)
    assert response.status_code == 200, response.text


def test_member_with_mfa_passes_the_code_step(payer):
    redirect = payer.sign_in(payer.authorize_url(), "member2", "pass-member2", mfa_code="246810")
    assert payer.exchange(redirect["code"]).json()["patient"] == "demoplan-m2"


def test_wrong_mfa_code_shows_the_form_again(payer):
    session = requests.Session()
    page = session.get(payer.authorize_url())
    csrf = _hidden(page.text, "csrf_token")
    mfa_page = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member2",
                                            "password": "pass-member2"}, allow_redirects=False)
    assert mfa_page.status_code == 200 and 'name="code"' in mfa_page.text
    again = session.post(page.url, data={"csrf_token": csrf, "step": "mfa", "code": "000000"}, allow_redirects=False)
    assert again.status_code == 401
    assert "not right" in again.text and 'name="code"' in again.text
    skipped = session.post(page.url, data={"csrf_token": csrf, "step": "consent", "decision": "allow"},
                           allow_redirects=False)
    assert skipped.status_code == 400 and "Location" not in skipped.headers


def test_deny_redirects_with_access_denied_and_the_same_state(payer):
    """AZ-3, AZ-4: the state comes back byte for byte, with +, / and = in it."""
    state = "a+b/c=d" + "x" * 121
    redirect = payer.sign_in(payer.authorize_url(state=state), allow=False)
    assert redirect["error"] == "access_denied" and redirect["state"] == state
    assert "code" not in redirect


def test_public_client_with_pkce(payer):
    body = payer.public_tokens()
    assert body["patient"] == "demoplan-m1" and "refresh_token" in body


def test_consent_post_redirects_with_303(payer):
    """AZ-8: never 307 after a credential or consent POST."""
    session = requests.Session()
    page = session.get(payer.authorize_url())
    csrf = _hidden(page.text, "csrf_token")
    session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1", "password": "pass-member1"})
    final = session.post(page.url, data={"csrf_token": csrf, "step": "consent", "share": "patient/*.read",
                                         "decision": "allow"}, allow_redirects=False)
    assert final.status_code == 303
    assert final.headers["Location"].startswith(CALLBACK + "?code=")


def test_authorize_shows_login_before_any_redirect(payer):
    """AZ-11: no silent redirect; the member signs in first, every time."""
    response = requests.get(payer.authorize_url(), allow_redirects=False)
    assert response.status_code == 200
    assert 'name="password"' in response.text


def test_seed_url_without_response_type_works_in_1up_mode(payer):
    assert "code" in payer.sign_in(payer.authorize_url(response_type=None))


def test_login_for_one_request_cannot_finish_another(payer):
    session = requests.Session()
    first = session.get(payer.authorize_url(state="one"))
    csrf = _hidden(first.text, "csrf_token")
    session.post(first.url, data={"csrf_token": csrf, "step": "login", "username": "member1", "password": "pass-member1"})
    other = payer.authorize_url(state="two")
    response = session.post(other, data={"csrf_token": csrf, "step": "consent", "decision": "allow"},
                            allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers


def test_token_endpoint_is_found_under_the_plan_prefix(payer):
    code = payer.code()
    response = payer.token({"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                           auth=DEMO_CONFIDENTIAL, path="/demoplan/oauth2/token")
    assert response.status_code == 200


def test_public_client_cannot_use_a_confidential_clients_code(payer):
    code = payer.code()
    assert_oauth_error(payer.exchange(code, client=DEMO_PUBLIC), 400, "invalid_grant")


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
