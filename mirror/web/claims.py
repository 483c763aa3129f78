"""Claims (CARIN Blue Button ExplanationOfBenefit) in plain words.

What it was, who, when, what it cost and why, for the claim pages and `mirror claims`, which list the same claims
with the same numbers from here.

The money itself is read by `mirror.web.money`; prior authorizations and predeterminations (EOB.use) are
requests, not claims, and never appear among the claims or in their totals (`eob_use` sorts them for every
page), nor do claims the plan marked entered in error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mirror.fhir.dates import element_range
from mirror.web.held import left_out
from mirror.web.money import AMOUNT_NAMES, CMS_VARIABLES, Money, as_text, claim_money, is_total_charge_line, line_money
from mirror.web.readable import Resolver, as_list, codes, display, mappings, party_name, text, with_contained
from mirror.web.service_names import service_name

KINDS = {
    "institutional": "Hospital or facility",
    "professional": "Doctor or other professional",
    "pharmacy": "Pharmacy",
    "oral": "Dental",
    "vision": "Vision",
}
INPATIENT_SUBTYPES = {"inpatient": "Hospital stay (inpatient)", "outpatient": "Hospital or facility (outpatient)"}
# Medicare's claim types (Blue Button 2.0's eob-type codes) in the words Medicare uses with its members.
MEDICARE_CLAIM_TYPES = "https://bluebutton.cms.gov/resources/codesystem/eob-type"
MEDICARE_KINDS = {
    "medicare-carrier": "Part B doctor or supplier",
    "medicare-dme": "Part B medical equipment or supplies",
    "medicare-outpatient": "Part B hospital outpatient",
    "medicare-inpatient": "Part A hospital stay",
    "medicare-snf": "Part A skilled nursing facility stay",
    "medicare-hospice": "Hospice care",
    "medicare-hha": "Home health care",
    "medicare-pde": "Part D drug fill",
}
KIND_LABELS = {**KINDS, **INPATIENT_SUBTYPES, **MEDICARE_KINDS}  # ClaimSummary.kind -> its words
# What an ExplanationOfBenefit is, by its `use` (FHIR R4 EOB.use): a bill, or a request that is no bill.
CLAIM, PRIOR_AUTHORIZATION, ESTIMATE = "claim", "prior-authorization", "estimate"
USES = {"preauthorization": PRIOR_AUTHORIZATION, "predetermination": ESTIMATE}  # Da Vinci PDex; FHIR R4 EOB.use
# CARIN BB careTeam.role (C4BBClaimCareTeamRole, and R4's claimcareteamrole) as a patient says it.
CARE_TEAM_ROLES = {"attending": "attending", "operating": "operating", "otheroperating": "assisting in the operation",
                   "referring": "referring", "rendering": "treating", "performing": "treating",
                   "prescribing": "prescribing", "primary": "primary", "supervisor": "supervising",
                   "purchasedservice": "purchased service", "assist": "assisting"}
# A line's quantity is spoken in days when its unit (UCUM `d`, or written) says so, or when its UB-04 revenue
# code is an accommodation (0100-0219: room & board, intensive care), whose units are days.
DAY_UNITS = frozenset({"d", "day", "days"})
ACCOMMODATION_REVENUE = re.compile(r"0(1\d\d|20\d|21\d)")
NO_REASON = frozenset({"n/a", "na", "not applicable"})  # a denial reason that says there is none
OUTCOMES = {"complete": "Processed", "partial": "Partly processed", "queued": "Waiting to be processed",
            "error": "Could not be processed"}
# CARIN 2.x network discriminators, most telling first; CARIN 1.x used `inoutnetwork`.
NETWORK_DISCRIMINATORS = ("benefitpaymentstatus", "inoutnetwork", "billingnetworkstatus", "renderingnetworkstatus")
NETWORKS = {"innetwork": "in-network", "outofnetwork": "out-of-network", "other": "other"}
CLAIM_NUMBER_SYSTEMS = (CMS_VARIABLES + "clm_id", CMS_VARIABLES + "pde_id")
PROCESSED_DATE_VARIABLE = CMS_VARIABLES + "nch_wkly_proc_dt"


@dataclass
class ClaimSummary:
    """So that the pages and `mirror claims` tell a claim alike, never inventing what a plan left out.

    One claim as the pages and `mirror claims` tell it: plain words and the money, each None (or empty)
    where the claim does not say, so nothing a plan left out is shown as if it had said it."""

    id: str
    kind: str  # a key of KINDS, "inpatient"/"outpatient" for institutional claims, or of MEDICARE_KINDS
    kind_label: str
    service_start: str | None
    service_end: str | None
    provider: str
    facility: str | None
    care_team: list[str]  # each member once, with their roles: "Rosa Wright, MD (attending, operating)"
    reasons: list[str]  # diagnosis displays
    services: list[str]  # what the lines were for
    money: Money
    status: str | None  # EOB.status
    outcome: str | None = None  # EOB.outcome
    year: int | None = None
    claim_number: str | None = None
    network: str | None = None  # a value of NETWORKS
    received: str | None = None
    processed: str | None = None
    paid: str | None = None
    denial_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the plan's processNote texts

    @property
    def outcome_label(self) -> str | None:
        return OUTCOMES.get(self.outcome or "", self.outcome)


def eob_use(eob: Mapping) -> str:
    """So that every page sorts an ExplanationOfBenefit the same way.

    What an ExplanationOfBenefit is: a claim, a prior authorization or an estimate (a predetermination), by
    its `use`; the one place that decides, so no page counts a request among the claims or loses one."""
    use = text(eob.get("use"))
    return USES.get(use, CLAIM) if use else CLAIM


def is_claim(eob: Mapping) -> bool:
    """A bill the plan adjudicated, not a prior authorization or predetermination (EOB.use)."""
    return eob_use(eob) == CLAIM


def is_counted(eob: Mapping) -> bool:
    """So that lists, totals and bars count only real claims.

    A claim that counts in lists, totals and bars: not a request, and not one the plan marked entered in
    error (FHIR R4 EOB.status), which it says should never have existed."""
    return is_claim(eob) and not left_out(eob)


def headline(eob: Mapping) -> tuple[str, str | None]:
    """So that a claim can be named in a list of changes without reading its money.

    What a claim was for and the day its service started, to name it in a list of changes without reading
    its money."""
    services = _unique(service_name(item) for item in mappings(eob.get("item")) if not is_total_charge_line(item))
    return (services[0] if services else _kind(eob)[1]), _service_dates(eob)[0]


def summarize(eob: Mapping, resolve: Resolver) -> ClaimSummary:
    """So that a claim's page can show it in plain words with its money.

    The claim in plain words with its money, naming the parties it references through `resolve` (or, `#id`,
    inside the claim itself)."""
    resolve = with_contained(eob, resolve)
    kind, label = _kind(eob)
    start, end = _service_dates(eob)
    year_source = start or text(eob.get("created"))
    payment = eob.get("payment") if isinstance(eob.get("payment"), Mapping) else {}
    return ClaimSummary(
        id=str(eob.get("id", "")),
        kind=kind,
        kind_label=label,
        service_start=start,
        service_end=end if end != start else None,
        provider=party_name(eob.get("provider"), resolve) or "Unknown provider",
        facility=party_name(eob.get("facility"), resolve) or _location(eob),
        care_team=_care_team(eob, resolve),
        reasons=_unique(display(d.get("diagnosisCodeableConcept")) for d in mappings(eob.get("diagnosis"))),
        services=_unique(service_name(item) for item in mappings(eob.get("item")) if not is_total_charge_line(item)),
        money=claim_money(eob),
        status=text(eob.get("status")),
        outcome=text(eob.get("outcome")),
        year=int(year_source[:4]) if year_source and year_source[:4].isdigit() else None,
        claim_number=_claim_number(eob),
        network=_network(eob),
        received=_supporting_date(eob, "clmrecvddate"),
        processed=_supporting_date(eob, PROCESSED_DATE_VARIABLE) or _day(eob.get("created")),
        paid=_day(payment.get("date")),
        denial_reasons=_denial_reasons(eob),
        notes=_unique(text(note.get("text")) or "" for note in mappings(eob.get("processNote"))),
    )


@dataclass
class LineSummary:
    """One service line of a claim, for its page: what, when (a day, or first to last day), how many, its money."""

    sequence: object
    service: str
    date: str | None
    money: Money
    is_total: bool = False  # a revenue code 0001 line, which totals the others
    end: str | None = None  # the last day of a line served over a period
    quantity: str | None = None  # "2 days", "30 TAB"


def line_summaries(eob: Mapping) -> list[LineSummary]:
    """Each service line with its own money, for a claim's detail page."""
    found = []
    for item in mappings(eob.get("item")):
        dates = sorted(_item_dates(item))
        start, end = (dates[0], dates[-1]) if dates else (None, None)
        found.append(LineSummary(item.get("sequence"), service_name(item), start, line_money(item),
                                 is_total_charge_line(item), end if end != start else None, _quantity(item)))
    return found


