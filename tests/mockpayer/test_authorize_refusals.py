"""What the authorization endpoint must refuse, and how (AZ-1..AZ-7, WB-1, WB-3, IN-J4)."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mockpayer.auth.models import redirect_uri_matches
from tests.mockpayer.driver import CALLBACK, s256

REGISTERED = "https://app.example.org/callback"


@pytest.mark.parametrize("requested", [
    "https://app.example.org/callback/",
    "https://app.example.org/callback/extra",
    "https://app.example.org/Callback",
    "https://APP.example.org/callback",
    "https://app.example.org/callback?x=1",
    "https://app.example.org/callback#frag",
    "https://evil.app.example.org/callback",
    "https://app.example.org.evil.com/callback",
    "http://app.example.org/callback",
    "https://app.example.org:8443/callback",
    "https://app.example.org/callbac",
])
def test_redirect_uri_near_misses_are_rejected(requested):
    """AZ-1: exact string match only."""
    assert not redirect_uri_matches(REGISTERED, requested)


@pytest.mark.parametrize("requested, expected", [
    ("http://127.0.0.1:8765/callback", True),
    ("http://127.0.0.1:1/callback", True),
    ("http://127.0.0.1/callback", True),
    ("http://127.0.0.1:8765/callback2", False),
    ("http://127.0.0.1:8765/callback?x=1", False),
    ("https://127.0.0.1:8765/callback", False),
    ("http://127.0.0.2:8765/callback", False),
    ("http://127.0.0.1:99999/callback", False),
    ("http://user@127.0.0.1:8765/callback", False),
])
def test_loopback_redirects_may_differ_only_in_port(requested, expected):
    """AZ-1, RFC 8252 §7.3."""
    assert redirect_uri_matches("http://127.0.0.1/callback", requested) is expected


@pytest.mark.parametrize("change", [
    {"client_id": "no-such-client"},
    {"client_id": None},
    {"redirect_uri": "https://evil.example/callback"},
    {"redirect_uri": "http://127.0.0.1:8765/callback/../evil"},
])
def test_unknown_client_or_redirect_gets_an_error_page_never_a_redirect(payer, change):
    """AZ-2: no open redirector."""
    response = requests.get(payer.authorize_url(**change), allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


def test_unknown_plan_is_404(payer):
    response = requests.get(payer.authorize_url(system_id="nosuchplan"), allow_redirects=False)
    assert response.status_code == 404 and "Location" not in response.headers


def _redirect_params(response) -> dict:
    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_unsupported_response_type_redirects_with_error_and_state(payer):
    """AZ-3."""
    response = requests.get(payer.authorize_url(response_type="token"), allow_redirects=False)
    params = _redirect_params(response)
    assert params["error"] == "unsupported_response_type" and params["state"] == "state-123"


def test_repeated_parameter_is_invalid_request(payer):
    """AZ-7."""
    response = requests.get(payer.authorize_url() + "&redirect_uri=" + CALLBACK, allow_redirects=False)
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert "Location" not in response.headers and "Multiple" in response.text
    else:
        assert _redirect_params(response)["error"] == "invalid_request"


def test_unknown_scopes_alone_are_invalid_scope(payer):
    response = requests.get(payer.authorize_url(scope="admin everything"), allow_redirects=False)
    params = _redirect_params(response)
    assert params["error"] == "invalid_scope" and params["state"] == "state-123"


SMART = {"system_id": "smartplan", "client_id": "smart-confidential-app", "response_type": "code"}


def _smart_url(payer, **params):
    base = {"aud": f"{payer.url}/smartplan/r4", "code_challenge": s256("v" * 43), "code_challenge_method": "S256"}
    base.update(params)
    return payer.authorize_url(**SMART, **base)


def test_smart_mode_requires_pkce(payer):
    """AZ-5: no challenge, no code."""
    response = requests.get(_smart_url(payer, code_challenge=None, code_challenge_method=None), allow_redirects=False)
    params = _redirect_params(response)
    assert params["error"] == "invalid_request" and "code" not in params and params["state"] == "state-123"


@pytest.mark.parametrize("method", ["plain", None])
def test_plain_pkce_is_refused_in_every_mode(payer, method):
    """AZ-5, PK-6: `plain`, or a challenge without a method (which means plain), is refused."""
    for url in (_smart_url(payer, code_challenge_method=method),
                payer.authorize_url(code_challenge="c" * 43, code_challenge_method=method)):
        params = _redirect_params(requests.get(url, allow_redirects=False))
        assert params["error"] == "invalid_request"


@pytest.mark.parametrize("aud", [None, "https://evil.example/r4", "http://127.0.0.1:1/demoplan/r4"])
def test_smart_mode_requires_the_plans_audience(payer, aud):
    """AZ-6: a wrong or missing aud gets no code."""
    response = requests.get(_smart_url(payer, aud=aud), allow_redirects=False)
    assert _redirect_params(response)["error"] == "invalid_request"


def test_smart_mode_accepts_the_right_audience_and_pkce(payer):
    redirect = payer.sign_in(_smart_url(payer), "smart1", "pass-smart1")
    assert "code" in redirect


def test_pages_refuse_framing_and_leak_no_referrer(payer):
    """AZ-9, AZ-10, WB-2: clickjacking and referrer protection, nothing loaded from elsewhere."""
    response = requests.get(payer.authorize_url())
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "http://" not in response.text and "https://" not in response.text
    assert "Access-Control-Allow-Origin" not in response.headers


def test_reflected_values_are_escaped(payer):
    """WB-1: a hostile username and a hostile scope restriction come back as text, not markup."""
    hostile = "<script>alert(1)</script>"
    session = requests.Session()
    page = session.get(payer.authorize_url(scope=f"patient/Observation.rs?category={hostile} launch/patient"))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    failed = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": hostile, "password": "x"})
    assert failed.status_code == 401
    assert hostile not in failed.text and "&lt;script&gt;" in failed.text
    consent = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1",
                                           "password": "pass-member1"})
    assert "See your test results" in consent.text
    assert hostile not in consent.text and "&lt;script&gt;" in consent.text


def test_form_without_csrf_token_is_refused(payer):
    """WB-3."""
    session = requests.Session()
    page = session.get(payer.authorize_url())
    response = session.post(page.url, data={"step": "login", "username": "member1", "password": "pass-member1"},
                            allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers


def test_post_without_a_session_is_refused(payer):
    response = requests.post(payer.authorize_url(), data={"step": "consent", "decision": "allow"},
                             allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers


def test_wrong_password_shows_the_form_with_a_message(payer):
    session = requests.Session()
    page = session.get(payer.authorize_url())
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1",
                                            "password": "wrong"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.text and 'name="password"' in response.text
    assert "Traceback" not in response.text


def test_oversized_body_is_413(payer):
    """IN-J4."""
    response = requests.post(payer.authorize_url(), data={"username": "x" * (2 * 1024 * 1024)}, allow_redirects=False)
    assert response.status_code == 413
    token = requests.post(payer.url + "/oauth2/token", data={"code": "x" * (2 * 1024 * 1024)})
    assert token.status_code == 413 and token.json()["error"] == "invalid_request"
