"""A browser SMART app built on the SMART JavaScript client's browser build (npm `fhirclient`, unmodified), in
headless Chromium, against the mock's `smartplan`: the app and the mock are two origins on loopback, so every
fetch the client makes (discovery, token, FHIR) crosses origins and needs the mock's CORS answers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask, send_file

from mirror.http.wsgi_server import start_in_thread
from tests.smart_js.conftest import claim_ids

APP_PAGES = Path(__file__).parent / "app"
SCOPE = "launch/patient openid fhirUser patient/*.rs offline_access"


@pytest.fixture
def smart_app(fhirclient_js):
    """The app's own origin: its launch page, its `/callback` (the registered redirect path) and the client."""
    app = Flask(__name__)
    app.add_url_rule("/launch", "launch", lambda: send_file(APP_PAGES / "launch.html"))
    app.add_url_rule("/callback", "callback", lambda: send_file(APP_PAGES / "callback.html"))
    app.add_url_rule("/fhir-client.js", "client", lambda: send_file(fhirclient_js / "build" / "fhir-client.js"))
    server = start_in_thread(app)
    yield server.url
    server.stop()


def _launch(browser, app_url: str, iss: str, client_id: str):
    """Opens the app's launch page and answers the mock's sign-in pages as the member would."""
    page = browser.new_page()
    page.goto(f"{app_url}/launch?{urlencode({'iss': iss, 'client_id': client_id, 'scope': SCOPE})}")
    page.wait_for_function("window.smartResult !== undefined || document.querySelector('input[name=username]')")
    started = page.evaluate("window.smartResult")
    assert started is None, f"the app could not start its launch: {started}"
    page.fill("input[name=username]", "smart1")
    page.fill("input[name=password]", "pass-smart1")
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_function("window.smartResult !== undefined", timeout=30_000)
    return page, page.evaluate("window.smartResult")


def test_browser_app_signs_in_and_reads_every_claim_across_origins(browser, mock_payer, smart_app):
    """SMART App Launch 2.x standalone launch from a browser: discovery, authorize with PKCE S256
    (`pkceMode: "required"`), the code exchange and every page of a search, each a cross-origin fetch."""
    plan = mock_payer.plans["smartplan"]
    page, result = _launch(browser, smart_app, plan.fhir_base, "smart-public-app")

    assert "error" not in result, result["error"]
    assert result["patient"] == "smartplan-m1"
    expected = claim_ids(mock_payer, "smart1")
    assert len(expected) > 4, "the member needs more claims than one page of 4 for paging to be tested"
    assert sorted(result["claimIds"]) == expected
    assert page.url.startswith(f"{smart_app}/callback")
    page.close()


def test_browser_app_knows_its_user_from_the_id_token(browser, mock_payer, smart_app):
    """SMART App Launch 2.x `openid fhirUser`: the id_token names the member's Patient, which the client reads."""
    plan = mock_payer.plans["smartplan"]
    page, result = _launch(browser, smart_app, plan.fhir_base, "smart-public-app")

    assert "error" not in result, result["error"]
    assert result["fhirUser"] == "Patient/smartplan-m1"
    assert result["idToken"]["aud"] == "smart-public-app"
    assert set(SCOPE.split()) <= set(result["scope"].split())
    page.close()