def held_claims(store, sources: Iterable[str]) -> list[tuple[str, ClaimSummary]]:
    """So that the claims page and `mirror claims` list the same claims in the same order.

    Every claim the store holds from `sources` (removed, entered-in-error ones and requests left out), newest
    first: what the claims page lists and `mirror claims` prints."""
    found = []
    for source in sources:
        resolve = resolver(store, source)
        found += [(source, summarize(eob, resolve))
                  for eob in (stored.resource() for stored in store.search("ExplanationOfBenefit", source=source))
                  if is_counted(eob)]
    found.sort(key=lambda pair: (pair[1].service_start or "", pair[1].id), reverse=True)
    return found


def claim_record(source: str, claim: ClaimSummary) -> dict:
    """So that `mirror claims` writes each claim's amounts in one exact, program-readable form.

    One claim as `mirror claims` prints it (a JSON object or CSV row): amounts as text with two decimals,
    None where the claim does not say."""
    return {"source": source, "id": claim.id, "kind": claim.kind, "start": claim.service_start,
            "end": claim.service_end or claim.service_start, "provider": claim.provider,
            **{name: as_text(getattr(claim.money, name)) for name in AMOUNT_NAMES},
            "network": claim.network, "status": claim.status, "outcome": claim.outcome}


def resolver(store, source: str) -> Resolver:
    """Finds what a claim references among the member's records from `source` (removed ones are gone)."""
    def resolve(resource_type: str, resource_id: str) -> Mapping | None:
        stored = store.get(source, resource_type, resource_id)
        return stored.resource() if stored is not None and not stored.removed else None
    return resolve


