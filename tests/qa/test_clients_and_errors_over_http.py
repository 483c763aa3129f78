"""QA from any language: a real `mockpayer serve` driven with plain HTTP only, as a team without Python would drive
it with curl: register a mobile app's client with a custom-scheme redirect and sign in with it, make authorize and
token fail once the OAuth way, and see an expired refresh token, in each plan mode."""

import base64
import hashlib
import secrets
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from tests.mockpayer.test_cli import _free_port

APP_CALLBACK = "com.example.app:/callback"  # RFC 8252 §7.1: a private-use scheme, reverse domain name
MEMBERS = {"demoplan": ("member1", "pass-member1"), "smartplan": ("smart1", "pass-smart1"),
           "bluebutton": ("BBUser00001", "PW00001!")}
FHIR_BASES = {"demoplan": "demoplan/r4", "smartplan": "smartplan/r4", "bluebutton": "bluebutton/v2/fhir"}
SCOPES = {"demoplan": "patient/*.read launch/patient offline_access",
          "smartplan": "patient/*.read launch/patient offline_access",
          "bluebutton": "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read profile"}


@pytest.fixture(scope="module")
def mock():
    """`mockpayer serve` on a free loopback port, with the bundled plans (1up, smart and bluebutton modes)."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                requests.get(f"{url}/_admin/faults", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.fixture
def mobile_app(mock):
    """A public mobile app registered with a plan through `POST /_admin/clients`, removed afterwards with the
    plan's faults cleared, so each test starts from the plans as served."""
    registered = []

    def register(system_id: str, client_id: str = "mobile-app", redirect_uris=(APP_CALLBACK,)) -> str:
        body = {"system_id": system_id, "client_id": client_id, "redirect_uris": list(redirect_uris),
                "name": "Example Mobile App"}
        response = requests.post(f"{mock}/_admin/clients", json=body, timeout=10)
        assert response.status_code == 201, response.text
        registered.append((system_id, client_id))
        return client_id

    yield register
    for system_id, client_id in registered:
        requests.delete(f"{mock}/_admin/clients/{system_id}/{client_id}", timeout=10)
        requests.post(f"{mock}/_admin/faults", json={"system_id": system_id}, timeout=10)


class App:
    """What a mobile app does: discovery, an authorization request with state and PKCE S256, the code exchange."""

    def __init__(self, mock: str, system_id: str, client_id: str, redirect_uri: str = APP_CALLBACK):
        self.mock, self.system_id, self.client_id, self.redirect_uri = mock, system_id, client_id, redirect_uri
        self.fhir_base = f"{mock}/{FHIR_BASES[system_id]}"
        smart = requests.get(f"{self.fhir_base}/.well-known/smart-configuration", timeout=10).json()
        self.authorize_endpoint, self.token_endpoint = smart["authorization_endpoint"], smart["token_endpoint"]
        self.state, self.verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)

    def authorize_url(self, **changes) -> str:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                 "scope": SCOPES[self.system_id], "state": self.state, "aud": self.fhir_base,
                 "code_challenge": challenge, "code_challenge_method": "S256", **changes}
        return f"{self.authorize_endpoint}?{urlencode(query)}"

    def sign_in(self) -> dict:
        """The member's pages, up to the redirect back to the app, which is not followed: a custom scheme is the
        phone's to open. Returns the redirect's parameters."""
        username, password = MEMBERS[self.system_id]
        location = complete_mock_login(requests.Session(), self.authorize_url(), username, password, timeout=10)
        assert location.startswith(f"{self.redirect_uri}?"), location
        return _parameters(location)

    def exchange(self, code: str) -> requests.Response:
        return requests.post(self.token_endpoint, timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "client_id": self.client_id, "code_verifier": self.verifier})

    def refresh(self, refresh_token: str) -> requests.Response:
        return requests.post(self.token_endpoint, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id})

    def read_patient(self, tokens: dict) -> requests.Response:
        return requests.get(f"{self.fhir_base}/Patient/{tokens['patient']}", timeout=10,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})


