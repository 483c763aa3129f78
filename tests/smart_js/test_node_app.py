"""A server-side SMART app on the SMART JavaScript client's node build (npm `fhirclient`, unmodified) against the
mock's `smartplan`: standalone launch with PKCE, every page of a search, and a refresh by a public client that
sends no `client_id` (the node build's default)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from tests.conftest import needs_in_ci
from tests.smart_js.conftest import claim_ids

NODE_APP = Path(__file__).parent / "node_app.js"
SCOPE = "launch/patient openid fhirUser patient/*.rs offline_access"


@pytest.fixture
def node_app(fhirclient_js):
    node = shutil.which("node")
    if node is None:
        needs_in_ci("Node.js", "install it to run the SMART JavaScript client's tests")
    process = subprocess.Popen([node, str(NODE_APP)], stdout=subprocess.PIPE, text=True)
    try:
        port = json.loads(process.stdout.readline())["port"]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(10)


def test_node_app_signs_in_pages_and_refreshes(mock_payer, node_app):
    plan = mock_payer.plans["smartplan"]
    launch = requests.get(f"{node_app}/launch?" + urlencode(
        {"iss": plan.fhir_base, "client_id": "smart-public-app", "scope": SCOPE}), allow_redirects=False, timeout=30)
    assert launch.status_code in (302, 303), launch.text
    callback = complete_mock_login(requests.Session(), launch.headers["Location"], "smart1", "pass-smart1")
    result = requests.get(callback, timeout=60).json()

    assert "error" not in result, result["error"]
    assert result["patient"] == "smartplan-m1"
    expected = claim_ids(mock_payer, "smart1")
    assert sorted(result["claimIds"]) == expected
    assert result["fhirUser"] == "Patient/smartplan-m1"
    assert result["refreshed"] is True
