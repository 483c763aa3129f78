"""Finding a plan from its FHIR base alone: smart-configuration (DS-1), metadata (DS-2), host routing."""

import requests
from fhirclient.models.capabilitystatement import CapabilityStatement

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def test_smart_configuration(payer):
    """DS-1."""
    response = requests.get(f"{payer.url}/demoplan/r4/.well-known/smart-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    assert config["authorization_endpoint"] == f"{payer.url}/oauth2/authorize/demoplan"
    assert config["token_endpoint"] == f"{payer.url}/demoplan/oauth2/token"
    assert config["revocation_endpoint"] == f"{payer.url}/demoplan/oauth2/revoke"
    assert config["introspection_endpoint"] == f"{payer.url}/demoplan/oauth2/introspect"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in config["grant_types_supported"]
    assert {"launch-standalone", "client-public", "client-confidential-symmetric", "context-standalone-patient",
            "permission-offline", "permission-patient", "permission-v1", "permission-v2",
            "sso-openid-connect"} <= set(config["capabilities"])
    # DS-1: with sso-openid-connect, `issuer` and `jwks_uri` are present; the issuer is the FHIR base.
    assert config["issuer"] == f"{payer.url}/demoplan/r4"
    assert config["jwks_uri"] == f"{payer.url}/demoplan/r4/.well-known/jwks.json"


def test_metadata_carries_the_oauth_uris(payer):
    """DS-2: fhirclient's strict R4 models accept it, and the endpoints are in rest.security."""
    response = requests.get(f"{payer.url}/smartplan/r4/metadata", headers={"Accept": "application/fhir+json"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    statement = response.json()
    CapabilityStatement(statement, strict=True)
    assert statement["fhirVersion"] == "4.0.1"
    [extension] = [e for e in statement["rest"][0]["security"]["extension"] if e["url"] == OAUTH_URIS]
    uris = {item["url"]: item["valueUri"] for item in extension["extension"]}
    assert uris["authorize"] == f"{payer.url}/oauth2/authorize/smartplan"
    assert uris["token"] == f"{payer.url}/smartplan/oauth2/token"


def test_unknown_plan_has_no_fhir_base(payer):
    assert requests.get(f"{payer.url}/nosuchplan/r4/metadata").status_code == 404


def test_seed_urls_work_by_host_name(payer):
    """Host routing: `api.<base_url>` serves `/r4`, `auth.<base_url>` serves `/oauth2`, links stay on those hosts."""
    port = payer.url.rsplit(":", 1)[1]
    api = {"Host": f"api.1updemohealthplan.com:{port}"}
    config = requests.get(f"{payer.url}/r4/.well-known/smart-configuration", headers=api).json()
    assert config["authorization_endpoint"] == f"http://auth.1updemohealthplan.com:{port}/oauth2/authorize/demoplan"
    assert config["token_endpoint"] == f"http://auth.1updemohealthplan.com:{port}/oauth2/token"
    code = payer.code()
    token = requests.post(f"{payer.url}/oauth2/token", headers={"Host": f"auth.1updemohealthplan.com:{port}"},
                          data={"client_id": "demo-confidential-app", "client_secret": "mock-secret-not-for-production",
                                "code": code, "grant_type": "authorization_code",
                                "redirect_uri": "http://127.0.0.1:8765/callback"})
    assert token.status_code == 200, token.text
    # A host name that is neither loopback nor a plan's is refused outright (DNS rebinding).
    assert requests.get(f"{payer.url}/r4/metadata", headers={"Host": "api.nosuchplan.example"}).status_code == 400


def test_a_loopback_mock_answers_only_loopback_and_plan_host_names(payer):
    port = payer.url.rsplit(":", 1)[1]
    url = f"{payer.url}/demoplan/r4/metadata"
    assert requests.get(url, headers={"Host": f"localhost:{port}"}).status_code == 200
    assert requests.get(url, headers={"Host": f"evil.example:{port}"}).status_code == 400


def test_global_token_endpoint_finds_the_plan_from_the_code(payer):
    code = payer.sign_in(payer.authorize_url(system_id="smartplan", client_id="smart-confidential-app",
                                             response_type="code", aud=f"{payer.url}/smartplan/r4",
                                             code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                             code_challenge_method="S256"),
                         "smart1", "pass-smart1")["code"]
    response = requests.post(f"{payer.url}/oauth2/token", auth=("smart-confidential-app", "mock-secret-not-for-production"),
                             data={"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "http://127.0.0.1:8765/callback",
                                   "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"})
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == "smartplan-m1"