def _kind(eob: Mapping) -> tuple[str, str]:
    claim_type = eob.get("type") if isinstance(eob.get("type"), Mapping) else {}
    medicare = next((f"medicare-{str(coding.get('code')).lower()}" for coding in mappings(claim_type.get("coding"))
                     if coding.get("system") == MEDICARE_CLAIM_TYPES), None)
    if medicare in MEDICARE_KINDS:
        return medicare, MEDICARE_KINDS[medicare]
    kind = next((code for code in codes(eob.get("type")) if code in KINDS), "other")
    if kind == "institutional":
        subtype = " ".join(codes(eob.get("subType")) + codes(eob.get("type")) + [display(eob.get("subType")).lower()])
        meta = eob.get("meta") if isinstance(eob.get("meta"), Mapping) else {}
        profile = " ".join(str(p) for p in as_list(meta.get("profile"))).lower()
        for name, label in INPATIENT_SUBTYPES.items():
            if name in subtype.lower() or name in profile:
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


def _care_team(eob: Mapping, resolve: Resolver) -> list[str]:
    """Each member of the care team once, with the roles the claim gives them (CARIN careTeam.role)."""
    roles: dict[str, list[str]] = {}
    for member in mappings(eob.get("careTeam")):
        name = party_name(member.get("provider"), resolve)
        if name:
            role = next((CARE_TEAM_ROLES[code] for code in codes(member.get("role")) if code in CARE_TEAM_ROLES),
                        display(member.get("role")).lower() or None)
            roles.setdefault(name, [])
            if role and role not in roles[name]:
                roles[name].append(role)
    return [f"{name} ({', '.join(held)})" if held else name for name, held in roles.items()]


