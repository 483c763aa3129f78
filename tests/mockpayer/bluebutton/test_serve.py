"""`mockpayer serve --plan ID` as a user runs it, and the `mock_payer` pytest fixture, with a Blue Button plan."""

import subprocess
import sys
import time

import pytest
import requests

from tests.mockpayer.bluebutton.plan import BENEFICIARY, SYSTEM_ID, claim_ids
from tests.mockpayer.test_cli import _free_port


def _serve(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _answer(url: str) -> requests.Response:
    for _ in range(100):
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_a_bluebutton_plan_served_alone_answers_at_the_root(bluebutton_plans):
    """`serve --plan ID`: the plan alone, so CMS's SDK finds Blue Button's paths at the root (its LOCAL
    environment is `http://localhost:8000`)."""
    port = _free_port()
    process = _serve("--fixtures", str(bluebutton_plans), "--plan", SYSTEM_ID, "--port", str(port))
    try:
        config = _answer(f"http://localhost:{port}/v2/fhir/.well-known/smart-configuration")
        assert config.status_code == 200
        assert config.json()["token_endpoint"] == f"http://localhost:{port}/v2/o/token/"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"FHIR base:  http://127.0.0.1:{port}/v2/fhir" in output
    assert f"{BENEFICIARY[0]} / {BENEFICIARY[1]}" in output


def test_serve_plan_serves_only_the_plans_named():
    port = _free_port()
    process = _serve("--plan", "smartplan", "--port", str(port))
    try:
        assert _answer(f"http://127.0.0.1:{port}/smartplan/r4/metadata").status_code == 200
        assert requests.get(f"http://127.0.0.1:{port}/demoplan/r4/metadata", timeout=5).status_code == 404
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_serve_plan_names_an_unknown_plan_in_one_line(bluebutton_plans):
    result = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--fixtures", str(bluebutton_plans),
                             "--plan", "nosuchplan"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"mockpayer: {bluebutton_plans}: no plan 'nosuchplan' (plans: {SYSTEM_ID})\n"


@pytest.fixture
def mock_payer_fixtures(bluebutton_plans):
    return bluebutton_plans


def test_the_mock_payer_fixture_signs_in_to_a_bluebutton_plan(mock_payer):
    """The pytest plugin describes a Blue Button plan by its `/v2` URLs and signs in with Blue Button's scopes."""
    info = mock_payer.plans[SYSTEM_ID]
    assert info.fhir_base == f"{mock_payer.url}/{SYSTEM_ID}/v2/fhir"
    assert info.introspect_url == f"{mock_payer.url}/{SYSTEM_ID}/v2/o/introspect/"
    tokens = mock_payer.login(BENEFICIARY[0])
    assert tokens.patient == BENEFICIARY[2] and "patient/ExplanationOfBenefit.read" in tokens.scope
    bundle = requests.get(f"{info.fhir_base}/ExplanationOfBenefit/", headers=tokens.headers, timeout=10).json()
    assert bundle["total"] == len(claim_ids())
    refreshed = mock_payer.refresh(tokens)
    assert refreshed.access_token != tokens.access_token
