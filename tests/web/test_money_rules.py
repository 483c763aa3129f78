"""Every claim the bundled plans serve (every day), and every CARIN and Synthea claim of the real examples, shows
money that agrees with its own JSON by the README's first rules: what a claim's `total` states by CARIN category,
and `payment.amount` for plan paid when no total says it; a Medicare claim (CMS Blue Button, coded by its
`eob-type`) by the CMS variables that state each amount for its claim type. The expected amounts are read here
from the JSON, independently of mirror.web.money."""

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from mirror.web.claims import is_claim
from mirror.web.money import claim_money
from tests.example_data import example_folder

PLANS = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
CMS_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"
EOB_TYPE = "https://bluebutton.cms.gov/resources/codesystem/eob-type"


def _resources(path: Path) -> list[dict]:
    document = orjson.loads(path.read_bytes())
    if document.get("resourceType") == "Bundle":
        return [entry["resource"] for entry in document.get("entry", [])]
    return [document]


def _claims(paths) -> list[dict]:
    return [resource for path in paths for resource in _resources(path)
            if resource.get("resourceType") == "ExplanationOfBenefit" and is_claim(resource)]


def _stated_totals(eob: dict) -> dict[str, Decimal]:
    """The claim's `total` by CARIN category, leaving out any total CMS also codes with its own variable."""
    stated: dict[str, Decimal] = {}
    for total in eob.get("total", []):
        codings = total["category"].get("coding", [])
        if any(coding.get("system", "").startswith(CMS_VARIABLES) for coding in codings):
            continue
        for coding in codings:
            stated[coding["code"]] = stated.get(coding["code"], Decimal(0)) + Decimal(str(total["amount"]["value"]))
    return stated


def medicare_type(eob: dict) -> str | None:
    """A Blue Button claim's type (carrier, dme, hha, hospice, inpatient, outpatient, pde, snf), else None."""
    return next((coding["code"].lower() for coding in eob.get("type", {}).get("coding", [])
                 if coding.get("system") == EOB_TYPE), None)


def _cms_amounts(adjudications: list[dict]) -> dict[str, Decimal]:
    """Amount per CMS variable name (the `.../codesystem/adjudication` or `benefit-balance` code)."""
    found: dict[str, Decimal] = {}
    for entry in adjudications:
        money = entry.get("amount") or entry.get("usedMoney")
        for coding in (entry.get("category") or entry.get("type") or {}).get("coding", []):
            if money and coding.get("code", "").startswith(CMS_VARIABLES):
                name = coding["code"].removeprefix(CMS_VARIABLES)
                found[name] = found.get(name, Decimal(0)) + Decimal(str(money["value"]))
    return found


