"""CARIN BB adjudication and cost share: the money on every claim adds up.

Per line and per claim, benefit + member liability = eligible (allowed) <= submitted, and member liability =
deductible + copay + coinsurance, tracked per member and calendar year against the plan's deductible and
out-of-pocket maximum; each claim's `benefitBalance` says how much of both the year had used once it was
processed.
"""

from __future__ import annotations

from mockpayer.generate.codes import ADJUDICATION_CS, C4BB_ADJUDICATION_CS, CARIN, PCT_FINANCIAL_TYPE, concept
from mockpayer.generate.members import Member
from mockpayer.generate.tables import (
    COINSURANCE_PERCENT,
    COPAY_BRAND,
    COPAY_ER,
    COPAY_GENERIC,
    COPAY_INPATIENT,
    OUT_OF_NETWORK_LIMIT_FACTOR,
)

def money(cents: int) -> dict:
    return {"value": cents / 100, "currency": "USD"}


# Adjudication amount categories, in the order every line and total lists them (CARIN BB 2.0.0 examples).
AMOUNT_CATEGORIES = (
    ("submitted", ADJUDICATION_CS, "Submitted Amount"),
    ("eligible", ADJUDICATION_CS, "Eligible Amount"),
    ("discount", C4BB_ADJUDICATION_CS, "Discount"),
    ("deductible", ADJUDICATION_CS, "Deductible"),
    ("copay", ADJUDICATION_CS, "CoPay"),
    ("coinsurance", C4BB_ADJUDICATION_CS, "Co-insurance"),
    ("memberliability", C4BB_ADJUDICATION_CS, "Member liability"),
    ("benefit", ADJUDICATION_CS, "Benefit Amount"),
    ("paidtoprovider", C4BB_ADJUDICATION_CS, "Paid to provider"),
)
AMOUNT_CONCEPTS = {code: concept(system, code, display) for code, system, display in AMOUNT_CATEGORIES}
IN_NETWORK = concept(CARIN + "/CodeSystem/C4BBPayerAdjudicationStatus", "innetwork", "In Network")


def status_adjudication(category: str) -> dict:
    return {"category": concept(CARIN + "/CodeSystem/C4BBAdjudicationDiscriminator", category), "reason": IN_NETWORK}


def amount_adjudications(amounts: dict[str, int]) -> list[dict]:
    """Adjudication (or total) entries for every amount category; the same shape serves EOB.total."""
    return [{"category": AMOUNT_CONCEPTS[code], "amount": money(amounts[code])} for code, _, _ in AMOUNT_CATEGORIES]


def add_amounts(total: dict[str, int], amounts: dict[str, int]) -> None:
    for code, value in amounts.items():
        total[code] = total.get(code, 0) + value


def cost_share(member: Member, year: int, eligible: int, rule: str) -> tuple[int, int, int]:
    """Deductible, copay and coinsurance for one line under the member's plan design, within the year's limits."""
    _, _, deductible_limit, oop_limit, pcp_copay, specialist_copay = member.design
    remaining = member.cost_years.setdefault(year, [deductible_limit, oop_limit])
    deductible = copay = coinsurance = 0
    if rule in ("copay_pcp", "copay_specialist", "er", "rx_generic", "rx_brand"):
        copay = min(eligible, {"copay_pcp": pcp_copay, "copay_specialist": specialist_copay, "er": COPAY_ER,
                               "rx_generic": COPAY_GENERIC, "rx_brand": COPAY_BRAND}[rule])
    elif rule in ("deductible", "inpatient"):
        if rule == "inpatient":
            copay = min(eligible, COPAY_INPATIENT)
        deductible = min(remaining[0], eligible - copay)
        coinsurance = (eligible - copay - deductible) * COINSURANCE_PERCENT // 100
    elif rule in ("dental_basic", "dental_major"):
        coinsurance = eligible * (20 if rule == "dental_basic" else 50) // 100
    overflow = deductible + copay + coinsurance - remaining[1]
    if overflow > 0:  # the out-of-pocket maximum is reached: the plan pays the rest
        for_coinsurance = min(overflow, coinsurance)
        coinsurance -= for_coinsurance
        overflow -= for_coinsurance
        for_copay = min(overflow, copay)
        copay -= for_copay
        deductible -= overflow - for_copay
    remaining[0] -= deductible
    remaining[1] -= deductible + copay + coinsurance
    return deductible, copay, coinsurance


def benefit_balance(member: Member, year: int) -> list[dict]:
    """So that a member's claims show how much of the year's deductible and out-of-pocket limit is used.

    The year's deductible and out-of-pocket maximum, in and out of network, with what the member's claims
    processed so far used of them (every generated claim is in network, so out of network nothing is used).
    The deductible is an R4 benefit type; the out-of-pocket maximum has none, so it is Da Vinci PCT's."""
    _, _, deductible_limit, oop_limit, _, _ = member.design
    remaining = member.cost_years.get(year, [deductible_limit, oop_limit])
    balances = []
    for network, display, factor, used in (("in", "In Network", 1, (deductible_limit - remaining[0], oop_limit - remaining[1])),
                                           ("out", "Out of Network", OUT_OF_NETWORK_LIMIT_FACTOR, (0, 0))):
        balances.append({
            "category": concept("http://terminology.hl7.org/CodeSystem/ex-benefitcategory", "30", "Health Benefit Plan Coverage"),
            "network": concept("http://terminology.hl7.org/CodeSystem/benefit-network", network, display),
            "unit": concept("http://terminology.hl7.org/CodeSystem/benefit-unit", "individual", "Individual"),
            "term": concept("http://terminology.hl7.org/CodeSystem/benefit-term", "annual", "Annual"),
            "financial": [
                {"type": concept("http://terminology.hl7.org/CodeSystem/benefit-type", "deductible", "Deductible"),
                 "allowedMoney": money(deductible_limit * factor), "usedMoney": money(used[0])},
                {"type": concept(PCT_FINANCIAL_TYPE, "out-of-pocket-maximum", "Out-of-Pocket Maximum"),
                 "allowedMoney": money(oop_limit * factor), "usedMoney": money(used[1])},
            ],
        })
    return balances


def adjudicate(member: Member, submitted: int, allowed_share: float, rule: str, year: int) -> dict[str, int]:
    eligible = min(submitted, round(submitted * allowed_share))
    deductible, copay, coinsurance = cost_share(member, year, eligible, rule)
    liability = deductible + copay + coinsurance
    return {"submitted": submitted, "eligible": eligible, "discount": submitted - eligible, "deductible": deductible,
            "copay": copay, "coinsurance": coinsurance, "memberliability": liability, "benefit": eligible - liability,
            "paidtoprovider": eligible - liability}
