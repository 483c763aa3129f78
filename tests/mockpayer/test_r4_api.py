"""The plan's R4 API over real HTTP, on the CARIN Blue Button examples (issue 3)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from mockpayer.app import create_app
from mockpayer.clock import Clock
from mirror.http.wsgi_server import start_in_thread
from tests.example_data import example_folder
from tests.mockpayer.corpus import write_plan

CLIENT = ("corpus-app", "corpus-secret")
CALLBACK = "http://127.0.0.1:8765/callback"


class CorpusPayer:
    def __init__(self, url, clock, folder):
        self.url, self.clock, self.folder = url, clock, folder
        self.base = f"{url}/carin/r4"

    def token(self, username="p1", scope="patient/*.read launch/patient offline_access") -> str:
        authorize = (f"{self.url}/oauth2/authorize/carin?client_id={CLIENT[0]}&redirect_uri={CALLBACK}"
                     f"&scope={scope}&state=s")
        location = complete_mock_login(requests.Session(), authorize, username, "pw")
        code = parse_qs(urlsplit(location).query)["code"][0]
        response = requests.post(f"{self.url}/carin/oauth2/token", auth=CLIENT, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK})
        return response.json()["access_token"]

    def get(self, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else f"{self.base}/{path}"
        return requests.get(url, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def carin(tmp_path):
    source = example_folder("carin-bb-2.0.0")
    directory = sorted(example_folder("plan-net-1.1.0").glob("*.json"))
    write_plan(tmp_path, "carin", data=sorted(source.glob("*.json")), directory=directory, members=[
        {"username": "p1", "password": "pw", "patient": "Patient/Patient1"},
        {"username": "p2", "password": "pw", "patient": "Patient/Patient2"},
    ])
    clock = Clock()
    server = start_in_thread(create_app(tmp_path, clock=clock))
    yield CorpusPayer(server.url, clock, source)
    server.stop()


def _resource_file(carin, name):
    return (carin.folder / name).read_bytes().strip()


def test_read_returns_the_file_byte_for_byte(carin):
    token = carin.token()
    response = carin.get("ExplanationOfBenefit/EOBInpatient2", token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.content == _resource_file(carin, "ExplanationOfBenefit-EOBInpatient2.json")
    assert "Last-Modified" in response.headers


def test_other_members_records_are_404(carin):
    token = carin.token("p1")
    assert carin.get("ExplanationOfBenefit/EOBInpatient1", token).status_code == 404
    assert carin.get("Patient/Patient2", token).status_code == 404
    assert carin.get("Patient/Patient1", token).status_code == 200


def test_organizations_are_readable_only_when_the_members_records_name_them(carin):
    token = carin.token("p1")
    mine = {ref["reference"] for f in carin.folder.glob("ExplanationOfBenefit-*.json")
            for ref in _references(json.loads(f.read_text())) if json.loads(f.read_text())["patient"]["reference"] == "Patient/Patient1"}
    orgs = {ref.split("/")[1] for ref in mine if ref.startswith("Organization/")}
    all_orgs = {f.stem.split("-", 1)[1] for f in carin.folder.glob("Organization-*.json")}
    assert orgs and all_orgs - orgs
    for org in orgs:
        assert carin.get(f"Organization/{org}", token).status_code == 200
    for org in all_orgs - orgs:
        assert carin.get(f"Organization/{org}", token).status_code == 404


def _references(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield {"reference": value}
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


@pytest.mark.parametrize("patient", ["Patient1", "Patient/Patient1"])
def test_search_by_patient_in_both_forms(carin, patient):
    body = carin.get(f"ExplanationOfBenefit?patient={patient}", carin.token()).json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset" and body["total"] == 4
    assert {e["resource"]["patient"]["reference"] for e in body["entry"]} == {"Patient/Patient1"}


def test_search_for_another_patient_finds_nothing(carin):
    body = carin.get("ExplanationOfBenefit?patient=Patient2", carin.token("p1")).json()
    assert body["total"] == 0 and body["link"][0]["relation"] == "self"


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7])
def test_paging_walks_every_resource_once_with_absolute_links(carin, count):
    token = carin.token("p1")
    url, seen = f"{carin.base}/ExplanationOfBenefit?_count={count}", []
    while url:
        assert url.startswith(carin.base + "/")
        body = carin.get(url, token).json()
        assert body["total"] == 4
        seen += [entry["resource"]["id"] for entry in body["entry"]]
        url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
    assert len(seen) == 4 and len(set(seen)) == 4


def test_count_is_capped_and_defaults_to_ten(carin):
    token = carin.token("p2")
    body = carin.get("ExplanationOfBenefit?_count=500", token).json()
    assert len(body["entry"]) == body["total"]
    self_link = body["link"][0]["url"]
    assert "_count=100" in self_link


def test_links_follow_the_host_the_request_used(carin):
    port = carin.url.rsplit(":", 1)[1]
    body = carin.get(f"{carin.url}/r4/ExplanationOfBenefit?_count=2", carin.token(),
                     headers={"Host": f"api.carin.example:{port}"}).json()
    links = {link["relation"]: link["url"] for link in body["link"]}
    assert links["next"].startswith(f"http://api.carin.example:{port}/r4/ExplanationOfBenefit?")


def test_include_patient_and_provider(carin):
    body = carin.get("ExplanationOfBenefit?_id=EOBInpatient2&_include=ExplanationOfBenefit:patient"
                     "&_include=ExplanationOfBenefit:provider", carin.token()).json()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in body["entry"]}
    assert ("ExplanationOfBenefit", "match") in modes and ("Patient", "include") in modes
    assert body["total"] == 1


def test_scope_limits_types(carin):
    """BR-4: a Coverage-only token cannot read claims."""
    token = carin.token(scope="patient/Coverage.read")
    assert carin.get("Coverage?patient=Patient1", token).status_code == 200
    refused = carin.get("ExplanationOfBenefit/EOBInpatient2", token)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert refused.json()["resourceType"] == "OperationOutcome"


def test_no_token_bad_token_expired_token(carin):
    """BR-1, BR-2, TK-8."""
    none = carin.get("Patient/Patient1")
    assert none.status_code == 401
    assert none.headers["WWW-Authenticate"].startswith("Bearer realm=") and "error" not in none.headers["WWW-Authenticate"]
    bad = carin.get("Patient/Patient1", "not-a-token")
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    token = carin.token()
    carin.clock.advance(3601)
    assert carin.get("Patient/Patient1", token).status_code == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_405(carin, method):
    response = requests.request(method, f"{carin.base}/Patient/Patient1", json={"resourceType": "Patient"})
    assert response.status_code == 405 and response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("accept, status", [
    ("application/fhir+json", 200), ("application/json", 200), ("*/*", 200),
    ("application/fhir+xml", 406), ("application/xml", 406),
])
def test_content_negotiation(carin, accept, status):
    response = carin.get("Patient/Patient1", carin.token(), headers={"Accept": accept,
                                                                     "Content-Type": "multipart/form-data"})
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/fhir+json")


@pytest.mark.parametrize("path, status", [
    ("Patient/bad_id!", 400), ("NoSuchType/1", 404), ("Patient/Patient1/extra/parts", 404),
    ("ExplanationOfBenefit?_count=abc", 400), ("ExplanationOfBenefit?created=notadate", 400),
])
def test_errors_are_operation_outcomes(carin, path, status):
    response = carin.get(path, carin.token())
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_parameters_are_ignored_unless_strict(carin):
    token = carin.token()
    lenient = carin.get("ExplanationOfBenefit?foo=bar&_count=2", token).json()
    assert "foo" not in lenient["link"][0]["url"]
    strict = carin.get("ExplanationOfBenefit?foo=bar", token, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400


def test_everything_for_the_member(carin):
    token = carin.token("p1")
    body = carin.get("Patient/Patient1/$everything?_count=100", token).json()
    types = {e["resource"]["resourceType"] for e in body["entry"]}
    assert {"Patient", "ExplanationOfBenefit", "Coverage", "Organization", "Practitioner"} <= types
    assert not any(e["resource"].get("id") == "Patient2" for e in body["entry"])
    only_coverage = carin.get("Patient/Patient1/$everything?_type=Coverage", token).json()
    assert {e["resource"]["resourceType"] for e in only_coverage["entry"]} == {"Coverage"}
    since = carin.get("Patient/Patient1/$everything?_since=2021-01-01T00:00:00Z", token).json()
    assert {e["resource"]["id"] for e in since["entry"]} == {"EOBProfessionalTransportation1"}
    assert carin.get("Patient/Patient2/$everything", token).status_code == 404


def test_public_directory_needs_no_token(carin):
    base = f"{carin.url}/carin/directory/r4"
    body = requests.get(f"{base}/Organization?_count=3").json()
    assert body["total"] > 3 and any(link["relation"] == "next" for link in body["link"])
    first = body["entry"][0]["resource"]
    assert requests.get(f"{base}/Organization/{first['id']}").json() == first
    assert requests.get(f"{base}/Patient/Patient1").status_code == 404
    metadata = requests.get(f"{base}/metadata").json()
    assert "security" not in metadata["rest"][0]


def test_metadata_lists_what_is_served(carin):
    """DS-2."""
    statement = requests.get(f"{carin.base}/metadata").json()
    assert "http://hl7.org/fhir/us/carin-bb/CapabilityStatement/c4bb" in statement["instantiates"]
    resources = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
    assert {"ExplanationOfBenefit", "Coverage", "Patient", "Organization", "Practitioner"} <= set(resources)
    eob = resources["ExplanationOfBenefit"]
    assert {"patient", "_lastUpdated", "type", "service-date", "created", "identifier"} <= {
        p["name"] for p in eob["searchParam"]}
    assert any(profile.endswith("C4BB-ExplanationOfBenefit-Inpatient-Institutional")
               for profile in eob["supportedProfile"])
    assert resources["Patient"]["operation"][0]["name"] == "everything"


def test_fhirpy_pages_through_the_members_claims(carin):
    """The third-party client fhirpy, unmodified, with a token from the real flow."""
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(carin.base, authorization=f"Bearer {carin.token('p2')}")
    claims = client.resources("ExplanationOfBenefit").search(patient="Patient2").limit(2).fetch_all()
    assert len(claims) == 6 and len({claim.id for claim in claims}) == 6
    patient = client.reference("Patient", "Patient2").to_resource()
    assert patient["id"] == "Patient2"