def _parameters(location: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _set_faults(mock: str, system_id: str, **spec) -> None:
    response = requests.post(f"{mock}/_admin/faults", json={"system_id": system_id, **spec}, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("system_id", ["demoplan", "smartplan", "bluebutton"])
def test_a_registered_custom_scheme_app_signs_in_through_one_authorize_error_and_one_token_error(
        mock, mobile_app, system_id):
    """RFC 8252 §7.1 custom-scheme redirect, registered live; RFC 6749 §4.1.2.1 error redirect with `state`, then
    a sign-in; §5.2 token error, then the same code exchanged (invalid_client says nothing against the code)."""
    app = App(mock, system_id, mobile_app(system_id))
    _set_faults(mock, system_id, authorize_error={"error": "temporarily_unavailable", "times": 1},
                token_error={"error": "invalid_client", "times": 1})

    refused = requests.get(app.authorize_url(), allow_redirects=False, timeout=10)
    assert refused.status_code == 302 and refused.headers["Location"].startswith(f"{APP_CALLBACK}?")
    answer = _parameters(refused.headers["Location"])
    assert answer["error"] == "temporarily_unavailable" and answer["state"] == app.state and "code" not in answer

    redirect = app.sign_in()
    assert redirect["state"] == app.state
    failed = app.exchange(redirect["code"])
    assert failed.status_code in (400, 401) and failed.json()["error"] == "invalid_client"
    exchanged = app.exchange(redirect["code"])
    assert exchanged.status_code == 200, exchanged.text
    assert app.read_patient(exchanged.json()).status_code == 200

    report = requests.get(f"{mock}/_admin/faults", timeout=10).json()[system_id]
    assert report["hits"] == {"authorize_error": 1, "token_error": 1}
    assert report["requests"]["authorize"] == 2 and report["requests"]["token"] == 2


def test_a_redirect_uri_the_app_did_not_register_gets_the_error_page(mock, mobile_app):
    """AZ-1 exact match for custom schemes too, AZ-2: an unregistered redirect URI is never redirected to."""
    client_id = mobile_app("demoplan", redirect_uris=[APP_CALLBACK, "https://app.example.com/oauth/done"])
    app = App(mock, "demoplan", client_id)
    for near_miss in ("com.example.app:/callback/", "com.example.app://callback", "com.example.evil:/callback",
                      "com.example.app:/callback?x=1", "https://app.example.com/oauth/done/"):
        response = requests.get(app.authorize_url(redirect_uri=near_miss), allow_redirects=False, timeout=10)
        assert response.status_code == 400 and "Location" not in response.headers, near_miss
    assert App(mock, "demoplan", client_id, "https://app.example.com/oauth/done").sign_in()["code"]


def test_an_expired_refresh_token_is_refused_for_good_and_a_new_sign_in_works(mock, mobile_app):
    """SMART/RFC 6749 §6: the refresh is answered `invalid_grant` (§5.2) and the token stays dead, while the code
    exchange (another grant type) and the access token are untouched."""
    app = App(mock, "smartplan", mobile_app("smartplan"))
    _set_faults(mock, "smartplan", token_error={"error": "invalid_grant", "grant_type": "refresh_token", "times": 1})
    tokens = app.exchange(app.sign_in()["code"]).json()
    expired = app.refresh(tokens["refresh_token"])
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
    assert app.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert app.read_patient(tokens).status_code == 200
    again = App(mock, "smartplan", app.client_id)
    renewed = again.refresh(again.exchange(again.sign_in()["code"]).json()["refresh_token"])
    assert renewed.status_code == 200, renewed.text


def test_a_client_removed_on_admin_stops_working_at_once(mock, mobile_app):
    """What a payer does when an app's registration is removed: its tokens and codes stop working, and
    registering the same id again does not bring them back."""
    app = App(mock, "demoplan", mobile_app("demoplan"))
    tokens = app.exchange(app.sign_in()["code"]).json()
    unused_code = App(mock, "demoplan", app.client_id).sign_in()["code"]
    assert requests.delete(f"{mock}/_admin/clients/demoplan/{app.client_id}", timeout=10).status_code == 204
    assert app.read_patient(tokens).status_code == 401
    assert app.refresh(tokens["refresh_token"]).json()["error"] == "invalid_client"
    mobile_app("demoplan", app.client_id)
    assert app.read_patient(tokens).status_code == 401
    assert app.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert app.exchange(unused_code).json()["error"] == "invalid_grant"


def test_the_error_page_for_an_unredirectable_authorize_error(mock, mobile_app):
    """RFC 6749 §4.1.2.1 first paragraph: a bad client or redirect URI is shown to the member, never redirected."""
    app = App(mock, "demoplan", mobile_app("demoplan"))
    _set_faults(mock, "demoplan", authorize_error={"error": "invalid_redirect_uri", "times": 1})
    page = requests.get(app.authorize_url(), allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "injected fault authorize_error" in page.text
    assert app.sign_in()["code"]
