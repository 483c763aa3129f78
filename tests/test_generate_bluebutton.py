"""`mockpayer generate --profile bluebutton` (issue 24, part 2): deterministic Medicare beneficiaries shaped as CMS
Blue Button 2.0 serves them. Same seed, same bytes; every claim type present; valid R4 that `mockpayer check`
passes; a clearly synthetic MBI and negative ids formed as CMS forms them; the CMS variables beside the CARIN
categories; decimals written as CMS writes them and served as written; and the money model (mirror.web.money)
reading each claim type's amounts right, which here also follow Medicare's cost sharing."""

import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from mirror.web.money import claim_money, line_money
from mockpayer import generate
from mockpayer.bluebutton.samhsa import is_samhsa_related
from mockpayer.cli import main as mockpayer_main
from mockpayer.generate.dates import REFERENCE_TODAY
from mockpayer.generate.medicare_costs import for_year
from mockpayer.generate.tables import PART_A_DEDUCTIBLE, PART_B_DEDUCTIBLE, SNF_DAY_COINSURANCE
from mockpayer.plans import load_plan
from mockpayer.resources import load_plan_resources
from tests.test_generate import PLANS, REPO, files_of
from tests.web.test_money_rules import medicare_expected, medicare_type

SMALL = dict(profile="bluebutton", system_id="bbtest", name="Test Medicare", base_url="bb.example", members=3,
             claims_per_member=(30, 12, 1), seed=5)
CLAIM_TYPES = {"carrier", "dme", "hha", "hospice", "inpatient", "outpatient", "pde", "snf"}
CMS = "https://bluebutton.cms.gov/resources/variables/"
CARIN_ADJUDICATION = ("http://terminology.hl7.org/CodeSystem/adjudication",
                      "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication")
# MBI: digit 1-9, then S (CMS's mark of a synthetic MBI), alphanumeric, digit, letter, alphanumeric, digit, letter,
# letter, digit, digit; letters never S, L, O, I, B or Z in the other places.
MBI = re.compile(r"[1-9]S[AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9]\d[AC-HJKMNP-RT-Y]{2}\d\d")
BFD_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def resources(folder: Path) -> list[dict]:
    return [entry["resource"] for path in sorted((folder / "data").glob("*.json"))
            for entry in orjson.loads(path.read_bytes())["entry"]]


def cents(value) -> int:
    return round(Decimal(str(value)) * 100)


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bluebutton")
    generate.write_plan(out, **SMALL)
    return out


@pytest.fixture(scope="module")
def eobs(plan) -> list[dict]:
    return [r for r in resources(plan) if r["resourceType"] == "ExplanationOfBenefit"]


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(plan, tmp_path):
    generate.write_plan(tmp_path / "again", **SMALL)
    generate.write_plan(tmp_path / "other", **(SMALL | {"seed": 6}))
    assert files_of(tmp_path / "again") == files_of(plan)
    assert files_of(tmp_path / "other")["data/member-1.json"] != files_of(plan)["data/member-1.json"]


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path):
    """String hashing differs per process; the bluebutton profile must not lean on it either."""
    outputs = []
    for hash_seed in ("1", "2"):
        subprocess.run([sys.executable, "-m", "mockpayer.generate", "--profile", "bluebutton", "--out",
                        str(tmp_path / hash_seed), "--members", "2", "--claims-per-member", "9", "--seed", "5"],
                       check=True, cwd=REPO, env=os.environ | {"PYTHONHASHSEED": hash_seed}, capture_output=True)
        outputs.append(files_of(tmp_path / hash_seed))
    assert outputs[0] == outputs[1]


def test_a_beneficiary_depends_on_the_seed_and_its_number_only(plan, tmp_path):
    generate.write_plan(tmp_path, **(SMALL | {"members": 1}))
    assert (tmp_path / "data" / "member-1.json").read_bytes() == (plan / "data" / "member-1.json").read_bytes()