def medicare_expected(eob: dict) -> dict[str, Decimal]:
    """What a Medicare claim states, by claim type, from the CMS variables that carry each amount there:
    carrier and DME claims file the charge, allowed amount and payments in `benefitBalance` and the member's
    deductible and coinsurance on the lines; outpatient claims the charge in `total`, the payments and the
    Part B deductible and coinsurance in `benefitBalance`; Part A stays the charge in `total`, Medicare's
    payment in `payment` and the Part A deductible, coinsurance and their sum in `benefitBalance`; home health
    and hospice owe nothing but what the total line (revenue code 0001) says is not covered; a Part D event its
    drug cost, the plan's payment and what the member paid on its line."""
    kind = medicare_type(eob)
    claim = _cms_amounts(eob.get("total", []) + [financial for balance in eob.get("benefitBalance", [])
                                                  for financial in balance.get("financial", [])])
    lines = _cms_amounts([adjudication for item in eob.get("item", []) for adjudication in item.get("adjudication", [])
                          if "0001" not in [coding["code"] for coding in item.get("revenue", {}).get("coding", [])]])
    total_line = _cms_amounts([adjudication for item in eob.get("item", []) for adjudication in item.get("adjudication", [])
                               if "0001" in [coding["code"] for coding in item.get("revenue", {}).get("coding", [])]])
    zero = Decimal(0)
    payment = Decimal(str(eob["payment"]["amount"]["value"])) if "amount" in eob.get("payment", {}) else None
    if kind in ("carrier", "dme"):
        return {"billed": claim["nch_carr_clm_sbmtd_chrg_amt"], "allowed": claim["nch_carr_clm_alowd_amt"],
                "plan_paid": claim["nch_clm_prvdr_pmt_amt"] + claim["nch_clm_bene_pmt_amt"],
                "you_owe": lines["line_bene_ptb_ddctbl_amt"] + lines["line_coinsrnc_amt"],
                "deductible": lines["line_bene_ptb_ddctbl_amt"], "coinsurance": lines["line_coinsrnc_amt"]}
    if kind == "pde":
        return {"billed": lines["tot_rx_cst_amt"], "plan_paid": lines["cvrd_d_plan_pd_amt"] + lines.get("ncvrd_plan_pd_amt", zero),
                "you_owe": lines["ptnt_pay_amt"]}
    if kind == "outpatient":
        deductible = claim["nch_bene_ptb_ddctbl_amt"] + claim.get("nch_bene_blood_ddctbl_lblty_am", zero)
        return {"billed": claim["clm_tot_chrg_amt"], "plan_paid": claim["clm_op_prvdr_pmt_amt"] + claim["clm_op_bene_pmt_amt"],
                "you_owe": deductible + claim["nch_bene_ptb_coinsrnc_amt"], "deductible": deductible,
                "coinsurance": claim["nch_bene_ptb_coinsrnc_amt"]}
    if kind in ("inpatient", "snf"):
        return {"billed": claim["clm_tot_chrg_amt"], "plan_paid": payment, "you_owe": claim["nch_ip_tot_ddctn_amt"],
                "deductible": claim["nch_bene_ip_ddctbl_amt"] + claim.get("nch_bene_blood_ddctbl_lblty_am", zero),
                "coinsurance": claim["nch_bene_pta_coinsrnc_lblty_amt"], "noncovered": claim["nch_ip_ncvrd_chrg_amt"]}
    if kind in ("hha", "hospice"):
        return {"billed": claim["clm_tot_chrg_amt"], "plan_paid": payment,
                "you_owe": total_line["rev_cntr_ncvrd_chrg_amt"], "noncovered": total_line["rev_cntr_ncvrd_chrg_amt"]}
    return {}


def _expected(eob: dict) -> dict[str, Decimal]:
    """README "The money on a claim", first column, then `payment.amount` for plan paid; a Medicare claim by its
    type's CMS variables."""
    if medicare_type(eob):
        return medicare_expected(eob)
    totals, expected = _stated_totals(eob), {}
    if "submitted" in totals:
        expected["billed"] = totals["submitted"]
    if "eligible" in totals:
        expected["allowed"] = totals["eligible"]
    if "paidtoprovider" in totals or "paidtopatient" in totals:
        expected["plan_paid"] = totals.get("paidtoprovider", Decimal(0)) + totals.get("paidtopatient", Decimal(0))
    elif "benefit" in totals:
        expected["plan_paid"] = totals["benefit"]
    elif "amount" in eob.get("payment", {}):
        expected["plan_paid"] = Decimal(str(eob["payment"]["amount"]["value"]))
    if "memberliability" in totals:
        expected["you_owe"] = totals["memberliability"]
    for part in ("deductible", "copay", "coinsurance", "noncovered"):
        if part in totals:
            expected[part] = totals[part]
    return expected


def _check(claims: list[dict]) -> int:
    """Asserts each claim's money; answers how many amounts were compared."""
    compared = 0
    for eob in claims:
        money = claim_money(eob)
        for name, amount in _expected(eob).items():
            shown = getattr(money, name)
            assert shown == amount.quantize(Decimal("0.01")), (eob["id"], name, shown, amount)
            compared += 1
    return compared


@pytest.mark.parametrize("plan", sorted(path.name for path in PLANS.iterdir() if (path / "plan.json").exists()))
def test_every_bundled_claim_agrees_with_its_own_json(plan):
    folder = PLANS / plan
    claims = _claims(sorted(folder.glob("data/*.json")) + sorted(folder.glob("days/*/data/*.json")))
    assert claims, f"{plan} serves no claims"
    # billed, allowed, plan paid and you owe at least, on every claim; Medicare states no allowed amount on Part A,
    # outpatient and Part D claims
    medicare = sum(1 for eob in claims if medicare_type(eob))
    assert _check(claims) >= 4 * (len(claims) - medicare) + 3 * medicare


@pytest.mark.parametrize("source", ["carin-bb-2.0.0", "synthea-r4"])
def test_every_corpus_claim_agrees_with_its_own_json(source):
    claims = _claims(sorted(example_folder(source).glob("*.json")))
    assert claims, f"no claims in {source}"
    assert _check(claims) > 0
