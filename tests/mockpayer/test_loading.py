"""What the mock loads from files real payers and implementation guides write, served to the member over real
HTTP (issue 23, item 5): PDex-shaped fixtures written here, not taken from the bundled plans."""

import json
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app

CLIENT = ("pdex-app", "pdex-secret")
CALLBACK = "http://127.0.0.1:8765/callback"
SERVER = "https://payer.example.org/fhir"


def write_plan(root, files: dict, **settings):
    """A plan folder `root/pdex` with member `m1` (Patient/pdex-1) and `files` (name -> JSON) in data/."""
    folder = root / "pdex"
    (folder / "data").mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps({
        "system_id": "pdex", "name": "PDex plan", "base_url": "pdex.example",
        "clients": [{"client_id": CLIENT[0], "client_secret": CLIENT[1], "redirect_uris": [CALLBACK]}],
        "members": [{"username": "m1", "password": "pw", "patient": "Patient/pdex-1"},
                    {"username": "m2", "password": "pw", "patient": "Patient/pdex-2"}],
        **settings}))
    for name, content in files.items():
        (folder / "data" / name).write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return folder


def transaction_response(*resources) -> dict:
    """A Bundle as a PDex payer's server answers a transaction: each entry the stored resource, its absolute
    fullUrl and a `response` with the location it was created at (R4 Bundle, type transaction-response)."""
    return {"resourceType": "Bundle", "id": "txr-1", "type": "transaction-response", "entry": [
        {"fullUrl": f"{SERVER}/{r['resourceType']}/{r['id']}", "resource": r,
         "response": {"status": "201 Created", "location": f"{r['resourceType']}/{r['id']}/_history/1",
                      "etag": 'W/"1"', "lastModified": "2020-07-09T15:26:23.217+00:00"}}
        for r in resources]}


PATIENT = {"resourceType": "Patient", "id": "pdex-1", "name": [{"family": "Example", "given": ["Pat"]}]}
OTHER_PATIENT = {"resourceType": "Patient", "id": "pdex-2", "name": [{"family": "Other"}]}
ENCOUNTER = {"resourceType": "Encounter", "id": "enc-6", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
             "subject": {"reference": "Patient/pdex-1"}}
OTHER_ENCOUNTER = {**ENCOUNTER, "id": "enc-7", "subject": {"reference": "Patient/pdex-2"}}


class Member:
    def __init__(self, url: str, username: str):
        authorize = (f"{url}/oauth2/authorize/pdex?client_id={CLIENT[0]}&redirect_uri={CALLBACK}"
                     "&scope=patient/*.read&state=s")
        code = parse_qs(urlsplit(complete_mock_login(requests.Session(), authorize, username, "pw")).query)["code"][0]
        token = requests.post(f"{url}/pdex/oauth2/token", auth=CLIENT, timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}).json()["access_token"]
        self.base, self.headers = f"{url}/pdex/r4", {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}/{path}", headers=self.headers, timeout=10)


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(files: dict, **settings):
        write_plan(tmp_path, files, **settings)
        servers.append(start_in_thread(create_app(tmp_path)))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def test_transaction_response_bundle_entries_are_served_to_their_member(serve):
    """R4 Bundle: a `transaction-response` entry's `resource` is the stored resource; the mock serves it as the
    server that answered would (PDex example data holds Patients and Encounters only in such Bundles)."""
    url = serve({"transaction-response.json": transaction_response(PATIENT, OTHER_PATIENT, ENCOUNTER,
                                                                   OTHER_ENCOUNTER)})
    member = Member(url, "m1")
    assert member.get("Patient/pdex-1").json() == PATIENT
    assert member.get("Encounter/enc-6").json() == ENCOUNTER
    assert member.get("Encounter/enc-7").status_code == 404
    search = member.get("Encounter").json()
    assert [entry["resource"]["id"] for entry in search["entry"]] == ["enc-6"]


