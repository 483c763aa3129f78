"""Reading FHIR elements for people, as a person writes them.

The display of a code, the name of a party, values of the expected kind, dates and times.

Payer data is untrusted and often incomplete, so every getter here tolerates a missing or mistyped element
and answers None or empty rather than raising; the pages escape whatever text comes out.

Times (when a sync ran, when a record arrived, when a token expires) are instants, shown in this machine's
local zone, which the reader lives in. A record's date without a time of day (a visit on 2025-03-03) names a
day, not an instant, and is shown as written: moving it between zones would change the day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from mirror.fhir.references import reference_target

Resolver = Callable[[str, str], Mapping | None]  # (type, id) -> a resource the member has, or None
CONTAINED = "#"  # the type a Resolver is asked for when a reference (`#id`) names a resource contained in the record

# SNOMED CT semantic tags: the hierarchy a term's fully specified name ends with, "Appendectomy (procedure)".
SEMANTIC_TAGS = (
    "procedure", "finding", "disorder", "situation", "regime/therapy", "observable entity", "qualifier value",
    "body structure", "substance", "product", "medicinal product", "clinical drug", "event", "record artifact",
    "morphologic abnormality", "person", "physical object", "environment", "specimen", "organism", "occupation",
    "assessment scale", "attribute", "social concept", "ethnic group", "racial group", "life style", "cell",
    "cell structure", "physical force", "staging scale", "tumor staging", "special concept", "navigational concept",
    "geographic location", "environment / location", "religion/philosophy", "administrative concept", "dose form",
)
_SEMANTIC_TAG = re.compile(r"\s+\((?:" + "|".join(re.escape(tag) for tag in SEMANTIC_TAGS) + r")\)$")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def party_name(reference: object, resolve: Resolver) -> str | None:
    """The name of a referenced Organization or Practitioner, else the reference's own display."""
    if not isinstance(reference, Mapping):
        return None
    written = reference.get("reference")
    target = (CONTAINED, written[1:]) if isinstance(written, str) and written.startswith("#") else reference_target(written)
    found = resolve(*target) if target else None
    if isinstance(found, Mapping):
        name = resource_name(found)
        if name:
            return name
    return text(reference.get("display"))


def with_contained(resource: Mapping, resolve: Resolver) -> Resolver:
    """So that a reference to a contained resource (`#id`) resolves like any other.

    `resolve`, and the resources `resource` contains, asked for as (CONTAINED, id): a reference `#id` names one
    (FHIR R4 contained resources), as Blue Button's claims name their facility."""
    inside = {found["id"]: found for found in mappings(resource.get("contained")) if isinstance(found.get("id"), str)}

    def resolve_inside(resource_type: str, resource_id: str) -> Mapping | None:
        return inside.get(resource_id) if resource_type == CONTAINED else resolve(resource_type, resource_id)
    return resolve_inside


def resource_name(resource: Mapping) -> str | None:
    name = resource.get("name")
    if isinstance(name, str):
        return name
    for human in as_list(name):
        if isinstance(human, Mapping):
            written = text(human.get("text"))
            if written:
                return written
            parts = [*(str(g) for g in as_list(human.get("given"))), text(human.get("family")) or ""]
            suffix = ", ".join(str(s) for s in as_list(human.get("suffix")))
            joined = " ".join(part for part in parts if part)
            if joined:
                return f"{joined}, {suffix}" if suffix else joined
    return None


def codes(concept: object) -> list[str]:
    if not isinstance(concept, Mapping):
        return []
    return [str(coding.get("code")) for coding in as_list(concept.get("coding"))
            if isinstance(coding, Mapping) and coding.get("code")]


def display(concept: object) -> str:
    """So that a coded value shows as words a patient says.

    A CodeableConcept in words: its first coding's display, else its text, else its first code; a SNOMED CT
    semantic tag is no word a patient says, so it is left off."""
    if not isinstance(concept, Mapping):
        return ""
    for coding in as_list(concept.get("coding")):
        if isinstance(coding, Mapping) and text(coding.get("display")):
            return without_semantic_tag(coding["display"])
    written = text(concept.get("text"))
    return without_semantic_tag(written) if written else (codes(concept)[0] if codes(concept) else "")