def test_every_claim_type_is_present_with_blue_buttons_type_codings(eobs):
    """Blue Button's eight claim types, each EOB typed as BFD types it: the CMS `eob-type` code, the HL7
    claim-type and (all but Part D events) the NCH claim type code."""
    assert {medicare_type(eob) for eob in eobs} == CLAIM_TYPES
    for eob in eobs:
        systems = [coding["system"] for coding in eob["type"]["coding"]]
        assert "https://bluebutton.cms.gov/resources/codesystem/eob-type" in systems
        assert "http://terminology.hl7.org/CodeSystem/claim-type" in systems
        assert (CMS + "nch_clm_type_cd" in systems) == (medicare_type(eob) != "pde")


def test_claim_counts_per_member_and_history(eobs):
    """One count per member in order: 30 (every type among them), 12 and a single claim."""
    per_patient = Counter(eob["patient"]["reference"] for eob in eobs)
    assert sorted(per_patient.values()) == [1, 12, 30]


def test_every_resource_validates_with_r4b_and_mockpayer_check_reports_nothing(plan, capsys):
    """FHIR R4 (R4B models) for every resource and Bundle, and `mockpayer check` (load, ids, R4 validation,
    references): exit status 0 and no error, warning or note."""
    for path in sorted((plan / "data").glob("*.json")):
        get_fhir_model_class("Bundle").model_validate(orjson.loads(path.read_bytes()))
    for resource in resources(plan):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert mockpayer_main(["check", str(plan)]) == 0
    assert "0 errors, 0 warnings, 0 notes" in capsys.readouterr().out


def test_patients_carry_a_synthetic_mbi_and_cms_ids(plan):
    """The Patient id is the CCW bene_id, negative as every synthetic CMS id; the MBI (system us-mbi, type MC,
    marked current) has the MBI's shape with `S` second, which CMS never gives a real MBI; Coverage ids are
    `part-a-<bene_id>` (so a double hyphen) for Parts A, B, C and D."""
    found = resources(plan)
    patients = [r for r in found if r["resourceType"] == "Patient"]
    assert len(patients) == SMALL["members"]
    for patient in patients:
        assert re.fullmatch(r"-\d{14}", patient["id"])
        [mbi] = [i for i in patient["identifier"] if i["system"] == "http://hl7.org/fhir/sid/us-mbi"]
        assert MBI.fullmatch(mbi["value"]) and mbi["type"]["coding"][0]["code"] == "MC"
        bene_id = next(i for i in patient["identifier"] if i["system"] == CMS + "bene_id")
        assert bene_id["value"] == patient["id"]
        coverages = [r for r in found if r["resourceType"] == "Coverage"
                     and r["beneficiary"]["reference"] == f"Patient/{patient['id']}"]
        assert [c["id"] for c in coverages] == [f"part-{part}--{patient['id'][1:]}" for part in "abcd"]
        assert [c["class"][1]["value"] for c in coverages] == ["Part A", "Part B", "Part C", "Part D"]
        assert all(c["subscriberId"] == mbi["value"] for c in coverages)
    assert len({p["identifier"][1]["value"] for p in patients}) == len(patients)


def test_claim_ids_profiles_coverage_and_last_updated_are_formed_as_cms_forms_them(eobs):
    """Ids `<type>-<negative clm_id or pde_id>` (`carrier--10000900100001`), the id repeated as the claim's
    identifier; an unversioned CARIN BB profile; the Coverage of the claim's Part; meta.lastUpdated as BFD
    writes it (UTC, milliseconds) and different from record to record."""
    for eob in eobs:
        kind = medicare_type(eob)
        assert re.fullmatch(rf"{kind}--\d{{14}}", eob["id"])
        variable = "pde_id" if kind == "pde" else "clm_id"
        assert {"system": CMS + variable, "value": eob["id"][len(kind) + 1:]}.items() <= eob["identifier"][0].items()
        assert eob["meta"]["profile"][0].startswith("http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-")
        assert "|" not in eob["meta"]["profile"][0]
        part = {"pde": "d", "carrier": "b", "outpatient": "b", "hha": "b"}.get(kind, "a")
        assert eob["insurance"][0]["coverage"]["reference"] == f"Coverage/part-{part}-{eob['patient']['reference'][8:]}"
        assert BFD_INSTANT.fullmatch(eob["meta"]["lastUpdated"]) and eob["meta"]["lastUpdated"][:10] < str(REFERENCE_TODAY)
    assert len({eob["meta"]["lastUpdated"] for eob in eobs}) == len(eobs)