def test_batch_response_bundle_entries_are_served(serve):
    """R4 Bundle: `batch-response` entries carry their `resource` like `transaction-response` ones."""
    bundle = {**transaction_response(PATIENT, ENCOUNTER), "type": "batch-response"}
    member = Member(serve({"batch-response.json": bundle}), "m1")
    assert member.get("Encounter/enc-6").json() == ENCOUNTER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_serve(fixtures, *extra) -> tuple[int | None, str, str]:
    """`mockpayer serve` as a user runs it: the exit status if it stopped by itself (None if it served until
    stopped), and what it printed."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", str(port),
                                "--fixtures", str(fixtures), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                requests.get(f"http://127.0.0.1:{port}/pdex/r4/metadata", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        status = process.poll()
    finally:
        if process.poll() is None:
            process.terminate()
        output, errors = process.communicate(timeout=10)
    return status, output, errors


SKIPPED_FILES = {
    "not-json.json": ("{oops", "error: data/not-json.json: not a JSON object"),
    "nan.json": ('{"resourceType": "Observation", "id": "o1", "status": "final", "valueQuantity": {"value": NaN}}',
                 "error: data/nan.json: not a JSON object"),
    "bad-id.json": ({"resourceType": "Patient", "id": "../x"}, "error: data/bad-id.json: Patient id '../x' is not"),
    "bad-entry.json": ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
                       "error: data/bad-entry.json entry 0: entry resource has no resourceType"),
    "capability.json": ({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance"},
                        "note: data/capability.json: skipped: a CapabilityStatement without an id"),
    "outcome.json": ({"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]},
                     "note: data/outcome.json: skipped: a OperationOutcome without an id"),
}


def _plan_with_skipped_files(tmp_path):
    folder = write_plan(tmp_path, {"patient.json": PATIENT, **{name: content for name, (content, _) in SKIPPED_FILES.items()}})
    (folder / "data" / "latin1.json").write_bytes('{"resourceType": "Patient", "id": "p2", "name": [{"family": "Müller"}]}'
                                                  .encode("latin-1"))
    return folder


def test_serve_names_every_file_it_does_not_serve_and_why(tmp_path):
    """`mockpayer serve` prints one summary line per plan and one line per file or entry it skipped, with the
    reason `mockpayer check` gives; files that hold no records are a note, not an error."""
    _plan_with_skipped_files(tmp_path)
    status, output, errors = run_serve(tmp_path)
    assert status is None, errors
    assert "pdex: 1 member resources, 0 directory resources, 5 errors, 1 warnings, 2 notes" in output
    for _, line in SKIPPED_FILES.values():
        assert line in output
    assert "error: data/latin1.json: cannot read: 'utf-8' codec can't decode" in output


def test_serve_strict_refuses_to_start_on_a_skipped_file(tmp_path):
    _plan_with_skipped_files(tmp_path)
    status, output, errors = run_serve(tmp_path, "--strict")
    assert status == 2
    assert "error: data/not-json.json: not a JSON object" in output
    assert errors.startswith("mockpayer: --strict: 5 files or entries cannot be served") and "Traceback" not in errors


def test_strict_serves_a_plan_whose_only_skipped_files_hold_no_records(tmp_path):
    """A CapabilityStatement or OperationOutcome without an id beside the data is nothing wrong: `--strict`
    serves, and `mockpayer check` passes."""
    write_plan(tmp_path, {"patient.json": PATIENT, "patient2.json": OTHER_PATIENT,
                          "capability.json": SKIPPED_FILES["capability.json"][0],
                          "outcome.json": SKIPPED_FILES["outcome.json"][0]})
    status, output, errors = run_serve(tmp_path, "--strict")
    assert status is None, errors
    assert "pdex: 2 member resources, 0 directory resources, 0 errors, 0 warnings, 2 notes" in output
    check = subprocess.run([sys.executable, "-m", "mockpayer.cli", "check", str(tmp_path / "pdex")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout
    assert "note: data/outcome.json: skipped" in check.stdout


CARIN_COVERAGE = {"resourceType": "Coverage", "id": "cov-1", "status": "active",
                  "beneficiary": {"reference": "Patient/pdex-1"}, "payor": [{"reference": "Organization/payer"}],
                  "class": [{"type": {"coding": [{"code": "plan"}]}, "value": "CARIN-GOLD"}]}
PDEX_COVERAGE = {**CARIN_COVERAGE, "class": [{"type": {"coding": [{"code": "plan"}]}, "value": "PDEX-SILVER"}]}
DUPLICATE_FILES = {"a-carin-coverage.json": CARIN_COVERAGE, "b-pdex.json": transaction_response(PDEX_COVERAGE),
                   "patient.json": PATIENT, "patient2.json": OTHER_PATIENT}


def _check(folder):
    return subprocess.run([sys.executable, "-m", "mockpayer.cli", "check", str(folder)], capture_output=True,
                          text=True, timeout=60)


def test_different_copies_of_one_id_name_both_files_and_the_winner(tmp_path):
    """Two files with Coverage/cov-1, different bodies: `serve` serves the later file's with a warning that names
    both files and the winner; `check`, with nothing chosen in plan.json, fails with that line as an error."""
    folder = write_plan(tmp_path, DUPLICATE_FILES)
    line = ("data/b-pdex.json entry 0: Coverage/cov-1 differs from the copy in data/a-carin-coverage.json; "
            "data/b-pdex.json entry 0's copy is served")
    status, output, errors = run_serve(tmp_path)
    assert status is None, errors
    assert f"warning: {line} (duplicates: last)" in output
    check = _check(folder)
    assert check.returncode == 1
    assert f"error: {line} (duplicates: error)" in check.stdout


@pytest.mark.parametrize("choice, served", [("first", CARIN_COVERAGE), ("last", PDEX_COVERAGE)])
def test_plan_json_chooses_which_copy_is_served(serve, tmp_path, choice, served):
    """plan.json `"duplicates": "first" | "last"`: that copy is the one the member reads, and `check` passes with
    a warning."""
    member = Member(serve(DUPLICATE_FILES, duplicates=choice), "m1")
    assert member.get("Coverage/cov-1").json() == served
    check = _check(tmp_path / "pdex")
    assert check.returncode == 0, check.stdout
    assert "Coverage/cov-1 differs from the copy in data/a-carin-coverage.json" in check.stdout


def test_duplicates_error_stops_serve_strict(tmp_path):
    write_plan(tmp_path, DUPLICATE_FILES, duplicates="error")
    status, output, errors = run_serve(tmp_path, "--strict")
    assert status == 2, output
    assert "error: data/b-pdex.json entry 0: Coverage/cov-1 differs" in output


def test_identical_copies_are_served_once_with_a_note(tmp_path):
    folder = write_plan(tmp_path, {**DUPLICATE_FILES, "b-pdex.json": transaction_response(CARIN_COVERAGE)})
    check = _check(folder)
    assert check.returncode == 0, check.stdout
    assert ("note: data/b-pdex.json entry 0: Coverage/cov-1 also in data/a-carin-coverage.json, the same; "
            "served once") in check.stdout


def test_plan_json_refuses_an_unknown_duplicates_choice(tmp_path):
    write_plan(tmp_path, DUPLICATE_FILES, duplicates="newest")
    check = _check(tmp_path / "pdex")
    assert check.returncode == 2
    assert "duplicates must be one of first, last, error, not 'newest'" in check.stderr


PROVENANCE = {"resourceType": "Provenance", "id": "1000002", "recorded": "2020-07-10T16:26:23.217+00:00",
              "target": [{"reference": "Encounter/enc-6"}],
              "agent": [{"who": {"reference": "Organization/payer"}}]}
OTHER_PROVENANCE = {**PROVENANCE, "id": "1000003", "target": [{"reference": "Encounter/enc-7"}]}
GROUP = {"resourceType": "Group", "id": "attributed", "type": "person", "actual": True,
         "member": [{"entity": {"reference": "Patient/pdex-1"}}]}


def test_member_reads_provenance_of_their_records_and_groups_listing_them(serve):
    """R4 Patient compartment: a Group is in each listed member's compartment (Group.member); a PDex Provenance
    whose target is one of the member's records is theirs; another member's are 404 and not searched."""
    url = serve({"pdex.json": transaction_response(PATIENT, OTHER_PATIENT, ENCOUNTER, OTHER_ENCOUNTER, PROVENANCE,
                                                   OTHER_PROVENANCE, GROUP)})
    member, other = Member(url, "m1"), Member(url, "m2")
    assert member.get("Provenance/1000002").json() == PROVENANCE
    assert member.get("Group/attributed").json() == GROUP
    assert [e["resource"]["id"] for e in member.get("Provenance").json()["entry"]] == ["1000002"]
    assert other.get("Provenance/1000002").status_code == 404
    assert other.get("Group/attributed").status_code == 404
    assert [e["resource"]["id"] for e in other.get("Provenance").json()["entry"]] == ["1000003"]
