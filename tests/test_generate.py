"""The synthetic plan generator (issue 3, "The generator" and "Fixtures"; issue 22's data): deterministic,
valid FHIR R4 (checked with fhir.resources.R4B), CARIN BB money that adds up, deductible and out-of-pocket
balances that follow it, Da Vinci PDex prior authorizations, results with reference ranges and flags,
references that resolve, and bundled fixtures that never drift from what the generator makes."""

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
from mirror.plans import PRESETS
from mockpayer import generate
from mockpayer.generate.dates import REFERENCE_TODAY
from mockpayer.generate.settings import DEFAULT_PAGING, DEFAULT_TOKENS
from mockpayer.pytest_plugin import MockPayer

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
    """The claims: ExplanationOfBenefit resources with `use` = claim, in the order they were processed."""
    return [r for r in all_resources(plan, "data") if r["resourceType"] == "ExplanationOfBenefit" and r["use"] == "claim"]


@pytest.fixture(scope="module")
def prior_auths(plan) -> list[dict]:
    return [r for r in all_resources(plan, "data") if r.get("use") == "preauthorization"]


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
        for document in documents(plan, sub).values():
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


def test_benefit_balance_is_the_years_running_cost_share(plan, eobs):
    """CARIN BB / R4 EOB.benefitBalance: per year (benefitPeriod, term annual), in network, what the member's
    claims processed so far used of the plan design's deductible and out-of-pocket maximum, equal to the
    running sum of the claims' own deductible and member liability; out of network nothing is used."""
    designs = {c["beneficiary"]["reference"]: next(k["value"] for k in c["class"] if k["type"]["coding"][0]["code"] == "plan")
               for c in all_resources(plan, "data") if c["resourceType"] == "Coverage"}
    limits = {"PPO1500": (150000, 600000), "PPO3000": (300000, 750000)}
    running = {}
    for eob in eobs:
        year = eob["billablePeriod"]["start"][:4]
        assert eob["benefitPeriod"] == {"start": f"{year}-01-01", "end": f"{year}-12-31"}
        total = amounts(eob["total"])
        used = running.setdefault((eob["patient"]["reference"], year), [0, 0])
        used[0] += total["deductible"]
        used[1] += total["memberliability"]
        by_network = {b["network"]["coding"][0]["code"]: b for b in eob["benefitBalance"]}
        assert set(by_network) == {"in", "out"}
        for network, balance in by_network.items():
            assert (balance["unit"]["coding"][0]["code"], balance["term"]["coding"][0]["code"]) == ("individual", "annual")
            types = [f["type"]["coding"][0]["code"] for f in balance["financial"]]
            assert types == ["deductible", "out-of-pocket-maximum"]
            allowed = [cents(f["allowedMoney"]) for f in balance["financial"]]
            spent = [cents(f["usedMoney"]) for f in balance["financial"]]
            factor = 1 if network == "in" else 2
            assert allowed == [limit * factor for limit in limits[designs[eob["patient"]["reference"]]]]
            assert spent == (used if network == "in" else [0, 0]), eob["id"]
            assert all(0 <= s <= a for s, a in zip(spent, allowed, strict=True))
    assert any(used[0] > 0 for used in running.values())


PDEX_REVIEW_ACTION = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction"


def decision(prior_auth: dict) -> str:
    """approved, denied or pending, from the X12 306 review action code on the item's adjudication."""
    [item] = prior_auth["item"]
    [action] = [e for a in item["adjudication"] for e in a.get("extension", []) if e["url"] == PDEX_REVIEW_ACTION]
    code = next(e["valueCodeableConcept"]["coding"][0] for e in action["extension"] if e["url"].endswith("reviewActionCode"))
    assert code["system"] == "https://codesystem.x12.org/005010/306"
    return {"A1": "approved", "A3": "denied", "A4": "pending"}[code["code"]]


def adjudication_codes(item: dict) -> dict[str, dict]:
    return {a["category"]["coding"][0]["code"]: a for a in item["adjudication"]}


