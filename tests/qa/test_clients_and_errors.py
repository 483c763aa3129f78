"""QA through the `mock_payer` fixture: an app's own client registered for one test, and the OAuth endpoints
refusing once, as a test of the app's error handling needs them to."""

import pytest
import requests

from mockpayer.pytest_plugin import MockPayerError


def test_a_registered_mobile_app_signs_in_with_its_custom_scheme(mock_payer):
    """RFC 8252 §7.1: the redirect to `com.example.app:/callback` carries the code; `login` exchanges it."""
    client = mock_payer.register_client("smartplan", "mobile-app", ["com.example.app:/callback"], name="Mobile")
    assert client.is_public and mock_payer.plans["smartplan"].clients["mobile-app"] == client
    grant = mock_payer.authorize("smart1", client="mobile-app")
    assert grant.redirect_uri == "com.example.app:/callback"
    tokens = mock_payer.exchange(grant)
    patient = requests.get(f"{mock_payer.plans['smartplan'].fhir_base}/Patient/{tokens.patient}",
                           headers=tokens.headers, timeout=10)
    assert patient.status_code == 200


def test_a_registered_confidential_client_and_its_scopes(mock_payer):
    mock_payer.register_client("demoplan", "partner-app", ["https://partner.example/oauth/callback"],
                               client_secret="partner-secret", scopes="patient/Coverage.read launch/patient")
    tokens = mock_payer.login("member1", "patient/*.read launch/patient", client="partner-app")
    assert tokens.scope == "launch/patient"  # patient/*.read is more than the app registered for
    tokens = mock_payer.login("member1", "patient/Coverage.read launch/patient", client="partner-app")
    assert tokens.scope == "patient/Coverage.read launch/patient"


def test_an_unregistered_client_cannot_sign_in_and_its_tokens_stop(mock_payer):
    mock_payer.register_client("demoplan", "short-lived", ["http://127.0.0.1/callback"])
    tokens = mock_payer.login("member1", client="short-lived")
    mock_payer.unregister_client("demoplan", "short-lived")
    assert "short-lived" not in mock_payer.plans["demoplan"].clients
    fhir_base = mock_payer.plans["demoplan"].fhir_base
    assert requests.get(f"{fhir_base}/Patient/{tokens.patient}", headers=tokens.headers, timeout=10).status_code == 401
    with pytest.raises(MockPayerError, match="404"):
        mock_payer.unregister_client("demoplan", "short-lived")


def test_registering_a_taken_client_id_raises_with_the_mocks_answer(mock_payer):
    with pytest.raises(MockPayerError, match="409.*already has a client"):
        mock_payer.register_client("demoplan", "demo-public-app", ["http://127.0.0.1/callback"])
    with pytest.raises(MockPayerError, match="400.*has a fragment"):
        mock_payer.register_client("demoplan", "fragment-app", ["https://app.example/cb#x"])


def test_one_authorize_error_then_a_sign_in(mock_payer):
    mock_payer.faults("demoplan", authorize_error={"error": "access_denied", "times": 1})
    with pytest.raises(MockPayerError, match="access_denied"):
        mock_payer.login("member1")
    assert mock_payer.login("member1").patient == "demoplan-m1"


def test_an_expired_refresh_token_through_the_fixture(mock_payer):
    mock_payer.faults("demoplan", token_error={"error": "invalid_grant", "grant_type": "refresh_token", "times": 1})
    tokens = mock_payer.login("member1")
    with pytest.raises(MockPayerError, match="invalid_grant"):
        mock_payer.refresh(tokens)
    with pytest.raises(MockPayerError, match="invalid_grant"):
        mock_payer.refresh(tokens)  # for good: the app has to sign the member in again
    assert mock_payer.refresh(mock_payer.login("member1")).access_token
    assert mock_payer.fault_report()["demoplan"]["hits"] == {"token_error": 1}
