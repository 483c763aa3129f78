"""Plays an app written for Blue Button, and the beneficiary's browser, against a running mock, over real HTTP:
PKCE as CMS's Python SDK makes it (padded), token requests as multipart forms, as the SDK sends them."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from mirror.http.mock_login import complete_mock_login
from tests.mockpayer.bluebutton.plan import BENEFICIARY, CALLBACK, CONFIDENTIAL

TIMEOUT = 10


def sdk_pkce() -> tuple[str, str]:
    """(verifier, challenge) as cms-bluebutton-sdk 1.1.0 makes them: the verifier is padded base64url of 32 random
    printable characters, punctuation included; the challenge the padded base64url of its SHA-256."""
    printable = "".join(secrets.choice(string.ascii_letters + string.digits + string.punctuation) for _ in range(32))
    verifier = base64.urlsafe_b64encode(printable.encode()).decode()
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()


def multipart(fields: dict) -> dict:
    """`requests` sends `files` as multipart/form-data; a (None, value) file is a plain field."""
    return {name: (None, value) for name, value in fields.items()}


class BlueButtonDriver:
    def __init__(self, url: str, clock, prefix: str = ""):
        self.url = url
        self.clock = clock
        self.root = f"{url}{prefix}/v2"

    def authorize_url(self, **params) -> str:
        query = {"client_id": CONFIDENTIAL[0], "redirect_uri": CALLBACK, "response_type": "code",
                 "state": "state-123", "code_challenge_method": "S256"}
        query.update(params)
        return f"{self.root}/o/authorize/?{urlencode({k: v for k, v in query.items() if v is not None})}"

    def sign_in(self, url: str, member=BENEFICIARY, **choices) -> dict:
        """Completes the pages; returns the redirect's query parameters (single values)."""
        location = complete_mock_login(requests.Session(), url, member[0], member[1], timeout=TIMEOUT, **choices)
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}

    def token(self, fields: dict, auth=None) -> requests.Response:
        return requests.post(f"{self.root}/o/token/", files=multipart(fields), auth=auth, timeout=TIMEOUT)

    def tokens(self, member=BENEFICIARY, scope: str | None = None, client=CONFIDENTIAL, **choices) -> dict:
        """Signs in with the SDK's PKCE and exchanges the code as the SDK does (secret in the multipart body)."""
        verifier, challenge = sdk_pkce()
        client_id = client if isinstance(client, str) else client[0]
        answer = self.sign_in(self.authorize_url(client_id=client_id, scope=scope, code_challenge=challenge),
                              member, **choices)
        fields = {"client_id": client_id, "code": answer["code"], "grant_type": "authorization_code",
                  "redirect_uri": CALLBACK, "code_verifier": verifier}
        if not isinstance(client, str):
            fields["client_secret"] = client[1]
        response = self.token(fields)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str, token: str | None = None, **params) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.root}/{path}", params=params, headers=headers, timeout=TIMEOUT)

    def pages(self, path: str, token: str, **params) -> list[dict]:
        """Every page of a search, following `next` as given."""
        pages = [self.get(path, token, **params).json()]
        while (url := link(pages[-1], "next")) is not None:
            response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
            assert response.status_code == 200, response.text
            pages.append(response.json())
        return pages


def link(bundle: dict, relation: str) -> str | None:
    return next((entry["url"] for entry in bundle["link"] if entry["relation"] == relation), None)


def entry_ids(bundle: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def assert_detail(response: requests.Response, status: int, detail: str) -> None:
    """Blue Button's error body: `{"detail": ...}` with the status (Django REST framework's shape)."""
    assert response.status_code == status, response.text
    assert response.json() == {"detail": detail}
