"""Claims (CARIN Blue Button ExplanationOfBenefit) in plain words: what it was, who, when, and the money.

EOBs are code-dense: the amounts a member cares about hide in adjudication categories from two code
systems (the base `adjudication` codes and CARIN's `C4BBAdjudication`). This module reads them the way the
CARIN IG defines them, preferring the claim's totals and falling back to the sum of its lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mirror.fhir.dates import element_range
from mirror.web.readable import Resolver, as_list, codes, display, mappings, party_name, text

KINDS = {
    "institutional": "Hospital or facility",
    "professional": "Doctor or other professional",
    "pharmacy": "Pharmacy",
    "oral": "Dental",
    "vision": "Vision",
}
INPATIENT_SUBTYPES = {"inpatient": "Hospital stay (inpatient)", "outpatient": "Hospital or facility (outpatient)"}

# Which adjudication category answers which question, in order of preference (CARIN BB 2.0 value sets).
BILLED = ("submitted",)
ALLOWED = ("eligible",)
PLAN_PAID = ("benefit", "paidtoprovider")
MEMBER_OWES = ("memberliability", "paidbypatient")
MEMBER_SHARE_PARTS = ("deductible", "copay", "coinsurance", "noncovered")



@dataclass
class Money:
    billed: Decimal | None = None
    allowed: Decimal | None = None
    plan_paid: Decimal | None = None
    member_owes: Decimal | None = None


@dataclass
class ClaimSummary:
    id: str
    kind: str  # a key of KINDS, or "inpatient"/"outpatient" for institutional claims
    kind_label: str
    service_start: str | None
    service_end: str | None
    provider: str
    facility: str | None
    care_team: list[str]
    reasons: list[str]  # diagnosis displays
    services: list[str]  # item displays
    money: Money
    status: str | None
    year: int | None = field(default=None)


def summarize(eob: Mapping, resolve: Resolver) -> ClaimSummary:
    """`resolve(type, id)` finds a referenced resource the member has, or None."""
    kind, label = _kind(eob)
    start, end = _service_dates(eob)
    year_source = start or text(eob.get("created"))
    return ClaimSummary(
        id=str(eob.get("id", "")),
        kind=kind,
        kind_label=label,
        service_start=start,
        service_end=end if end != start else None,
        provider=party_name(eob.get("provider"), resolve) or "Unknown provider",
        facility=party_name(eob.get("facility"), resolve) or _location(eob),
        care_team=[name for name in (party_name(member.get("provider"), resolve) for member in mappings(eob.get("careTeam")))
                   if name],
        reasons=_unique(display(d.get("diagnosisCodeableConcept")) for d in mappings(eob.get("diagnosis"))),
        services=_unique(display(item.get("productOrService")) for item in mappings(eob.get("item"))),
        money=claim_money(eob),
        status=text(eob.get("outcome")) or text(eob.get("status")),
        year=int(year_source[:4]) if year_source and year_source[:4].isdigit() else None,
    )


@dataclass
class LineSummary:
    sequence: object
    service: str
    date: str | None
    money: Money


def line_summaries(eob: Mapping) -> list[LineSummary]:
    """Each service line with its own money, for a claim's detail page."""
    return [LineSummary(item.get("sequence"), display(item.get("productOrService")) or "Not described",
                        min(_item_dates(item), default=None), claim_money({"item": [item]}))
            for item in mappings(eob.get("item"))]


def claim_money(eob: Mapping) -> Money:
    """The claim's totals by category; where a claim has no total for a category, the sum over its lines."""
    totals = _amounts(mappings(eob.get("total")))
    lines: dict[str, Decimal] = {}
    for item in mappings(eob.get("item")):
        for code, amount in _amounts(mappings(item.get("adjudication"))).items():
            lines[code] = lines.get(code, Decimal(0)) + amount
    amounts = {**lines, **totals}
    member_owes = _first(amounts, MEMBER_OWES)
    if member_owes is None and any(code in amounts for code in MEMBER_SHARE_PARTS):
        member_owes = sum((amounts.get(code, Decimal(0)) for code in MEMBER_SHARE_PARTS), Decimal(0))
    return Money(_first(amounts, BILLED), _first(amounts, ALLOWED), _first(amounts, PLAN_PAID), member_owes)


def yearly_totals(claims: Iterable[ClaimSummary]) -> dict[int, Money]:
    totals: dict[int, Money] = {}
    for claim in claims:
        if claim.year is None:
            continue
        year = totals.setdefault(claim.year, Money(Decimal(0), Decimal(0), Decimal(0), Decimal(0)))
        for name in ("billed", "allowed", "plan_paid", "member_owes"):
            value = getattr(claim.money, name)
            if value is not None:
                setattr(year, name, getattr(year, name) + value)
    return dict(sorted(totals.items(), reverse=True))


def _kind(eob: Mapping) -> tuple[str, str]:
    kind = next((code for code in codes(eob.get("type")) if code in KINDS), "other")
    if kind == "institutional":
        subtype = " ".join(codes(eob.get("subType")) + [display(eob.get("subType")).lower()])
        meta = eob.get("meta") if isinstance(eob.get("meta"), Mapping) else {}
        profile = " ".join(str(p) for p in as_list(meta.get("profile"))).lower()
        for name, label in INPATIENT_SUBTYPES.items():
            if name in subtype or name in profile:
                return name, label
    return kind, KINDS.get(kind, "Other")


def _service_dates(eob: Mapping) -> tuple[str | None, str | None]:
    period = eob.get("billablePeriod") if isinstance(eob.get("billablePeriod"), Mapping) else {}
    start, end = text(period.get("start")), text(period.get("end"))
    if start:
        return start[:10], (end or start)[:10]
    dates = sorted(d for item in mappings(eob.get("item")) for d in _item_dates(item))
    return (dates[0], dates[-1]) if dates else (None, None)


def _item_dates(item: Mapping) -> list[str]:
    served = item.get("servicedPeriod") if isinstance(item.get("servicedPeriod"), Mapping) else {}
    values = [item.get("servicedDate"), served.get("start"), served.get("end")]
    return [value[:10] for value in values if isinstance(value, str) and element_range(value) is not None]


def _location(eob: Mapping) -> str | None:
    for item in mappings(eob.get("item")):
        place = display(item.get("locationCodeableConcept"))
        if place:
            return place
    return None


def _amounts(adjudications: list) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for adjudication in adjudications:
        if not isinstance(adjudication, Mapping) or not isinstance(adjudication.get("amount"), Mapping):
            continue
        value = adjudication["amount"].get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            continue
        for code in codes(adjudication.get("category")):
            found[code] = found.get(code, Decimal(0)) + Decimal(str(value))
    return found


def _first(amounts: Mapping[str, Decimal], categories: tuple[str, ...]) -> Decimal | None:
    return next((amounts[code] for code in categories if code in amounts), None)


def _unique(values: Iterable[str]) -> list[str]:
    return [value for value in dict.fromkeys(values) if value]

