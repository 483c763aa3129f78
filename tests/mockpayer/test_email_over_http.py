"""An emailed sign-in code read from `GET /_admin/outbox` signs a member in, against `mockpayer serve` run as a
command, with nothing but HTTP requests and a cookie jar: what a test suite in any language can do."""

import re
import subprocess
import sys
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.mockpayer.bluebutton.test_serve import _answer
from tests.mockpayer.test_cli import _free_port

CALLBACK = "http://127.0.0.1:8765/callback"
CLIENT = {"client_id": "demo-confidential-app", "client_secret": "mock-secret-not-for-production"}


def _serve() -> tuple[str, subprocess.Popen]:
    """`mockpayer serve --plan demoplan` on a free loopback port: its root URL and process."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--plan", "demoplan", "--port",
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return f"http://127.0.0.1:{port}", process


def _form(page: requests.Response, **fields) -> dict:
    """The page's CSRF token, as a script reads it from the HTML, and the step's fields."""
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1], **fields}


def test_an_emailed_code_from_the_outbox_signs_a_member_in_over_plain_http():
    root, process = _serve()
    try:
        assert _answer(f"{root}/demoplan/r4/metadata").status_code == 200
        _sign_in_with_the_emailed_code(root)
    finally:
        process.terminate()
        printed, _ = process.communicate(timeout=10)
    assert "member:     member3 / pass-member3 (a code emailed to member3@example.org, read at GET /_admin/outbox)" \
        in printed


def _sign_in_with_the_emailed_code(root: str) -> None:
    browser = requests.Session()
    authorize = f"{root}/oauth2/authorize/demoplan?" + urlencode(
        {"client_id": CLIENT["client_id"], "redirect_uri": CALLBACK, "scope": "patient/*.read offline_access",
         "state": "xyz"})
    login_page = browser.get(authorize, timeout=10)
    email_page = browser.post(authorize, data=_form(login_page, step="login", username="member3",
                                                    password="pass-member3"), timeout=10)
    assert email_page.status_code == 200 and 'name="step" value="email"' in email_page.text

    outbox = requests.get(f"{root}/_admin/outbox", params={"system_id": "demoplan"}, timeout=10)
    assert outbox.status_code == 200 and outbox.headers["Content-Type"] == "application/json"
    [message] = outbox.json()["demoplan"]
    assert (message["to"], message["member"]) == ("member3@example.org", "member3")
    assert set(message) == {"member", "to", "subject", "body", "code", "sent_at"}

    consent_page = browser.post(authorize, data=_form(email_page, step="email", code=message["code"]), timeout=10)
    assert 'name="step" value="consent"' in consent_page.text
    redirect = browser.post(authorize, data=_form(consent_page, step="consent", share="patient/*.read",
                                                  decision="allow"), allow_redirects=False, timeout=10)
    assert redirect.status_code == 303
    answer = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert answer["state"] == ["xyz"]
    token = requests.post(f"{root}/oauth2/token", data={**CLIENT, "grant_type": "authorization_code",
                                                        "code": answer["code"][0], "redirect_uri": CALLBACK},
                          timeout=10)
    assert token.status_code == 200, token.text
    assert token.json()["patient"] == "demoplan-m3"
    patient = requests.get(f"{root}/demoplan/r4/Patient/demoplan-m3",
                           headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10)
    assert patient.status_code == 200

    replay = requests.Session()
    second_login = replay.get(authorize, timeout=10)
    second_email = replay.post(authorize, data=_form(second_login, step="login", username="member3",
                                                     password="pass-member3"), timeout=10)
    refused = replay.post(authorize, data=_form(second_email, step="email", code=message["code"]), timeout=10)
    assert refused.status_code == 401  # single use: the first sign-in's code does not finish another

    assert requests.post(f"{root}/_admin/reset", json={"system_id": "demoplan"}, timeout=10).status_code == 200
    assert requests.get(f"{root}/_admin/outbox", timeout=10).json() == {"demoplan": []}

