"""Visits (US Core Encounter) and procedures (US Core Procedure) in one timeline, newest first.

Each with what it was, where and who.

Where is the visit's Location, else the organization that provided it; a procedure without a place of its own
takes its visit's. Records the plan marked entered in error are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mirror.fhir.dates import element_range
from mirror.fhir.references import reference_target
from mirror.web.held import EARLIEST, left_out
from mirror.web.readable import Resolver, as_list, display, mappings, party_name, status_words, text

# v3 ActCode encounter classes a person would recognise.
VISIT_CLASSES = {
    "AMB": "Office or clinic visit", "EMER": "Emergency visit", "IMP": "Hospital stay", "ACUTE": "Hospital stay",
    "NONAC": "Hospital stay", "OBSENC": "Hospital observation", "SS": "Same-day surgery", "HH": "Home visit",
    "VR": "Virtual visit", "FLD": "Visit away from the clinic",
}
QUIET_STATUSES = {"Encounter": {"finished"}, "Procedure": {"completed"}}


@dataclass
class Event:
    source: str
    resource_type: str  # Encounter or Procedure, for the link to the record
    id: str
    kind: str  # "Visit" or "Procedure"
    what: str
    start: str | None
    end: str | None
    where: str | None
    who: list[str]
    reasons: list[str]
    status: str | None  # only when it is not the usual (finished, completed)
    sort_key: datetime | None


def timeline(records: Iterable[tuple[str, Mapping]], resolver) -> list[Event]:
    """(source, Encounter or Procedure) pairs -> events newest first. `resolver(source)` resolves references."""
    events = []
    for source, resource in records:
        if left_out(resource):
            continue
        resolve = resolver(source)
        event = _visit(source, resource, resolve) if resource.get("resourceType") == "Encounter" \
            else _procedure(source, resource, resolve)
        events.append(event)
    events.sort(key=lambda event: (event.sort_key or EARLIEST, event.kind == "Visit"), reverse=True)
    return events


def _visit(source: str, encounter: Mapping, resolve: Resolver) -> Event:
    types = [display(concept) for concept in as_list(encounter.get("type"))]
    visit_class = encounter.get("class") if isinstance(encounter.get("class"), Mapping) else {}
    what = next((found for found in types if found), None) or VISIT_CLASSES.get(str(visit_class.get("code"))) \
        or text(visit_class.get("display")) or "Visit"
    period = encounter.get("period") if isinstance(encounter.get("period"), Mapping) else {}
    places = [party_name(place.get("location"), resolve) for place in mappings(encounter.get("location"))]
    where = next((place for place in places if place), None) or party_name(encounter.get("serviceProvider"), resolve)
    who = [party_name(person.get("individual"), resolve) for person in mappings(encounter.get("participant"))]
    return _event(source, encounter, "Visit", what, text(period.get("start")), text(period.get("end")), where,
                  who, [display(reason) for reason in as_list(encounter.get("reasonCode"))])


def _procedure(source: str, procedure: Mapping, resolve: Resolver) -> Event:
    period = procedure.get("performedPeriod") if isinstance(procedure.get("performedPeriod"), Mapping) else {}
    start = text(procedure.get("performedDateTime")) or text(period.get("start"))
    where = party_name(procedure.get("location"), resolve) or _visit_place(procedure.get("encounter"), resolve)
    who = [party_name(performer.get("actor"), resolve) for performer in mappings(procedure.get("performer"))]
    return _event(source, procedure, "Procedure", display(procedure.get("code")) or "Procedure", start,
                  text(period.get("end")), where, who,
                  [display(reason) for reason in as_list(procedure.get("reasonCode"))])


def _visit_place(reference: object, resolve: Resolver) -> str | None:
    target = reference_target(reference.get("reference")) if isinstance(reference, Mapping) else None
    visit = resolve(*target) if target and target[0] == "Encounter" else None
    if not isinstance(visit, Mapping):
        return None
    places = [party_name(place.get("location"), resolve) for place in mappings(visit.get("location"))]
    return next((place for place in places if place), None) or party_name(visit.get("serviceProvider"), resolve)


def _event(source: str, resource: Mapping, kind: str, what: str, start: str | None, end: str | None,
           where: str | None, who: list[str | None], reasons: list[str]) -> Event:
    start = start if start and element_range(start) is not None else None
    end = end if end and element_range(end) is not None else None
    moment = element_range(start) if start else None
    status = text(resource.get("status"))
    resource_type = str(resource.get("resourceType"))
    return Event(source, resource_type, str(resource.get("id", "")), kind, what,
                 start[:10] if start else None, end[:10] if end and end[:10] != (start or "")[:10] else None,
                 where, list(dict.fromkeys(name for name in who if name)),
                 list(dict.fromkeys(reason for reason in reasons if reason)),
                 None if status in QUIET_STATUSES.get(resource_type, ()) else status_words(resource_type, status),
                 moment.start if moment else None)
