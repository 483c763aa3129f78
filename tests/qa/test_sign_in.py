"""QA: signing in to each kind of plan with the plugin's `login`, and reading with the tokens it returns."""

import requests
from joserfc import jwt
from joserfc.jwk import KeySet


def test_a_member_signs_in_and_reads_only_their_own_claims(mock_payer):
    demo = mock_payer.plans["demoplan"]
    tokens = mock_payer.login("member1")
    assert tokens.patient == "demoplan-m1" and tokens.refresh_token and "patient/*.read" in tokens.scope
    patient = requests.get(f"{demo.fhir_base}/Patient/{tokens.patient}", headers=tokens.headers, timeout=10)
    assert patient.status_code == 200 and patient.json()["id"] == "demoplan-m1"
    url, claims = f"{demo.fhir_base}/ExplanationOfBenefit?_count=7", []
    while url:
        page = requests.get(url, headers=tokens.headers, timeout=10).json()
        claims += [entry["resource"] for entry in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    expected = {key for key in mock_payer.records("member1") if key.startswith("ExplanationOfBenefit/")}
    assert {f"ExplanationOfBenefit/{claim['id']}" for claim in claims} == expected
    assert {claim["patient"]["reference"] for claim in claims} == {"Patient/demoplan-m1"}
    other = requests.get(f"{demo.fhir_base}/Patient/demoplan-m2", headers=tokens.headers, timeout=10)
    assert other.status_code == 404


def test_a_public_client_signs_in_with_pkce_and_no_secret(mock_payer):
    assert mock_payer.plans["demoplan"].clients["demo-public-app"].client_secret is None
    tokens = mock_payer.login("member1", client="demo-public-app")
    assert tokens.patient == "demoplan-m1"


def test_a_member_with_mfa_and_a_strict_smart_plan(mock_payer):
    assert mock_payer.plans["demoplan"].members["member2"].mfa  # the plugin answers the MFA page with it
    assert mock_payer.login("member2").patient == "demoplan-m2"
    smart = mock_payer.plans["smartplan"]
    tokens = mock_payer.login("smart1", "patient/*.read launch/patient", client="smart-public-app")
    assert tokens.refresh_token is None  # no offline_access asked for
    assert requests.get(f"{smart.fhir_base}/Coverage", headers=tokens.headers, timeout=10).status_code == 200


def test_discovery_publishes_the_urls_the_plugin_gives(mock_payer):
    demo = mock_payer.plans["demoplan"]
    smart = requests.get(f"{demo.fhir_base}/.well-known/smart-configuration", timeout=10).json()
    assert (smart["authorization_endpoint"], smart["token_endpoint"]) == (demo.authorize_url, demo.token_url)
    assert requests.get(f"{demo.directory_base}/InsurancePlan", timeout=10).status_code == 200


def test_an_openid_sign_in_gives_an_id_token_that_verifies(mock_payer):
    """The plugin's `Tokens.id_token`: signed by the plan's key at `jwks_uri`, naming the member's Patient."""
    smart = mock_payer.plans["smartplan"]
    tokens = mock_payer.login("smart1", "launch/patient openid fhirUser patient/*.read", client="smart-public-app")
    config = requests.get(f"{smart.fhir_base}/.well-known/openid-configuration", timeout=10).json()
    key_set = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    claims = jwt.decode(tokens.id_token, key_set, algorithms=["RS256"]).claims
    assert claims["iss"] == config["issuer"] == smart.fhir_base
    assert claims["fhirUser"] == f"{smart.fhir_base}/Patient/{tokens.patient}"
    assert mock_payer.login("smart1", client="smart-public-app").id_token is None
