"""A Provenance about a member's record and a Group listing the member, end to end (issue 23, item 5): PDex-shaped
data served by the real mock, synced by `mirror sync`, and read from the mirror's FHIR API (`mirror serve`) as
the mock serves them to the member: reads byte for byte, searches, and `$everything` (R4 Patient compartment,
Group.member; compartment.ABOUT_ANOTHER_RECORD for Provenance.target, one table for both servers)."""

import pytest
import requests

from mirror.api import create_app as mirror_app
from mirror.cli import main
from mirror.http.wsgi_server import start_in_thread
from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, mock_endpoints
from mockpayer.app import create_app as mock_app
from tests.mirror.stores import fill
from tests.mockpayer.test_loading import (
    CLIENT,
    ENCOUNTER,
    GROUP,
    OTHER_ENCOUNTER,
    OTHER_PATIENT,
    OTHER_PROVENANCE,
    PATIENT,
    PROVENANCE,
    Member,
    transaction_response,
    write_plan,
)

SEARCHES = ["Provenance", "Provenance?target=Encounter/enc-6", "Provenance?patient=pdex-1", "Group",
            "Group?_id=attributed", "Patient/pdex-1/$everything"]


def ids(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
                  for entry in answer.json().get("entry", []))


@pytest.fixture
def mock(tmp_path):
    write_plan(tmp_path / "plans", {"pdex.json": transaction_response(
        PATIENT, OTHER_PATIENT, ENCOUNTER, OTHER_ENCOUNTER, PROVENANCE, OTHER_PROVENANCE, GROUP)})
    app = mock_app(tmp_path / "plans")
    server = start_in_thread(app)
    server.records = app.extensions["mockpayer"].resources["pdex"].data
    yield server
    server.stop()


@pytest.fixture
def mirror(mock, tmp_path, capsys):
    """Member m1 connected and synced by `mirror sync` ($everything), the store served as `mirror serve` does."""
    data_dir = tmp_path / "mirror-data"
    plan = PlanConfig("pdex", mock_endpoints(mock.url, "pdex"), CLIENT[0], auth_method="client_secret_post",
                      client_secret=CLIENT[1])
    connect(plan, data_dir, port=8765, mock_login=MockLogin("m1", "pw"), show=lambda line: None)
    assert main(["--data-dir", str(data_dir), "sync"]) == 0, capsys.readouterr()
    server = start_in_thread(mirror_app(data_dir))
    yield server.url + "/fhir"
    server.stop()


def test_the_mirror_serves_a_members_provenance_and_group_as_the_mock_does(mock, mirror):
    """Provenance whose target is the member's Encounter and the Group listing them: read byte for byte as the
    plan sent them; every search, `$everything` included, finds what the mock finds for the member."""
    for key in (("Provenance", "1000002"), ("Group", "attributed")):
        read = requests.get(f"{mirror}/{key[0]}/{key[1]}", timeout=10)
        assert read.status_code == 200 and read.text == mock.records.resources[key].text
    member = Member(mock.url, "m1")
    for search in SEARCHES:
        assert ids(requests.get(f"{mirror}/{search}", timeout=10)) == ids(member.get(search)), search
    everything = ids(requests.get(f"{mirror}/Patient/pdex-1/$everything", timeout=10))
    assert {"Provenance/1000002", "Group/attributed"} <= set(everything)
    assert requests.get(f"{mirror}/Provenance/1000003", timeout=10).status_code == 404  # never the member's


def test_everything_on_the_mirror_leaves_out_provenance_about_another_patients_records(tmp_path):
    """A store holding two patients' records (a plan that sends a family's): Patient $everything takes a
    Provenance by what its target is, never another patient's, as the mock's compartment rule does."""
    fill(tmp_path, "family", [PATIENT, OTHER_PATIENT, ENCOUNTER, OTHER_ENCOUNTER, PROVENANCE, OTHER_PROVENANCE, GROUP])
    client = mirror_app(tmp_path).test_client()
    for patient, provenance, groups in (("pdex-1", "Provenance/1000002", ["Group/attributed"]),
                                        ("pdex-2", "Provenance/1000003", [])):
        answer = client.get(f"/fhir/Patient/{patient}/$everything")
        found = sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in answer.get_json()["entry"])
        assert provenance in found and [key for key in found if key.startswith("Group/")] == groups
        assert [key for key in found if key.startswith("Provenance/")] == [provenance]


@pytest.mark.parametrize("full", [False, True])
def test_searches_by_type_remove_no_provenance_or_group_they_cannot_list(mock, mirror, tmp_path, capsys, full):
    """R4: `Provenance?patient=` finds Provenance whose target is the Patient itself, and Group has no patient search,
    so after a `$everything` sync, a sync by type (plain, or --full) leaves the Provenance about the member's
    Encounter and the Group listing them held, not removed: they are still served."""
    data_dir = tmp_path / "mirror-data"
    options = ["--full"] if full else []
    assert main(["--data-dir", str(data_dir), "sync", "--search-by-type", *options]) == 0, capsys.readouterr()
    for key in ("Provenance/1000002", "Group/attributed"):
        assert requests.get(f"{mirror}/{key}", timeout=10).status_code == 200, key