def _quantity(item: Mapping) -> str | None:
    """So that a line's quantity is shown only when it says something.

    How many of a line's service, with its unit: "2 days" when the unit or an accommodation revenue code says
    days, else as the plan writes it; a lone 1 says nothing and is left out."""
    quantity = item.get("quantity") if isinstance(item.get("quantity"), Mapping) else {}
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    number = f"{value:g}"
    unit = text(quantity.get("unit")) or text(quantity.get("code"))
    accommodation = any(ACCOMMODATION_REVENUE.fullmatch(code) for code in codes(item.get("revenue")))
    if (unit and unit.lower() in DAY_UNITS) or (unit is None and accommodation):
        return f"{number} day{'' if value == 1 else 's'}"
    if unit:
        return f"{number} {unit}"
    return None if value == 1 else number


def _day(value: object) -> str | None:
    return value[:10] if isinstance(value, str) and element_range(value) is not None else None


def _location(eob: Mapping) -> str | None:
    for item in mappings(eob.get("item")):
        place = display(item.get("locationCodeableConcept"))
        if place:
            return place
    return None


def _claim_number(eob: Mapping) -> str | None:
    """The plan's claim number: the CARIN "unique claim id" identifier, else CMS's claim or event id."""
    identifiers = mappings(eob.get("identifier"))
    for identifier in identifiers:
        if "uc" in codes(identifier.get("type")) and text(identifier.get("value")):
            return identifier["value"]
    return next((identifier["value"] for identifier in identifiers
                 if identifier.get("system") in CLAIM_NUMBER_SYSTEMS and text(identifier.get("value"))), None)


def _network(eob: Mapping) -> str | None:
    """In or out of the plan's network, from the claim's (else its first line's) network adjudication."""
    places = [mappings(eob.get("adjudication"))] + [mappings(item.get("adjudication")) for item in mappings(eob.get("item"))]
    for adjudications in places:
        found = {code: reason for adjudication in adjudications for code in codes(adjudication.get("category"))
                 for reason in codes(adjudication.get("reason"))[:1] if reason in NETWORKS}
        for discriminator in NETWORK_DISCRIMINATORS:
            if discriminator in found:
                return NETWORKS[found[discriminator]]
    return None


def _supporting_date(eob: Mapping, category: str) -> str | None:
    for info in mappings(eob.get("supportingInfo")):
        if category in codes(info.get("category")):
            found = _day(info.get("timingDate")) or _day((info.get("timingPeriod") or {}).get("start")
                                                         if isinstance(info.get("timingPeriod"), Mapping) else None)
            if found:
                return found
    return None


def _denial_reasons(eob: Mapping) -> list[str]:
    """So that a patient sees why a claim was denied, without codes that deny nothing.

    Why the plan denied all or part of it: the reasons of `denialreason` adjudications, claim and lines, but
    "N/A", which Blue Button writes on every carrier line (its reduced-payment code 0) and denies nothing."""
    adjudications = mappings(eob.get("adjudication")) + [adjudication for item in mappings(eob.get("item"))
                                                          for adjudication in mappings(item.get("adjudication"))]
    reasons = (_reason(adjudication.get("reason")) for adjudication in adjudications
               if "denialreason" in codes(adjudication.get("category")))
    return _unique(reason for reason in reasons if reason.strip().lower() not in NO_REASON)


def _reason(concept: object) -> str:
    if not isinstance(concept, Mapping):
        return ""
    named = display(concept)
    return f"Reason code {named}" if named and named in codes(concept) else named


def _unique(values: Iterable[str]) -> list[str]:
    return [value for value in dict.fromkeys(values) if value]
