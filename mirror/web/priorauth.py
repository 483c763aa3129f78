"""Prior authorizations (Da Vinci PDex) in plain words.

A prior authorization is an ExplanationOfBenefit with `use` = `preauthorization`: what was asked for, by whom, the
decision, its dates and the reason.

The decision comes from the most specific thing the plan says. A PDex review action (X12 306 code: A1
certified in total, A2 partly, A3 not certified, A4 pended, ...) on the whole request, else on its lines;
without one, the EOB's `outcome` (queued is pending), a denial reason (the `denialreason` adjudication), or an
authorization number (`preAuthRef`) that only an approval carries. Prior authorizations are no claims: they
pay nothing and are never counted in the money pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mirror.fhir.dates import element_range
from mirror.web.claims import PRIOR_AUTHORIZATION, eob_use
from mirror.web.held import EARLIEST, left_out
from mirror.web.readable import Resolver, as_list, codes, display, mappings, party_name, text

APPROVED, PARTLY, DENIED, PENDING, CANCELLED = "approved", "partly", "denied", "pending", "cancelled"
NOT_NEEDED, UNDECIDABLE, UNSTATED = "not-needed", "error", "unstated"
# X12 306 (Health Care Services Review action codes) as PDex's reviewAction carries them.
REVIEW_ACTIONS = {
    "A1": (APPROVED, "Approved"), "A2": (PARTLY, "Partly approved"), "A3": (DENIED, "Denied"),
    "A4": (PENDING, "Pending"), "A6": (APPROVED, "Approved with changes"), "C": (CANCELLED, "Cancelled"),
    "CT": (PENDING, "Pending: the plan asks your provider to contact it"), "NA": (NOT_NEEDED, "No approval needed"),
}
WORDS = {APPROVED: "Approved", PARTLY: "Partly approved", DENIED: "Denied", PENDING: "Pending",
         CANCELLED: "Cancelled", NOT_NEEDED: "No approval needed", UNDECIDABLE: "Could not be processed",
         UNSTATED: "Decided (the plan does not say how)"}
REVIEW_ACTION_URL_END = "extension-reviewaction"
REVIEW_CODE_URLS = ("code", "extension-reviewactioncode")  # the inner extension's url, by its last segment


def is_prior_authorization(eob: Mapping) -> bool:
    """So that prior authorizations are told apart from claims by the same rule every page uses.

    A PDex prior authorization (or any EOB whose `use` is preauthorization): no claim, no money; decided
    where every page sorts an EOB (`mirror.web.claims.eob_use`)."""
    return eob_use(eob) == PRIOR_AUTHORIZATION


@dataclass
class Decision:
    key: str  # approved, partly, denied, pending, ...: a CSS class and what tests look for
    words: str


@dataclass
class AskedFor:
    service: str
    quantity: str | None
    decision: Decision | None
    valid: tuple[str | None, str | None] | None  # the line's own authorized period


@dataclass
class PriorAuthorization:
    source: str
    id: str
    services: list[AskedFor]
    provider: str
    decision: Decision
    requested: str | None
    decided: str | None
    care_from: str | None  # the period of care asked for: billablePeriod, else the lines' service dates
    care_to: str | None
    valid_from: str | None
    valid_to: str | None
    number: str | None  # the authorization number to quote
    reasons: list[str]
    notes: list[str]
    sort_key: datetime | None


def prior_authorizations(eobs: Iterable[tuple[str, Mapping]], resolver) -> list[PriorAuthorization]:
    """(source, EOB) pairs -> the prior authorizations among them, newest request first."""
    found = [_summary(source, eob, resolver(source)) for source, eob in eobs
             if is_prior_authorization(eob) and not left_out(eob)]
    return sorted(found, key=lambda auth: auth.sort_key or EARLIEST, reverse=True)


def _summary(source: str, eob: Mapping, resolve: Resolver) -> PriorAuthorization:
    items = mappings(eob.get("item"))
    header = [_review_code(adjudication) for adjudication in mappings(eob.get("adjudication"))]
    services = [_asked_for(item) for item in items]
    line_periods = [_period(_extension(item, "extension-itempreauthperiod", "valuePeriod")) for item in items]
    valid = _first_period(eob.get("preAuthRefPeriod")) or next((found for found in line_periods if any(found)),
                                                               (None, None))
    care = _period(eob.get("billablePeriod"))
    if not any(care):
        care = _service_dates(items)
    reasons = _unique([reason for adjudication in _adjudications(eob) for reason in _reasons(adjudication)])
    created = text(eob.get("created"))
    moment = element_range(created) if created else None
    references = [*as_list(eob.get("preAuthRef")), *(ref for insurance in mappings(eob.get("insurance"))
                                                     for ref in as_list(insurance.get("preAuthRef")))]
    number = next((ref for ref in references if text(ref)), None) or _review_number(eob)
    return PriorAuthorization(
        source=source, id=str(eob.get("id", "")), services=services,
        provider=party_name(eob.get("provider"), resolve) or "Unknown provider",
        decision=_decision(eob, next((code for code in header if code), None),
                           [service.decision for service in services], number),
        requested=created[:10] if moment else None, decided=_decided(eob), care_from=care[0], care_to=care[1],
        valid_from=valid[0], valid_to=valid[1],
        number=number, reasons=reasons,
        notes=_unique([note.get("text") for note in mappings(eob.get("processNote")) if text(note.get("text"))]),
        sort_key=moment.start if moment else None,
    )


def _decision(eob: Mapping, header_code: str | None, lines: list[Decision | None], number: str | None) -> Decision:
    """The whole request's decision: see the module's docstring for the order."""
    if eob.get("status") == "cancelled":
        return Decision(CANCELLED, WORDS[CANCELLED])
    if header_code in REVIEW_ACTIONS:
        return Decision(*REVIEW_ACTIONS[header_code])
    said = [line for line in lines if line is not None]
    keys = {line.key for line in said}
    if len(keys) == 1:
        return said[0]
    if keys:
        if PENDING in keys:
            return Decision(PENDING, WORDS[PENDING])
        return Decision(PARTLY, WORDS[PARTLY]) if keys & {APPROVED, PARTLY} else Decision(DENIED, WORDS[DENIED])
    outcome = eob.get("outcome")
    if outcome == "queued":
        return Decision(PENDING, WORDS[PENDING])
    if outcome == "error":
        return Decision(UNDECIDABLE, WORDS[UNDECIDABLE])
    if any(_is_denial(adjudication) for adjudication in mappings(eob.get("adjudication"))):
        key = PARTLY if outcome == "partial" else DENIED
        return Decision(key, WORDS[key])
    if outcome == "partial":
        return Decision(PARTLY, WORDS[PARTLY])
    return Decision(APPROVED, WORDS[APPROVED]) if number else Decision(UNSTATED, WORDS[UNSTATED])


def _asked_for(item: Mapping) -> AskedFor:
    service = display(item.get("productOrService")) or display(item.get("category")) or "Not described"
    quantity = item.get("quantity") if isinstance(item.get("quantity"), Mapping) else {}
    amount = quantity.get("value")
    shown = None
    if isinstance(amount, (int, float)) and not isinstance(amount, bool):
        shown = f"{format(amount, 'g')} {text(quantity.get('unit')) or ''}".strip()
    codes_said = [_review_code(adjudication) for adjudication in mappings(item.get("adjudication"))]
    code = next((found for found in codes_said if found in REVIEW_ACTIONS), None)
    if code is not None:
        decision = Decision(*REVIEW_ACTIONS[code])
    elif any(_is_denial(adjudication) for adjudication in mappings(item.get("adjudication"))):
        decision = Decision(DENIED, WORDS[DENIED])
    else:
        decision = None
    start, end = _period(_extension(item, "extension-itempreauthperiod", "valuePeriod"))
    return AskedFor(service, shown, decision, (start, end) if start or end else None)


def _service_dates(items: list[Mapping]) -> tuple[str | None, str | None]:
    """The earliest to the latest of the lines' servicedDate or servicedPeriod."""
    starts, ends = [], []
    for item in items:
        start, end = _period(item.get("servicedPeriod"))
        served = _period({"start": item.get("servicedDate")})[0]
        starts += [found for found in (start, served) if found]
        ends += [found for found in (end, served) if found]
    return (min(starts) if starts else None, max(ends) if ends else None)