def test_every_prior_authorization_is_a_pdex_eob_with_a_decision(prior_auths):
    """Da Vinci PDex prior authorization (CMS-0057-F): use = preauthorization, the profile named, R4 valid, and
    a decision: approved (complete, A1, preAuthRef and preAuthRefPeriod, units allowed and used), denied
    (complete, A3, a CARC denial reason and the plan's note) or pending (queued, A4, a note, no number)."""
    assert len(prior_auths) == 3 * SMALL["members"]
    for auth in prior_auths:
        get_fhir_model_class("ExplanationOfBenefit").model_validate(auth)
        assert auth["meta"]["profile"] == ["http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization"]
        assert auth["status"] == "active" and "total" not in auth and "payment" not in auth
        [item] = auth["item"]
        assert item["productOrService"]["coding"][0]["display"] and item["category"]["coding"][0]["display"]
        assert auth["careTeam"][0]["provider"]["display"] and auth["diagnosis"][0]["diagnosisCodeableConcept"]
        codes = adjudication_codes(item)
        assert codes["submitted"]["amount"]["value"] > 0  # PDex: adjudication needs an amount slice
        notes = [note["text"] for note in auth.get("processNote", [])]
        kind = decision(auth)
        if kind == "approved":
            assert auth["outcome"] == "complete" and auth["preAuthRef"] == [auth["identifier"][0]["value"]]
            assert auth["preAuthRefPeriod"] == [item["servicedPeriod"]]
            assert codes["allowedunits"]["value"] == item["quantity"]["value"] and codes["consumedunits"]["value"] == 0
        elif kind == "denied":
            assert auth["outcome"] == "complete" and "preAuthRef" not in auth
            assert codes["denialreason"]["reason"]["coding"][0] == {
                "system": "https://x12.org/codes/claim-adjustment-reason-codes", "code": "50",
                "display": "These are non-covered services because this is not deemed a 'medical necessity' by the payer."}
            assert notes and notes[0].startswith("Not approved") and item["noteNumber"] == [1]
        else:
            assert auth["outcome"] == "queued" and "preAuthRef" not in auth and "preAuthRefPeriod" not in auth
            assert notes and item["noteNumber"] == [1]
        moments = [datetime.fromisoformat(auth["created"]), datetime.fromisoformat(auth["meta"]["lastUpdated"])]
        assert moments[0] <= moments[1] and moments[1].date() <= REFERENCE_TODAY


def test_the_demo_member_has_an_approved_a_denied_and_a_pending_prior_authorization():
    """The bundled demo plan's first member (the one the demos sign in as) shows all three decisions."""
    auths = [r for r in all_resources(PLANS / "demoplan", "data") if r.get("use") == "preauthorization"
             and r["patient"]["reference"] == "Patient/demoplan-m1"]
    assert sorted(decision(auth) for auth in auths) == ["approved", "denied", "pending"]


def test_results_carry_reference_ranges_and_out_of_range_ones_are_flagged(plan):
    """Labs and adults' vital signs carry referenceRange low and high in the value's own UCUM unit; a value
    outside it carries the v3-ObservationInterpretation flag H or L, and one inside carries none."""
    observations = [r for r in all_resources(plan, "data") if r["resourceType"] == "Observation"]
    judged = []
    for observation in observations:
        for part in [observation] + observation.get("component", []):
            if "referenceRange" not in part:
                continue
            [reference] = part["referenceRange"]
            value = part["valueQuantity"]
            assert reference["low"]["code"] == reference["high"]["code"] == value["code"]
            low, high = reference["low"]["value"], reference["high"]["value"]
            expected = "H" if value["value"] > high else "L" if value["value"] < low else None
            flags = [(c["system"], c["code"]) for i in part.get("interpretation", []) for c in i["coding"]]
            assert flags == ([("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", expected)]
                             if expected else []), observation["id"]
            judged.append((observation["category"][0]["coding"][0]["code"], expected))
    labs = [r for r in observations if r["category"][0]["coding"][0]["code"] == "laboratory"]
    assert labs and all("referenceRange" in lab for lab in labs)
    assert {category for category, _ in judged} == {"laboratory", "vital-signs"}
    assert {"H", "L"} <= {flag for _, flag in judged}
    assert sum(flag is not None for _, flag in judged) < len(judged) / 2  # a few, not most


def test_the_demo_member_has_results_over_time_to_draw_a_trend():
    """Several dated results per test for the demo member: blood pressure and weight at every visit, the
    lipid and metabolic panels at each checkup, one of them flagged."""
    observations = [r for r in all_resources(PLANS / "demoplan", "data") if r["resourceType"] == "Observation"
                    and r["subject"]["reference"] == "Patient/demoplan-m1"]
    dates = {}
    for observation in observations:
        dates.setdefault(observation["code"]["coding"][0]["code"], set()).add(observation["effectiveDateTime"][:10])
    assert len(dates["85354-9"]) >= 3 and len(dates["29463-7"]) >= 3  # blood pressure, weight
    assert len(dates["2093-3"]) >= 2 and len(dates["2345-7"]) >= 2  # cholesterol, glucose
    assert any("interpretation" in observation for observation in observations)