def without_semantic_tag(term: str) -> str:
    """So that SNOMED CT terms read as a patient would say them.

    A term without its trailing SNOMED CT semantic tag: "Encounter for problem (procedure)" is "Encounter for
    problem"; other words in brackets ("Knee replacement (total knee arthroplasty)") are the term's own and stay."""
    return _SEMANTIC_TAG.sub("", term) or term


# FHIR R4 status codes in words, where the code alone reads oddly or means something particular to its resource.
STATUS_WORDS = {
    "Immunization": {"completed": "Given", "not-done": "Not given"},
    "MedicationRequest": {"completed": "Finished", "unknown": "Status unknown"},
    "": {"in-progress": "In progress", "on-hold": "On hold", "entered-in-error": "Entered in error",
         "not-done": "Not done", "onleave": "On leave", "recurrence": "Came back", "relapse": "Came back",
         "remission": "In remission", "unknown": "Status unknown", "finished": "Finished", "arrived": "Arrived"},
}


def status_words(resource_type: str, code: str | None) -> str | None:
    """A status code ("completed", "in-progress") as a patient reads it ("Completed", "In progress")."""
    if not code:
        return None
    said = STATUS_WORDS.get(resource_type, {}).get(code) or STATUS_WORDS[""].get(code)
    return said or code[:1].upper() + code[1:].replace("-", " ")


def as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def mappings(value: object) -> list[Mapping]:
    """The JSON objects in a list element, skipping anything else a broken payer put there."""
    return [item for item in as_list(value) if isinstance(item, Mapping)]


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def simplified(value: object) -> object:
    """So that the readable view shows a resource in short phrases rather than raw datatypes.

    A resource's elements with the common FHIR datatypes turned into short phrases, for the readable view:
    a CodeableConcept becomes its display, a Reference its display or target, an Identifier its value, and so on.
    Anything not recognised keeps its structure, simplified inside."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return [simplified(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    phrase = _phrase(value)
    if phrase is not None:
        return phrase
    return {key: simplified(inner) for key, inner in value.items() if not key.startswith("_") and key != "extension"}


def _phrase(value: Mapping) -> str | None:
    keys = set(value) - {"id", "extension"}
    if "coding" in keys and keys <= {"coding", "text"}:
        return display(value) or None
    if keys and keys <= {"system", "code", "display", "version", "userSelected"} and "code" in keys:
        return text(value.get("display")) or text(value.get("code"))
    if keys and keys <= {"reference", "display", "type", "identifier"} and ("reference" in keys or "display" in keys):
        return text(value.get("display")) or text(value.get("reference"))
    if "value" in keys and keys <= {"value", "currency", "unit", "system", "code", "comparator"}:
        unit = text(value.get("currency")) or text(value.get("unit")) or ""
        return f"{value['value']} {unit}".strip()
    if keys and keys <= {"start", "end"}:
        return f"{value.get('start', '?')} to {value.get('end', 'now')}"
    if "value" in keys and keys <= {"use", "type", "system", "value", "period", "assigner"}:
        kind = display(value.get("type")) if isinstance(value.get("type"), Mapping) else ""
        return f"{value['value']} ({kind})" if kind else str(value["value"])
    if keys & {"family", "given"} and keys <= {"use", "text", "family", "given", "prefix", "suffix", "period"}:
        return resource_name({"name": [value]})
    return None


def local_time(instant: object) -> str | None:
    """So that times show in the patient's own zone.

    An instant (the store's UTC times, a token's expiry) in this machine's zone, to the minute:
    `3 Mar 2025, 14:05 CET`. A time without a zone is the store's, which is UTC."""
    if not isinstance(instant, str):
        return None
    try:
        moment = datetime.fromisoformat(instant)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone()
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname() or ''}".rstrip()


def day(value: object) -> str | None:
    """A FHIR date or dateTime as the day it names, as written (no zone moves it): `3 Mar 2025`, `Mar 2025`."""
    found = _DAY.match(value) if isinstance(value, str) else None
    if found is None:
        return None
    year, month, day_of_month = found.groups()
    if month is None:
        return year
    if not 1 <= int(month) <= 12 or (day_of_month is not None and not 1 <= int(day_of_month) <= 31):
        return None
    written = f"{MONTHS[int(month) - 1]} {year}"
    return f"{int(day_of_month)} {written}" if day_of_month else written
