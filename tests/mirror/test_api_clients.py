"""Third-party FHIR clients, unmodified, read, search and page through `mirror serve`'s API (issue 6).

They come from PyPI and talk to a real loopback port: fhirpy (with and without the bearer token) and the SMART
Python fhirclient, whose strict R4 models parse the CapabilityStatement, the Bundles and every resource.

The store holds demoplan's member1 as a sync stores it (see stores.py).
"""

import json

import pytest
from fhirclient import client as smart_client
from fhirclient.models.explanationofbenefit import ExplanationOfBenefit
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import AuthorizationError, ResourceNotFound

from mirror.api import create_app
from mirror.http.wsgi_server import start_in_thread
from tests.mirror.stores import MEMBER1, fill, member_records, remove

TOKEN = "a-long-random-token-for-tests"


@pytest.fixture(scope="module")
def records():
    return member_records()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, records):
    folder = tmp_path_factory.mktemp("served")
    fill(folder, "demo", records.values())
    remove(folder, "demo", "AllergyIntolerance", *[i for t, i in records if t == "AllergyIntolerance"])
    return folder


@pytest.fixture(scope="module")
def served(data_dir):
    server = start_in_thread(create_app(data_dir))
    yield server.url
    server.stop()


def ids_of(records, resource_type):
    return {resource_id for kind, resource_id in records if kind == resource_type}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_fhirpy_reads_searches_and_pages(served, records, host):
    """fhirpy refuses next links on another host name; links follow the host the client used."""
    fhir = SyncFHIRClient(served.replace("127.0.0.1", host) + "/fhir")
    eobs = fhir.resources("ExplanationOfBenefit").search(patient=MEMBER1).limit(7).fetch_all()
    assert len(eobs) == len({eob.id for eob in eobs}) == len(ids_of(records, "ExplanationOfBenefit"))
    assert {eob.id for eob in eobs} == ids_of(records, "ExplanationOfBenefit")
    observations = list(fhir.resources("Observation").limit(9))
    assert {observation.id for observation in observations} == ids_of(records, "Observation")
    assert fhir.resources("Observation").count() == len(ids_of(records, "Observation"))
    patient = fhir.reference("Patient", MEMBER1).to_resource()
    assert patient.serialize() == json.loads(records[("Patient", MEMBER1)])
    newest = fhir.resources("ExplanationOfBenefit").sort("-_lastUpdated").first()
    assert newest.id in ids_of(records, "ExplanationOfBenefit")
    with pytest.raises(ResourceNotFound):
        fhir.reference("Patient", "nobody").to_resource()
    with pytest.raises(ResourceNotFound):  # removed: 410
        fhir.reference("AllergyIntolerance", sorted(ids_of(records, "AllergyIntolerance"))[0]).to_resource()


def test_fhirpy_with_the_bearer_token(data_dir, records):
    server = start_in_thread(create_app(data_dir, token=TOKEN))
    try:
        base = server.url + "/fhir"
        authorized = SyncFHIRClient(base, authorization=f"Bearer {TOKEN}")
        assert len(authorized.resources("Encounter").limit(4).fetch_all()) == len(ids_of(records, "Encounter"))
        with pytest.raises(AuthorizationError):
            SyncFHIRClient(base).resources("Encounter").fetch()
        with pytest.raises(AuthorizationError):
            SyncFHIRClient(base, authorization="Bearer wrong").reference("Patient", MEMBER1).to_resource()
    finally:
        server.stop()


def test_fhirclient_reads_the_capability_statement_and_pages_strictly(served, records):
    smart = smart_client.FHIRClient(settings={"app_id": "mirror-test", "api_base": served + "/fhir"})
    smart.prepare()
    assert smart.ready
    assert Patient.read(MEMBER1, smart.server).id == MEMBER1
    eobs = list(ExplanationOfBenefit.where({"patient": MEMBER1, "_count": "7"}).perform_resources_iter(smart.server))
    assert sorted(eob.id for eob in eobs) == sorted(ids_of(records, "ExplanationOfBenefit"))
    observations = list(Observation.where({"_count": "9", "_sort": "date"}).perform_resources_iter(smart.server))
    assert sorted(o.id for o in observations) == sorted(ids_of(records, "Observation"))