def test_amounts_are_coded_with_the_carin_category_and_the_cms_variable(eobs):
    """Every line amount of Parts A and B is coded twice, as BFD codes it: a CARIN BB category (HL7 adjudication
    or C4BBAdjudication) and the CMS variable, whose code in `.../codesystem/adjudication` is its URL; claim
    amounts CMS files in benefitBalance are coded by their variable."""
    checked = 0
    for eob in eobs:
        for item in eob["item"]:
            for adjudication in item["adjudication"]:
                if "amount" not in adjudication:
                    continue
                systems = [coding["system"] for coding in adjudication["category"]["coding"]]
                cms = [coding for coding in adjudication["category"]["coding"]
                       if coding["system"] == "https://bluebutton.cms.gov/resources/codesystem/adjudication"]
                assert len(cms) == 1 and cms[0]["code"].startswith(CMS) and cms[0]["display"]
                assert systems[0] in CARIN_ADJUDICATION
                checked += 1
        for balance in eob.get("benefitBalance", []):
            assert all(f["type"]["coding"][0]["code"].startswith(CMS) for f in balance["financial"])
    assert checked > 500


def test_decimals_are_written_and_served_as_cms_writes_them(plan):
    """Money is written as CMS writes it, a decimal with its point even for whole dollars (`2548.0`, `0.0`), and
    the mock keeps each resource's text as written (mockpayer.resources), so it serves `2548.0`, not `2548`.
    The one bare `0` is Part D's `other` total, which BFD writes so."""
    text = b"".join(path.read_bytes() for path in sorted((plan / "data").glob("*.json")))
    values = re.findall(rb'"value":(-?[0-9.]+),"currency":"USD"', text)
    assert values and all(b"." in value for value in values if value != b"0")
    assert text.count(b'{"value":0,"currency":"USD"}') == text.count(b'"code":"PDE"')
    whole = [value for value in values if value.endswith(b".0")]
    assert len(whole) > 100
    served = load_plan_resources(plan).data
    claim = next(stored for stored in served.of_type("ExplanationOfBenefit") if '"value":0.0' in stored.text)
    assert orjson.loads(claim.text) == claim.resource and '"value":0.0,' in claim.text


def test_the_money_model_reads_each_claim_types_amounts(eobs):
    """mirror.web.money answers each claim type's questions as its CMS variables state them
    (tests/web/test_money_rules.medicare_expected: billed, allowed where stated, plan paid, you owe and its
    parts), and what it reads is Medicare's arithmetic: on a Part B claim allowed = plan paid + you owe; Medicare
    pays `payment.amount`; home health and hospice cost nothing; a Part D fill's cost is plan paid + you owe."""
    compared = Counter()
    for eob in eobs:
        kind, money = medicare_type(eob), claim_money(eob)
        for name, amount in medicare_expected(eob).items():
            assert getattr(money, name) == amount.quantize(Decimal("0.01")), (eob["id"], name)
            compared[kind] += 1
        if kind in ("carrier", "dme"):
            assert money.allowed == money.plan_paid + money.you_owe and money.share_adds_up()
        if kind != "pde":
            assert money.plan_paid == Decimal(str(eob["payment"]["amount"]["value"])).quantize(Decimal("0.01"))
        if kind in ("hha", "hospice"):
            assert money.you_owe == 0
        if kind == "pde":
            assert money.billed == money.plan_paid + money.you_owe
        assert money.billed >= money.plan_paid + money.you_owe, eob["id"]
    assert set(compared) == CLAIM_TYPES and all(count >= 3 for count in compared.values())


def test_a_dme_line_states_its_provider_payment_twice_and_it_counts_once(eobs):
    """BFD's DME lines carry the provider payment as rev_cntr_prvdr_pmt_amt and again as line_prvdr_pmt_amt; a
    line's plan paid is that payment once, what Medicare paid on it (line_nch_pmt_amt)."""
    lines = [item for eob in eobs if medicare_type(eob) == "dme" for item in eob["item"]]
    paid = [next(a["amount"]["value"] for a in item["adjudication"]
                 if a["category"]["coding"][-1]["code"] == CMS + "line_nch_pmt_amt") for item in lines]
    assert any(paid)  # a line Medicare paid something on, or twice nothing would pass
    assert [line_money(item).plan_paid for item in lines] == [Decimal(str(p)).quantize(Decimal("0.01")) for p in paid]


