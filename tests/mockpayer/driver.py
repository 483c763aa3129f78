"""A driver that plays the app and the member's browser against a running mock payer, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from mirror.http.mock_login import complete_mock_login
from mockpayer.clock import Clock

DEMO_CONFIDENTIAL = ("demo-confidential-app", "mock-secret-not-for-production")
DEMO_PUBLIC = "demo-public-app"
CALLBACK = "http://127.0.0.1:8765/callback"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class PayerDriver:
    """Plays the app and the member's browser against one running mock."""

    def __init__(self, url: str, app, clock: Clock):
        self.url = url
        self.app = app
        self.clock = clock
        self.browser = requests.Session()

    def authorize_url(self, system_id="demoplan", **params) -> str:
        query = {"client_id": DEMO_CONFIDENTIAL[0], "redirect_uri": CALLBACK,
                 "scope": "patient/*.read launch/patient offline_access", "state": "state-123"}
        query.update(params)
        query = {key: value for key, value in query.items() if value is not None}
        return f"{self.url}/oauth2/authorize/{system_id}?{urlencode(query)}"

    def sign_in(self, url: str, username="member1", password="pass-member1", mfa_code=None, allow=True) -> dict:
        """Completes the pages and returns the redirect's query parameters (single values)."""
        location = complete_mock_login(requests.Session(), url, username, password, mfa_code=mfa_code, allow=allow)
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}

    def code(self, **params) -> str:
        return self.sign_in(self.authorize_url(**params))["code"]

    def token(self, data: dict, auth=None, path="/oauth2/token", **kwargs) -> requests.Response:
        return requests.post(self.url + path, data=data, auth=auth, timeout=10, **kwargs)

    def refresh(self, refresh_token: str, auth=DEMO_CONFIDENTIAL, **extra) -> requests.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}, auth=auth)

    def exchange(self, code: str, client=DEMO_CONFIDENTIAL, redirect_uri=CALLBACK, **extra) -> requests.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": client if isinstance(client, str) else client[0], **extra}
        if not isinstance(client, str):
            data["client_secret"] = client[1]
        return self.token(data)

    def tokens(self, **params) -> dict:
        response = self.exchange(self.code(**params))
        assert response.status_code == 200, response.text
        return response.json()

    def public_tokens(self, scope="patient/*.read offline_access") -> dict:
        verifier = secrets.token_urlsafe(48)
        code = self.code(client_id=DEMO_PUBLIC, scope=scope, code_challenge=s256(verifier), code_challenge_method="S256")
        response = self.exchange(code, client=DEMO_PUBLIC, code_verifier=verifier)
        assert response.status_code == 200, response.text
        return response.json()

    def introspect(self, token: str, client=DEMO_CONFIDENTIAL) -> dict:
        response = requests.post(f"{self.url}/oauth2/introspect", data={"token": token}, auth=client, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    """TK-6: RFC 6749 error JSON with the expected code and status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description", "error_uri", "state"}
