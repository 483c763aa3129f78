"""The third-party SMART client `fhirclient`, unmodified, finds and completes the flow from the FHIR base alone."""

import pytest
import requests
from fhirclient.client import FHIRClient

from mirror.mock_login import complete_mock_login


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
