"""The third-party SMART client `fhirclient`, unmodified, finds and completes the flow from the FHIR base alone."""

import pytest
import requests
from fhirclient.client import FHIRClient
from joserfc import jwt
from joserfc.jwk import KeySet

from mirror.http.mock_login import complete_mock_login


@pytest.mark.parametrize("system_id, client_id, secret, member", [
    ("demoplan", "demo-confidential-app", "mock-secret-not-for-production", ("member1", "pass-member1")),
    ("smartplan", "smart-public-app", None, ("smart1", "pass-smart1")),
])
def test_fhirclient_authorizes_and_refreshes(payer, system_id, client_id, secret, member):
    settings = {
        "app_id": client_id,
        "api_base": f"{payer.url}/{system_id}/r4",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "scope": "launch/patient patient/*.read offline_access",
    }
    if secret:
        settings["app_secret"] = secret
    client = FHIRClient(settings=settings)
    client.prepare()
    authorize_url = client.authorize_url
    assert authorize_url.startswith(f"{payer.url}/oauth2/authorize/{system_id}?")
    location = complete_mock_login(requests.Session(), authorize_url, *member)
    client.handle_callback(location)
    assert client.ready
    assert client.patient_id == f"{system_id}-m1"
    first_token = client.server.auth.access_token
    assert client.reauthorize()
    assert client.server.auth.access_token != first_token


def test_fhirclient_receives_a_verifiable_id_token(payer):
    """SMART `sso-openid-connect` through `fhirclient`: it keeps the id_token in its launch context (it reads no
    claims itself); the token verifies against the `jwks_uri` of the plan's smart-configuration, its `fhirUser`
    reads as the member's Patient through fhirclient, and a refresh brings a new one."""
    settings = {
        "app_id": "smart-public-app",
        "api_base": f"{payer.url}/smartplan/r4",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "scope": "launch/patient openid fhirUser patient/*.read offline_access",
    }
    client = FHIRClient(settings=settings)
    client.prepare()
    client.handle_callback(complete_mock_login(requests.Session(), client.authorize_url, "smart1", "pass-smart1"))
    config = requests.get(f"{payer.url}/smartplan/r4/.well-known/smart-configuration", timeout=10).json()
    key_set = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    claims = jwt.decode(client.launch_context["id_token"], key_set, algorithms=["RS256"]).claims
    assert claims["iss"] == config["issuer"] and claims["aud"] == "smart-public-app"
    fhir_user = claims["fhirUser"]
    assert fhir_user.startswith(settings["api_base"] + "/")
    patient = client.server.request_json(fhir_user.removeprefix(settings["api_base"] + "/"))
    assert (patient["resourceType"], patient["id"]) == ("Patient", client.patient_id)
    first = client.launch_context["id_token"]
    assert client.reauthorize()
    assert client.launch_context["id_token"] != first
    assert jwt.decode(client.launch_context["id_token"], key_set, algorithms=["RS256"]).claims["sub"] == claims["sub"]