def test_cost_sharing_follows_medicare(eobs):
    """Part B: each year's deductibles add up to at most that year's Part B deductible, and a line's coinsurance is
    20% of what the deductible leaves of its allowed amount, none on a preventive service or lab test. Part A: an
    inpatient stay owes the year's Part A
    deductible or (within a benefit period already paid for) nothing; a SNF stay owes the day coinsurance."""
    part_b = defaultdict(int)
    for eob in eobs:
        kind, year = medicare_type(eob), int(eob["billablePeriod"]["start"][:4])
        money = claim_money(eob)
        if kind in ("carrier", "dme", "outpatient"):
            part_b[(eob["patient"]["reference"], year)] += cents(money.deductible)
        if kind in ("carrier", "dme"):
            for item in eob["item"]:
                line = line_money(item)
                free = item["extension"][-1]["valueCoding"]["code"] == "1"  # line_service_deductible: not subject
                expected = 0 if free else (cents(line.allowed) - cents(line.deductible)) * 20 // 100
                assert cents(line.coinsurance) == expected and (not free or line.deductible == 0)
        if kind == "inpatient":
            assert cents(money.deductible) in (0, for_year(PART_A_DEDUCTIBLE, year)) and cents(money.coinsurance) == 0
        if kind == "snf":
            days = next(f["usedUnsignedInt"] for b in eob["benefitBalance"] for f in b["financial"]
                        if f["type"]["coding"][0]["code"] == CMS + "bene_tot_coinsrnc_days_cnt")
            assert cents(money.coinsurance) == days * for_year(SNF_DAY_COINSURANCE, year)
    assert all(used <= for_year(PART_B_DEDUCTIBLE, year) for (_, year), used in part_b.items())
    assert any(used == for_year(PART_B_DEDUCTIBLE, year) for (_, year), used in part_b.items())


def _claim_dates(eob: dict) -> dict:
    """A claim's dates by what they mean: the last day of service, when it was processed (Parts A and B), created,
    paid (Part D) and last updated; instants by their UTC day, as BFD writes them."""
    service = [eob["billablePeriod"]["end"]] + [day for item in eob["item"] for day in
                                                (item.get("servicedDate"), item.get("servicedPeriod", {}).get("end"))
                                                if day]
    processed = [info["timingDate"] for info in eob.get("supportingInfo", [])
                 if any(coding["code"] == "clmrecvddate" for coding in info["category"]["coding"])]
    return {"service": max(service), "processed": processed[0] if processed else None,
            "created": eob["created"][:10], "paid": eob["payment"].get("date"), "updated": eob["meta"]["lastUpdated"][:10]}


@pytest.mark.parametrize("source", ["small", "bundled"])
def test_a_claims_dates_follow_one_another_as_a_real_claims_do(eobs, source):
    """Every generated claim, of every type: served, then processed (`nch_wkly_proc_dt`), then created, or for a
    Part D event created the day of the fill, then paid (`payment.date`); last updated after all of them, and
    nothing after the generator's today."""
    claims = eobs if source == "small" else [r for r in resources(PLANS / "bluebutton")
                                             if r["resourceType"] == "ExplanationOfBenefit"]
    paid = 0
    for eob in claims:
        dates = _claim_dates(eob)
        order = [dates[name] for name in ("service", "processed", "created", "paid", "updated") if dates[name]]
        assert order == sorted(order) and order[-1] < str(REFERENCE_TODAY), (eob["id"], dates)
        assert (dates["paid"] is not None) == (medicare_type(eob) == "pde")
        assert (dates["processed"] is not None) == (medicare_type(eob) != "pde")
        paid += dates["paid"] is not None and dates["created"] < dates["paid"]
    assert paid > 0  # a fill is paid days after it, not only the same day


def _substance_use_claims(claims: list[dict]) -> list[dict]:
    return [eob for eob in claims if is_samhsa_related(eob)]


