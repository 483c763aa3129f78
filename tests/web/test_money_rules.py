"""Every claim the bundled plans serve (every day), and every CARIN and Synthea claim of the shared corpus, shows
money that agrees with its own JSON by the README's first rules: what a claim's `total` states by CARIN category,
and `payment.amount` for plan paid when no total says it. The expected amounts are read here from the JSON,
independently of mirror.web.money."""

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from mirror.web.claims import is_claim
from mirror.web.money import claim_money
from tests.mockpayer.corpus import corpus_folder

PLANS = Path(__file__).resolve().parents[2] / "fixtures" / "plans"
CMS_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"


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


def _expected(eob: dict) -> dict[str, Decimal]:
    """README "The money on a claim", first column, then `payment.amount` for plan paid."""
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
    assert _check(claims) >= 4 * len(claims)  # billed, allowed, plan paid and you owe at least, on every claim


@pytest.mark.parametrize("source", ["carin-bb-2.0.0", "synthea-r4"])
def test_every_corpus_claim_agrees_with_its_own_json(source):
    claims = _claims(sorted(corpus_folder(source).glob("*.json")))
    assert claims, f"no claims in {source}"
    assert _check(claims) > 0