def _adjudications(eob: Mapping) -> list[Mapping]:
    return [*mappings(eob.get("adjudication")),
            *(found for item in mappings(eob.get("item")) for found in mappings(item.get("adjudication")))]


def _review_action(adjudication: Mapping) -> Mapping | None:
    return next((found for found in mappings(adjudication.get("extension"))
                 if str(found.get("url", "")).lower().endswith(REVIEW_ACTION_URL_END)), None)


def _review_code(adjudication: Mapping) -> str | None:
    action = _review_action(adjudication)
    for inner in mappings(action.get("extension")) if action else []:
        if str(inner.get("url", "")).rsplit("/", 1)[-1].lower() in REVIEW_CODE_URLS:
            found = codes(inner.get("valueCodeableConcept"))
            if found:
                return found[0]
    return None


def _review_number(eob: Mapping) -> str | None:
    for adjudication in _adjudications(eob):
        action = _review_action(adjudication)
        for inner in mappings(action.get("extension")) if action else []:
            if inner.get("url") == "number" and text(inner.get("valueString")):
                return inner["valueString"]
    return None


def _is_denial(adjudication: Mapping) -> bool:
    return "denialreason" in codes(adjudication.get("category"))


def _reasons(adjudication: Mapping) -> list[str]:
    """The denial reason's words (CARC/RARC display), and the review action's reason codes."""
    found = [display(adjudication.get("reason"))] if _is_denial(adjudication) else []
    action = _review_action(adjudication)
    if action:
        found += [display(inner.get("valueCodeableConcept")) for inner in mappings(action.get("extension"))
                  if inner.get("url") == "reasonCode"]
    return [reason for reason in found if reason]


def _decided(eob: Mapping) -> str | None:
    """When the plan decided: an item's preAuthIssueDate, else the adjudication's WhenAdjudicated date."""
    dates = [_extension(item, "extension-itempreauthissuedate", "valueDate") for item in mappings(eob.get("item"))]
    dates += [_extension(adjudication, "extension-whenadjudicated", "valueDateTime")
              for adjudication in _adjudications(eob)]
    shown = sorted(value[:10] for value in dates if text(value) and element_range(value) is not None)
    return shown[-1] if shown else None


def _extension(element: Mapping, url_end: str, value_name: str) -> object:
    for found in mappings(element.get("extension")):
        if str(found.get("url", "")).lower().endswith(url_end):
            return found.get(value_name)
    return None


def _first_period(periods: object) -> tuple[str | None, str | None] | None:
    """R4 `preAuthRefPeriod` is a list; a single object from a loose payer is read too."""
    candidates = [periods] if isinstance(periods, Mapping) else mappings(periods)
    for period in candidates:
        start, end = _period(period)
        if start or end:
            return start, end
    return None


def _period(period: object) -> tuple[str | None, str | None]:
    if not isinstance(period, Mapping):
        return None, None
    start, end = text(period.get("start")), text(period.get("end"))
    return (start[:10] if start and element_range(start) else None, end[:10] if end and element_range(end) else None)


def _unique(values: Iterable[str | None]) -> list[str]:
    return [value for value in dict.fromkeys(values) if value]