@pytest.mark.parametrize("source", ["small", "bundled"])
def test_two_claims_are_of_substance_use_disorder_treatment(eobs, source):
    """The first beneficiary's first two carrier visits also treat alcohol dependence (ICD-10-CM F10.20, written
    as CMS writes it, `F1020`), so that `excludeSAMHSA=true` has claims to leave out (42 CFR Part 2); no other
    claim is SAMHSA-related, and the rest of each claim is the visit it was."""
    claims = eobs if source == "small" else [r for r in resources(PLANS / "bluebutton")
                                             if r["resourceType"] == "ExplanationOfBenefit"]
    first = claims[0]["patient"]["reference"]
    carriers = [eob for eob in claims if eob["patient"]["reference"] == first and medicare_type(eob) == "carrier"]
    assert _substance_use_claims(claims) == carriers[:2]
    for eob in carriers[:2]:
        codes = [coding["code"] for diagnosis in eob["diagnosis"]
                 for coding in diagnosis["diagnosisCodeableConcept"]["coding"]]
        assert "F1020" in codes and codes[0] != "F1020"


def test_the_bundled_bluebutton_plan(capsys):
    """fixtures/plans/bluebutton (made by the command in mockpayer/generate/__init__.py; tests/test_generate.py
    checks it equals the generator's output): mode bluebutton, five beneficiaries with Blue Button sandbox
    logins, the first with several years of claims, the second with one; every claim type; a confidential client
    registered with the CMS SDK samples' callback and a public one, both with loopback redirects."""
    plan = load_plan(PLANS / "bluebutton")
    assert plan.mode == "bluebutton" and len(plan.members) == 5
    assert [m.username for m in plan.members.values()] == [f"BBUser0000{n}" for n in range(1, 6)]
    assert [m.password for m in plan.members.values()] == [f"PW0000{n}!" for n in range(1, 6)]
    confidential, public = plan.clients.values()
    assert confidential.client_secret and not public.client_secret
    assert "http://localhost:3000/api/bluebutton/callback/" in confidential.redirect_uris
    assert all(any(uri.startswith(("http://127.0.0.1", "http://localhost")) for uri in client.redirect_uris)
               for client in (confidential, public))
    claims = [r for r in resources(PLANS / "bluebutton") if r["resourceType"] == "ExplanationOfBenefit"]
    assert {medicare_type(eob) for eob in claims} == CLAIM_TYPES
    years = defaultdict(set)
    for eob in claims:
        years[eob["patient"]["reference"]].add(eob["billablePeriod"]["start"][:4])
    first, second = (f"Patient/{m.patient_id}" for m in list(plan.members.values())[:2])
    assert len(years[first]) >= 4 and len(years[second]) == 1
    assert sum(eob["patient"]["reference"] == second for eob in claims) == 1
    assert mockpayer_main(["check", str(PLANS / "bluebutton")]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_the_command_line_takes_the_profile_and_counts_per_member(tmp_path, capsys):
    assert mockpayer_main(["generate", "--profile", "bluebutton", "--out", str(tmp_path / "plan"),
                           "--claims-per-member", "3,0", "--members", "2", "--seed", "1"]) == 0
    assert "2 members, 3 claims" in capsys.readouterr().out
    settings = orjson.loads((tmp_path / "plan" / "plan.json").read_bytes())
    assert settings["mode"] == "bluebutton" and settings["paging"]["max_count"] == 50
    assert not (tmp_path / "plan" / "directory").exists()


@pytest.mark.parametrize("options, message", [
    (["--clinical"], "mockpayer: generate: the bluebutton profile serves Patient, Coverage and ExplanationOfBenefit"),
    (["--days", "2"], "mockpayer: generate: the bluebutton profile serves Patient, Coverage and ExplanationOfBenefit"),
])
def test_options_the_profile_cannot_honour_end_in_one_line(tmp_path, capsys, options, message):
    assert mockpayer_main(["generate", "--profile", "bluebutton", "--out", str(tmp_path), *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_claim_counts_must_be_counts(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        mockpayer_main(["generate", "--out", str(tmp_path), "--claims-per-member", "3,x"])
    assert exit_.value.code == 2 and "not a count or comma-separated counts: '3,x'" in capsys.readouterr().err
