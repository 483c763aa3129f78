"""The synthetic plan generator (issue 3, "The generator" and "Fixtures"): deterministic, valid FHIR R4
(checked with fhir.resources.R4B), CARIN BB money that adds up, references that resolve, and bundled
fixtures that never drift from what the generator makes."""

import argparse
import os
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from mirror.fhir.ids import is_valid_id
from mockpayer import generate
from mockpayer.generate.dates import REFERENCE_TODAY
from mockpayer.generate.settings import DEFAULT_PAGING, DEFAULT_TOKENS

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "fixtures" / "plans"
SMALL = dict(members=3, claims_per_member=12, seed=7, clinical=True)
EOB_PROFILES = {
    "C4BB-ExplanationOfBenefit-Inpatient-Institutional": "inpatient",
    "C4BB-ExplanationOfBenefit-Outpatient-Institutional": "outpatient",
    "C4BB-ExplanationOfBenefit-Professional-NonClinician": "professional",
    "C4BB-ExplanationOfBenefit-Pharmacy": "pharmacy",
    "C4BB-ExplanationOfBenefit-Oral": "oral",
}
# A date with a time, and whatever follows it inside the JSON string.
DATETIME_WITH_TIME = re.compile(rb'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([^"]*)"')
OFFSET = re.compile(rb"Z|[+-]\d{2}:\d{2}")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.json"))}


def documents(folder: Path, sub: str) -> dict[str, dict]:
    return {path.name: orjson.loads(path.read_bytes()) for path in sorted((folder / sub).glob("*.json"))}


def resources_in(document: dict) -> list[dict]:
    if document["resourceType"] == "Bundle":
        return [entry["resource"] for entry in document.get("entry", [])]
    return [document]


def all_resources(folder: Path, sub: str) -> list[dict]:
    return [resource for document in documents(folder, sub).values() for resource in resources_in(document)]


