"""A demo member signs in, gets a token and pages through all their claims: with requests, then with fhirpy;
and the seed's three steps exactly as 1upHealth documents them."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from fhirpy import SyncFHIRClient

from mirror.http.mock_login import complete_mock_login
from tests.mockpayer.driver import CALLBACK

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


def test_the_seeds_three_steps_verbatim_in_1up_mode(payer):
    """1upHealth's documented flow, field for field, on the plan's own host names: (1) the authorize URL with
    `client_id`, `redirect_uri`, `scope=user/*.read` and `state` only; (2) the code exchange with `client_id`,
    `client_secret`, `code` and `grant_type` only; (3) a read with `Authorization: Bearer`."""
    port = payer.url.rsplit(":", 1)[1]
    auth, api = f"auth.1updemohealthplan.com:{port}", f"api.1updemohealthplan.com:{port}"
    browser = requests.Session()
    browser.headers["Host"] = auth
    query = urlencode({"client_id": "demo-confidential-app", "redirect_uri": CALLBACK, "scope": "user/*.read",
                       "state": "seed-state"})
    location = complete_mock_login(browser, f"{payer.url}/oauth2/authorize/demoplan?{query}", "member1", "pass-member1")
    answer = parse_qs(urlsplit(location).query)
    assert location.startswith(CALLBACK) and answer["state"] == ["seed-state"]

    exchange = requests.post(f"{payer.url}/oauth2/token", headers={"Host": auth}, timeout=10, data={
        "client_id": "demo-confidential-app", "client_secret": "mock-secret-not-for-production",
        "code": answer["code"][0], "grant_type": "authorization_code"})
    assert exchange.status_code == 200, exchange.text
    tokens = exchange.json()
    assert tokens["scope"] == "user/*.read" and tokens["patient"] == "demoplan-m1"

    patient = requests.get(f"{payer.url}/r4/Patient/{tokens['patient']}", timeout=10,
                           headers={"Host": api, "Authorization": f"Bearer {tokens['access_token']}"})
    assert patient.status_code == 200
    assert patient.json()["id"] == "demoplan-m1"