def test_pharmacy_claims_and_prescriptions_name_their_drug(plan, eobs):
    """A drug-fills page can name the drug: each pharmacy claim's line codes it by NDC and RxNorm, both with
    a display, and says its name as text; each MedicationRequest names its RxNorm drug the same way."""
    pharmacy = [eob for eob in eobs if eob["type"]["coding"][0]["code"] == "pharmacy"]
    assert pharmacy
    for eob in pharmacy:
        [item] = eob["item"]
        product = item["productOrService"]
        systems = {c["system"]: c for c in product["coding"]}
        assert set(systems) == {"http://hl7.org/fhir/sid/ndc", "http://www.nlm.nih.gov/research/umls/rxnorm"}
        assert all(c["display"] == product["text"] for c in product["coding"]) and product["text"]
    requests = [r for r in all_resources(plan, "data") if r["resourceType"] == "MedicationRequest"]
    assert requests and all(r["medicationCodeableConcept"]["text"] == r["medicationCodeableConcept"]["coding"][0]["display"]
                            for r in requests)


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
    assert (settings["members"][2]["verification"], settings["members"][2]["email"]) == ("email", "member3@example.org")
    assert all("verification" not in m for i, m in enumerate(settings["members"]) if i != 2)
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
        "members": [{"username": "smart1", "password": "pw", "patient": "Patient/old", "name": "Dana Smith", "mfa": "135790"},
                    {"username": "smart2", "password": "pw2", "patient": "Patient/old2", "name": "Eve Stone",
                     "email": "eve@example.org", "verification": "email"}]}))
    generate.write_plan(tmp_path / "plan", system_id="keep", members=3, claims_per_member=1, settings_from=source)
    settings = orjson.loads((tmp_path / "plan" / "plan.json").read_bytes())
    assert settings["system_id"] == "keep" and settings["tokens"] == {"access_token_lifetime": 900}
    assert settings["clients"] == [{"client_id": "x"}] and settings["faults"] == {"seed": 3}
    assert settings["members"][0] == {"username": "smart1", "password": "pw", "patient": "Patient/keep-m1",
                                      "name": "Dana Smith", "mfa": "135790"}
    assert settings["members"][1] == {"username": "smart2", "password": "pw2", "patient": "Patient/keep-m2",
                                      "name": "Eve Stone", "email": "eve@example.org", "verification": "email"}
    assert settings["members"][2]["username"] == "keep-member3"
    patient = next(r for r in all_resources(tmp_path / "plan", "data") if r["id"] == "keep-m1")
    assert patient["name"][0] == {"use": "official", "family": "Smith", "given": ["Dana"]}


def test_usernames_and_client_ids_are_made_from_the_system_id_so_plans_served_together_never_collide(tmp_path):
    """Two generated plans in one mock: each member signs in by username alone (the fixture would need `plan=` if
    two plans shared it), each plan has its own client ids. The demo plan's system id keeps the demo plan's
    names, which `mirror connect demo` signs in with."""
    for system_id in ("alphaplan", "betaplan"):
        generate.write_plan(tmp_path / system_id, system_id=system_id, members=2, claims_per_member=1, seed=3)
    generate.write_plan(tmp_path / "bbplan", profile="bluebutton", system_id="bbplan", members=1, claims_per_member=1)
    plans = {system_id: orjson.loads((tmp_path / system_id / "plan.json").read_bytes())
             for system_id in ("alphaplan", "betaplan", "bbplan")}
    assert [(m["username"], m["password"]) for m in plans["betaplan"]["members"]] == [
        ("betaplan-member1", "pass-betaplan-member1"), ("betaplan-member2", "pass-betaplan-member2")]
    assert [c["client_id"] for c in plans["alphaplan"]["clients"]] == ["alphaplan-confidential-app",
                                                                        "alphaplan-public-app"]
    assert [c["client_id"] for c in plans["bbplan"]["clients"]] == ["bbplan-confidential-app", "bbplan-public-app"]
    assert plans["bbplan"]["members"][0]["username"] == "BBUser00001"  # as CMS's sandbox names its users

    mock = MockPayer(tmp_path)
    try:
        for system_id in ("alphaplan", "betaplan"):
            tokens = mock.login(f"{system_id}-member2")  # member 2 answers an MFA code
            assert tokens.patient == f"{system_id}-m2"
    finally:
        mock.stop()

    generate.write_plan(tmp_path / "demo", members=1, claims_per_member=1)
    demo = orjson.loads((tmp_path / "demo" / "plan.json").read_bytes())
    assert (demo["members"][0]["username"], [c["client_id"] for c in demo["clients"]]) == (
        "member1", [PRESETS["demo"].client_id, "demo-public-app"])


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
    assert printed == [summary.line()] and "2 members, 10 claims, 6 prior authorizations" in printed[0]
    settings = orjson.loads((tmp_path / "plan.json").read_bytes())
    assert (settings["system_id"], settings["name"], settings["base_url"], settings["mode"]) == \
        ("cliplan", "CLI Plan", "cli.example", "smart")


# The bundled fixtures, made by the commands in mockpayer/generate/__init__.py's docstring.
BUNDLED = {
    "demoplan": dict(system_id="demoplan", name="Demo Health Plan", base_url="1updemohealthplan.com", mode="1up",
                     members=3, claims_per_member=20, clinical=True, seed=1, days=3),
    "smartplan": dict(system_id="smartplan", name="Strict SMART Health Plan", base_url="smarthealthplan.example",
                      mode="smart", members=2, claims_per_member=10, clinical=False, seed=2),
    "bluebutton": dict(profile="bluebutton", system_id="bluebutton", name="Medicare (Blue Button 2.0)",
                       base_url="bluebutton.example", members=5, claims_per_member=(40, 1, 14, 25, 9), seed=7),
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
            and r["use"] == "claim" and r["patient"]["reference"] == "Patient/demoplan-m1"]
    assert len(eobs) > 10  # several pages at the default page size of 10