def references(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for key, item in value.items() if key != "reference" for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def cents(amount: dict) -> int:
    return round(amount["value"] * 100)


def amounts(adjudications: list[dict]) -> dict[str, int]:
    """Amount per adjudication category code (status entries carry no amount and are skipped)."""
    result = {}
    for adjudication in adjudications:
        if "amount" in adjudication:
            code = adjudication["category"]["coding"][0]["code"]
            result[code] = result.get(code, 0) + cents(adjudication["amount"])
    return result


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plan")
    generate.write_plan(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def eobs(plan) -> list[dict]:
    return [r for r in all_resources(plan, "data") if r["resourceType"] == "ExplanationOfBenefit"]


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(plan, tmp_path):
    again, other = tmp_path / "again", tmp_path / "other"
    generate.write_plan(again, **SMALL)
    generate.write_plan(other, **(SMALL | {"seed": 8}))
    assert files_of(again) == files_of(plan)
    changed = files_of(other)
    assert changed.keys() == files_of(plan).keys()
    assert changed["data/member-1.json"] != files_of(plan)["data/member-1.json"]


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path):
    """String hashing differs per process; the generator must not lean on it (set order, hash())."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        subprocess.run([sys.executable, "-m", "mockpayer.generate", "--out", str(out), "--members", "2",
                        "--claims-per-member", "6", "--clinical", "--seed", "5"],
                       check=True, cwd=REPO, env=os.environ | {"PYTHONHASHSEED": hash_seed}, capture_output=True)
        outputs.append(files_of(out))
    assert outputs[0] == outputs[1]


def test_members_do_not_depend_on_how_many_there_are(plan, tmp_path):
    """Member n is made from the seed and n alone, so adding members never rewrites existing ones."""
    generate.write_plan(tmp_path, **(SMALL | {"members": 1}))
    assert (tmp_path / "data" / "member-1.json").read_bytes() == (plan / "data" / "member-1.json").read_bytes()


def test_every_file_and_resource_validates_with_r4b(plan):
    for sub in ("data", "directory"):
        for name, document in documents(plan, sub).items():
            get_fhir_model_class(document["resourceType"]).model_validate(document)  # a Bundle validates its entries
            for resource in resources_in(document):
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_the_folder_mixes_every_shape_the_loader_accepts(plan):
    shapes = {doc["type"] if doc["resourceType"] == "Bundle" else "single"
              for sub in ("data", "directory") for doc in documents(plan, sub).values()}
    assert shapes == {"single", "searchset", "collection", "transaction"}


def test_every_member_has_all_five_carin_eob_kinds(eobs):
    kinds_by_patient = {}
    for eob in eobs:
        profile = eob["meta"]["profile"][0].split("/")[-1].split("|")[0]
        kinds_by_patient.setdefault(eob["patient"]["reference"], set()).add(EOB_PROFILES[profile])
    assert len(kinds_by_patient) == SMALL["members"]
    assert all(kinds == set(EOB_PROFILES.values()) for kinds in kinds_by_patient.values())


def test_every_eob_carries_what_carin_requires(eobs):
    for eob in eobs:
        assert eob["status"] == "active" and eob["use"] == "claim" and eob["outcome"] == "complete"
        assert eob["identifier"][0]["type"]["coding"][0]["code"] == "uc"
        assert eob["insurance"] == [{"focal": True, "coverage": {"reference": eob["patient"]["reference"].replace(
            "Patient/", "Coverage/") + "-coverage"}}]
        assert eob["item"] and all(item["productOrService"]["coding"][0]["display"] for item in eob["item"])
        claim_type = eob["type"]["coding"][0]["code"]
        if claim_type == "institutional":
            assert eob["subType"]["coding"][0]["code"] in ("inpatient", "outpatient")
        if claim_type != "pharmacy":
            assert all(d["diagnosisCodeableConcept"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10-cm"
                       for d in eob["diagnosis"])
        if eob.get("subType", {}).get("coding", [{}])[0].get("code") == "inpatient":
            categories = {info["category"]["coding"][0]["code"] for info in eob["supportingInfo"]}
            assert {"admissionperiod", "clmrecvddate", "drg"} <= categories


def test_money_adds_up_on_every_line_and_every_claim(eobs):
    for eob in eobs:
        header = amounts(eob.get("adjudication", []))
        lines = [amounts(item.get("adjudication", [])) for item in eob["item"]]
        # CARIN: amounts sit on the lines, or on the claim (inpatient DRG payment), never on both.
        assert bool(header) != any(lines), eob["id"]
        for money in [header] if header else lines:
            assert money["eligible"] <= money["submitted"]
            assert money["benefit"] + money["memberliability"] == money["eligible"], eob["id"]
            assert money["deductible"] + money["copay"] + money["coinsurance"] == money["memberliability"]
            assert money["paidtoprovider"] == money["benefit"]
            assert min(money.values()) >= 0
        claim = header or {code: sum(line[code] for line in lines) for code in lines[0]}
        assert amounts(eob["total"]) == claim, eob["id"]
        assert cents(eob["payment"]["amount"]) == claim["paidtoprovider"]
        assert sum(cents(item["net"]) for item in eob["item"]) == claim["submitted"]


def test_dates_follow_the_claim_life_cycle(eobs):
    today = REFERENCE_TODAY
    for eob in eobs:
        start, end = (date.fromisoformat(eob["billablePeriod"][key]) for key in ("start", "end"))
        received = date.fromisoformat(next(info["timingDate"] for info in eob["supportingInfo"]
                                           if info["category"]["coding"][0]["code"] == "clmrecvddate"))
        created = datetime.fromisoformat(eob["created"])
        updated = datetime.fromisoformat(eob["meta"]["lastUpdated"])
        paid = date.fromisoformat(eob["payment"]["date"])
        assert start <= end < received < created.date() <= updated.date() <= today and created <= updated
        assert created.date() < paid <= today
        for item in eob["item"]:
            served = item.get("servicedDate") or item["servicedPeriod"]["start"]
            assert start <= date.fromisoformat(served) <= end


def test_every_reference_in_data_resolves_inside_the_folder(plan):
    resources = all_resources(plan, "data")
    known = {f"{r['resourceType']}/{r['id']}" for r in resources}
    dangling = {ref for r in resources for ref in references(r)} - known
    assert not dangling


def test_directory_references_resolve_including_urn_uuids(plan):
    known = set()
    for document in documents(plan, "directory").values():
        for entry in document.get("entry", []):
            known.add(entry["fullUrl"])
        for resource in resources_in(document):
            known.add(f"{resource['resourceType']}/{resource['id']}")
    refs = {ref for document in documents(plan, "directory").values() for ref in references(document)}
    assert any(ref.startswith("urn:uuid:") for ref in refs)
    assert refs <= known


def test_every_datetime_with_a_time_has_a_timezone(plan):
    checked = 0
    for path in sorted(plan.rglob("*.json")):
        for match in DATETIME_WITH_TIME.finditer(path.read_bytes()):
            assert OFFSET.fullmatch(match.group(2)), (path.name, match.group(0))
            checked += 1
    assert checked > 100


def test_ids_are_valid_and_unique(plan):
    for sub in ("data", "directory"):
        keys = [f"{r['resourceType']}/{r['id']}" for r in all_resources(plan, sub)]
        assert all(is_valid_id(key.split("/")[1]) for key in keys)
        assert len(keys) == len(set(keys))


def test_plan_members_match_their_patients(plan):
    settings = orjson.loads((plan / "plan.json").read_bytes())
    patients = {f"Patient/{r['id']}": r for r in all_resources(plan, "data") if r["resourceType"] == "Patient"}
    assert [m["patient"] for m in settings["members"]] == list(patients)
    for member in settings["members"]:
        name = patients[member["patient"]]["name"][0]
        assert member["name"] == f"{name['given'][0]} {name['family']}"
    assert settings["members"][0] | {"name": "-"} == {"username": "member1", "password": "pass-member1",
                                                     "patient": "Patient/demoplan-m1", "name": "-"}
    assert re.fullmatch(r"\d{6}", settings["members"][1]["mfa"])
    assert all("mfa" not in m for i, m in enumerate(settings["members"]) if i != 1)
    assert settings["tokens"] == DEFAULT_TOKENS and settings["paging"] == DEFAULT_PAGING
    assert [c["client_id"] for c in settings["clients"]] == ["demo-confidential-app", "demo-public-app"]


def test_clinical_records_use_us_core_profiles(plan):
    clinical = [r for r in all_resources(plan, "data")
                if r["resourceType"] in ("AllergyIntolerance", "MedicationRequest", "Condition", "Observation",
                                         "Immunization", "Procedure", "Encounter")]
    assert {r["resourceType"] for r in clinical} >= {"AllergyIntolerance", "MedicationRequest", "Condition",
                                                     "Observation", "Encounter"}
    assert all(r["meta"]["profile"][0].startswith("http://hl7.org/fhir/us/core/StructureDefinition/us-core-")
               for r in clinical)
    observations = [r for r in clinical if r["resourceType"] == "Observation"]
    assert all("valueQuantity" in r or "component" in r for r in observations)
    assert {r["category"][0]["coding"][0]["code"] for r in observations} >= {"vital-signs", "laboratory"}


def test_without_clinical_there_are_only_claims_records(tmp_path):
    generate.write_plan(tmp_path, members=1, claims_per_member=5, seed=1)
    kinds = {r["resourceType"] for r in all_resources(tmp_path, "data")}
    assert kinds == {"Patient", "Coverage", "ExplanationOfBenefit", "Organization", "Practitioner"}


def test_directory_holds_plan_net_and_formulary_profiles(plan):
    profiles = {p.split("/")[-1] for r in all_resources(plan, "directory") for p in r["meta"]["profile"]}
    assert {"plannet-Organization", "plannet-Network", "plannet-Practitioner", "plannet-PractitionerRole",
            "plannet-Location", "plannet-HealthcareService", "plannet-InsurancePlan", "plannet-Endpoint",
            "plannet-OrganizationAffiliation", "usdf-Formulary", "usdf-PayerInsurancePlan", "usdf-FormularyItem",
            "usdf-FormularyDrug"} <= profiles


def test_settings_from_keeps_logins_clients_and_extra_keys(tmp_path):
    source = tmp_path / "source.json"
    source.write_bytes(orjson.dumps({
        "system_id": "old", "tokens": {"access_token_lifetime": 900}, "clients": [{"client_id": "x"}],
        "faults": {"seed": 3},
        "members": [{"username": "smart1", "password": "pw", "patient": "Patient/old", "name": "Dana Smith", "mfa": "135790"}]}))
    generate.write_plan(tmp_path / "plan", system_id="keep", members=2, claims_per_member=1, settings_from=source)
    settings = orjson.loads((tmp_path / "plan" / "plan.json").read_bytes())
    assert settings["system_id"] == "keep" and settings["tokens"] == {"access_token_lifetime": 900}
    assert settings["clients"] == [{"client_id": "x"}] and settings["faults"] == {"seed": 3}
    assert settings["members"][0] == {"username": "smart1", "password": "pw", "patient": "Patient/keep-m1",
                                      "name": "Dana Smith", "mfa": "135790"}
    assert settings["members"][1]["username"] == "member2"
    patient = next(r for r in all_resources(tmp_path / "plan", "data") if r["id"] == "keep-m1")
    assert patient["name"][0] == {"use": "official", "family": "Smith", "given": ["Dana"]}


def test_rejects_a_system_id_that_would_make_bad_ids(tmp_path):
    with pytest.raises(ValueError):
        generate.write_plan(tmp_path, system_id="../x")


def test_command_line_options_and_one_line_summary(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path), "--members", "2", "--claims-per-member", "5", "--seed", "4",
                              "--system-id", "cliplan", "--name", "CLI Plan", "--base-url", "cli.example",
                              "--mode", "smart"])
    summary = generate.run(args)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == [summary.line()] and "2 members, 10 claims" in printed[0]
    settings = orjson.loads((tmp_path / "plan.json").read_bytes())
    assert (settings["system_id"], settings["name"], settings["base_url"], settings["mode"]) == \
        ("cliplan", "CLI Plan", "cli.example", "smart")


# The bundled fixtures, made by the commands in mockpayer/generate/__init__.py's docstring.
BUNDLED = {
    "demoplan": dict(system_id="demoplan", name="Demo Health Plan", base_url="1updemohealthplan.com", mode="1up",
                     members=3, claims_per_member=20, clinical=True, seed=1, days=3),
    "smartplan": dict(system_id="smartplan", name="Strict SMART Health Plan", base_url="smarthealthplan.example",
                      mode="smart", members=2, claims_per_member=10, clinical=False, seed=2),
}


@pytest.mark.parametrize("system_id", sorted(BUNDLED))
def test_bundled_plan_equals_generator_output(system_id, tmp_path):
    committed = PLANS / system_id
    generate.write_plan(tmp_path, settings_from=committed / "plan.json", **BUNDLED[system_id])
    assert files_of(tmp_path) == files_of(committed), f"regenerate {committed} (see mockpayer/generate/__init__.py)"


def test_bundled_logins_stay_what_other_code_relies_on():
    demo = orjson.loads((PLANS / "demoplan" / "plan.json").read_bytes())
    assert demo["members"][0] | {"name": "-"} == {"username": "member1", "password": "pass-member1",
                                                 "patient": "Patient/demoplan-m1", "name": "-"}
    smart = orjson.loads((PLANS / "smartplan" / "plan.json").read_bytes())
    assert [(m["username"], m["password"], m["patient"], m.get("mfa")) for m in smart["members"]] == [
        ("smart1", "pass-smart1", "Patient/smartplan-m1", None), ("smart2", "pass-smart2", "Patient/smartplan-m2", "135790")]
    assert smart["tokens"]["access_token_lifetime"] == 900
    eobs = [r for r in all_resources(PLANS / "demoplan", "data") if r["resourceType"] == "ExplanationOfBenefit"
            and r["patient"]["reference"] == "Patient/demoplan-m1"]
    assert len(eobs) > 10  # several pages at the default page size of 10
