"""A demo member signs in, gets a token and pages through all their claims: with requests, then with fhirpy."""

import json
from pathlib import Path

import requests
from fhirpy import SyncFHIRClient

DEMO_DATA = Path(__file__).resolve().parents[2] / "fixtures" / "plans" / "demoplan" / "data"


def _members_claim_ids(patient: str) -> set[str]:
    bundle = json.loads((DEMO_DATA / "member-1.json").read_text())
    return {entry["resource"]["id"] for entry in bundle["entry"]
            if entry["resource"]["resourceType"] == "ExplanationOfBenefit"
            and entry["resource"]["patient"]["reference"] == f"Patient/{patient}"}


def test_member_pages_through_every_claim_with_requests(payer):
    token = payer.tokens()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url, seen, pages = f"{payer.url}/demoplan/r4/ExplanationOfBenefit?patient=demoplan-m1", [], 0
    while url:
        response = session.get(url, timeout=10)
        assert response.status_code == 200
        page = response.json()
        seen += [entry["resource"]["id"] for entry in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        pages += 1
    assert pages >= 2  # the default page size is 10
    assert len(seen) == len(set(seen)) and set(seen) == _members_claim_ids("demoplan-m1")


def test_member_pages_through_every_claim_with_fhirpy(payer):
    client = SyncFHIRClient(f"{payer.url}/demoplan/r4", authorization=f"Bearer {payer.tokens()['access_token']}")
    claims = client.resources("ExplanationOfBenefit").search(patient="demoplan-m1").fetch_all()
    assert {claim.id for claim in claims} == _members_claim_ids("demoplan-m1")
    coverage = client.resources("Coverage").search(beneficiary="Patient/demoplan-m1").first()
    assert coverage["beneficiary"]["reference"] == "Patient/demoplan-m1"
    assert client.resources("ExplanationOfBenefit").search(patient="demoplan-m2").count() == 0


def test_member_reads_their_clinical_records(payer):
    headers = {"Authorization": f"Bearer {payer.tokens()['access_token']}"}
    for resource_type in ("Condition", "Observation", "AllergyIntolerance", "MedicationRequest", "Encounter"):
        body = requests.get(f"{payer.url}/demoplan/r4/{resource_type}?patient=demoplan-m1", headers=headers).json()
        assert body["total"] > 0, resource_type
