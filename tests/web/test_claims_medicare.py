"""Medicare claims (the bundled Blue Button plan, shaped as CMS's server writes them) in plain words: each of Blue
Button's eight claim types named as Medicare names it to its members, the provider a claim names inside itself
(a contained Organization, `#provider-org`) resolved, and no "N/A" taken for a reason the claim was denied."""

import json

import pytest

from mirror.web.claims import MEDICARE_KINDS, summarize
from mirror.web.money import claim_money, is_total_charge_line, line_money
from mirror.web.records import coverage_summary
from mirror.web.service_names import service_name
from mockpayer.plans import BUNDLED_PLANS_DIR


@pytest.fixture(scope="module")
def records() -> dict[tuple[str, str], dict]:
    bundle = json.loads((BUNDLED_PLANS_DIR / "bluebutton" / "data" / "member-1.json").read_text(encoding="utf-8"))
    return {(entry["resource"]["resourceType"], entry["resource"]["id"]): entry["resource"]
            for entry in bundle["entry"]}


@pytest.fixture(scope="module")
def claims(records):
    return {record_id: summarize(resource, lambda kind, key: records.get((kind, key)))
            for (kind, record_id), resource in records.items() if kind == "ExplanationOfBenefit"}


def test_every_medicare_claim_type_is_named_as_medicare_names_it(claims):
    named = {claim_id.split("-")[0]: (claim.kind, claim.kind_label) for claim_id, claim in claims.items()}
    assert named == {code: (f"medicare-{code}", MEDICARE_KINDS[f"medicare-{code}"])
                     for code in ("carrier", "dme", "hha", "hospice", "inpatient", "outpatient", "pde", "snf")}
    assert named["pde"][1] == "Part D drug fill" and named["carrier"][1] == "Part B doctor or supplier"


def test_a_provider_named_inside_the_claim_is_resolved(claims, records):
    institutional = [claim_id for claim_id in claims
                     if records[("ExplanationOfBenefit", claim_id)].get("provider", {}).get("reference", "").startswith("#")]
    assert institutional
    for claim_id in institutional:
        contained = {found["id"]: found for found in records[("ExplanationOfBenefit", claim_id)]["contained"]}
        reference = records[("ExplanationOfBenefit", claim_id)]["provider"]["reference"]
        assert claims[claim_id].provider == contained[reference[1:]]["name"] != "Unknown provider"


def test_blue_buttons_na_reduced_payment_code_is_no_denial_reason(claims, records):
    carrier = [claim_id for claim_id in claims if claim_id.startswith("carrier")]
    assert carrier and any('"display":"N/A"' in json.dumps(records[("ExplanationOfBenefit", claim_id)], separators=(",", ":"))
                           for claim_id in carrier)
    assert all(not claims[claim_id].denial_reasons for claim_id in carrier)


def test_medicare_coverage_names_its_payer_as_blue_button_writes_it(records):
    """Blue Button writes the payer as `payor.identifier.value` ("Centers for Medicare and Medicaid Services"), no
    reference: the coverage page names it; an identifier that is only a number names nobody."""
    parts = [resource for (kind, _), resource in records.items() if kind == "Coverage"]
    assert len(parts) == 4
    for coverage in parts:
        assert coverage_summary(coverage, lambda kind, key: None).payer == "Centers for Medicare and Medicaid Services"
    numbered = {**parts[0], "payor": [{"identifier": {"value": "123456"}}]}
    assert coverage_summary(numbered, lambda kind, key: None).payer == "Unknown payer"


def test_a_hospital_line_stating_only_its_non_covered_charge_does_not_say_you_owe_nothing(records):
    """A Part A claim's lines state only `rev_cntr_ncvrd_chrg_amt` (0.0), what the plan did not cover, while the
    claim says what the beneficiary owes (its deductible): each such line's You owe is "not stated", never $0.00
    beside a claim that owes $1,400 or more."""
    stays = [resource for (kind, record_id), resource in records.items()
             if kind == "ExplanationOfBenefit" and record_id.startswith("inpatient")]
    assert stays
    for stay in stays:
        lines = [item for item in stay["item"] if not is_total_charge_line(item)]
        assert claim_money(stay).you_owe is not None
        for item in lines:
            stated = {code for adjudication in item.get("adjudication", [])
                      for coding in adjudication["category"]["coding"] for code in [coding["code"]]}
            if not stated & {"memberliability", "paidbypatient", "deductible", "copay", "coinsurance"}:
                assert line_money(item).you_owe is None, (stay["id"], stated)


def test_every_medicare_service_is_named_in_words(records):
    """Blue Button sends HCPCS codes without a display: each line of the bundled Medicare claims is named in words
    from the table of common codes, never "Procedure E0260"."""
    names = {service_name(item) for (kind, _), resource in records.items() if kind == "ExplanationOfBenefit"
             for item in resource.get("item", [])}
    assert "Hospital bed for home" in names and "Part D" not in names
    assert not [name for name in names if name.startswith(("Procedure ", "Revenue code "))]
