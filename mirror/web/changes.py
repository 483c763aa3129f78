"""So that a patient sees what a sync changed in plain words, with a link to each record.

What a sync changed, in a line a patient reads ("New claim: Office visit, 3 Mar 2025"), with the page to
read the record on: a claim's own page, or the record's readable page (its raw JSON one click further)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirror.store import Change
from mirror.web.claims import headline
from mirror.web.kinds import CLAIMS, kind_of, rank
from mirror.web.readable import Resolver, day, display, mappings, resource_name, text
from mirror.web.records import coverage_summary

# Where a record says what it is and when, in the order looked at (the first present wins).
WHAT_ELEMENTS = ("code", "vaccineCode", "medicationCodeableConcept", "type", "medicationReference")
WHEN_ELEMENTS = ("effectiveDateTime", "effectivePeriod", "performedDateTime", "performedPeriod", "occurrenceDateTime",
                 "onsetDateTime", "period", "whenHandedOver", "authoredOn", "recordedDate", "issued", "recorded",
                 "date", "created")
CHANGE_ORDER = ("removed", "changed", "new")  # what the plan took away is what a patient must not miss


@dataclass
class ChangeLine:
    headline: str  # "New claim", "Claim removed by the plan"
    what: str | None  # "Office visit"
    when: str | None  # "3 Mar 2025", the record's own date as written
    resource_type: str
    id: str
    on_claim_page: bool  # read on the claim's own page, else on the record's page


def change_lines(changes: Iterable[Change], resolve: Resolver) -> list[ChangeLine]:
    """Each change as a line: removals first, then updates, then new records; by kind, newest record first."""
    described = []
    for change in changes:
        resource_type, resource = change.resource.resource_type, change.resource.resource()
        kind = kind_of(resource_type, resource)
        what, when = _what_and_when(resource_type, resource, resolve)
        if change.kind == "removed":
            headline = f"{kind.singular[:1].upper()}{kind.singular[1:]} removed by the plan"
        else:
            headline = f"{'New' if change.kind == 'new' else 'Updated'} {kind.singular}"
        on_claim_page = kind is CLAIMS and change.kind != "removed"  # a removed claim's page is its record's
        line = ChangeLine(headline, what, day(when), resource_type, change.resource.id, on_claim_page)
        order = CHANGE_ORDER.index(change.kind) if change.kind in CHANGE_ORDER else len(CHANGE_ORDER)
        described.append((order, rank(kind), when or "", line))
    described.sort(key=lambda entry: entry[2], reverse=True)  # stable: the next sort keeps newest first
    described.sort(key=lambda entry: entry[:2])
    return [line for *_, line in described]


def _what_and_when(resource_type: str, resource: Mapping, resolve: Resolver) -> tuple[str | None, str | None]:
    """What the record is about and its own date (as written), for a claim, a coverage or any other record."""
    if resource_type == "ExplanationOfBenefit":
        return headline(resource)
    if resource_type == "Coverage":
        period = resource.get("period") if isinstance(resource.get("period"), Mapping) else {}
        return coverage_summary(resource, resolve).plan, text(period.get("start"))
    return _what(resource), _when(resource)


def _what(resource: Mapping) -> str | None:
    for name in WHAT_ELEMENTS:
        value = resource.get(name)
        concept = next(iter(mappings(value)), None) if isinstance(value, list) else value
        if isinstance(concept, Mapping):
            words = display(concept) or text(concept.get("display"))
            if words:
                return words
    return resource_name(resource)


def _when(resource: Mapping) -> str | None:
    for name in WHEN_ELEMENTS:
        value = resource.get(name)
        written = text(value.get("start")) if isinstance(value, Mapping) else text(value)
        if written:
            return written
    return None
