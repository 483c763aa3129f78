"""Kinds of records in the words a patient uses, and the page that lists each kind.

"Claims", "Visits": not FHIR's type names.

Pages are looked up in the running app's URL map, so a kind links to its own page (`/labs`) once one is
served, and to a broader page meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirror.web.claims import ESTIMATE, PRIOR_AUTHORIZATION, eob_use


@dataclass(frozen=True)
class Kind:
    plural: str  # a heading: "Lab results and vital signs"
    singular: str  # inside a sentence: "New lab result: ..."
    pages: tuple[str, ...] = ()  # paths that list this kind, best first; the first the app serves is linked


CLAIMS = Kind("Claims", "claim", ("/claims",))
PRIOR_AUTHORIZATIONS = Kind("Prior authorizations", "prior authorization", ("/prior-authorizations", "/claims"))
ESTIMATES = Kind("Estimates before care", "estimate before care")  # predeterminations; each on its record's page
REQUESTS = {PRIOR_AUTHORIZATION: PRIOR_AUTHORIZATIONS, ESTIMATE: ESTIMATES}  # kinds of EOB that are no claim
KINDS = {
    "ExplanationOfBenefit": CLAIMS,
    "Observation": Kind("Lab results and vital signs", "lab result or vital sign", ("/labs", "/records")),
    "DiagnosticReport": Kind("Test reports", "test report", ("/labs", "/records")),
    "Encounter": Kind("Visits", "visit", ("/visits", "/records")),
    "Procedure": Kind("Procedures", "procedure", ("/visits", "/records")),
    "Condition": Kind("Conditions", "condition", ("/records",)),
    "AllergyIntolerance": Kind("Allergies", "allergy", ("/records",)),
    "MedicationRequest": Kind("Prescriptions", "prescription", ("/medications", "/records")),
    "MedicationDispense": Kind("Medication fills", "medication fill", ("/medications", "/records")),
    "MedicationStatement": Kind("Medications you reported", "medication you reported", ("/medications", "/records")),
    "Immunization": Kind("Immunizations", "immunization", ("/records",)),
    "CarePlan": Kind("Care plans", "care plan"),
    "CareTeam": Kind("Care teams", "care team"),
    "Goal": Kind("Goals", "goal"),
    "DocumentReference": Kind("Documents", "document"),
    "ServiceRequest": Kind("Orders and referrals", "order or referral"),
    "Device": Kind("Devices", "device"),
    "Coverage": Kind("Coverage", "coverage", ("/coverage",)),
    "Patient": Kind("Member details", "member details"),
    "RelatedPerson": Kind("Related people", "related person"),
    "Practitioner": Kind("Doctors and other clinicians", "clinician"),
    "PractitionerRole": Kind("Clinicians' roles", "clinician's role"),
    "Organization": Kind("Organizations", "organization"),
    "Location": Kind("Places of care", "place of care"),
    "Medication": Kind("Drugs", "drug"),
    "Provenance": Kind("Where records came from", "note of where a record came from"),
}
ORDER = [CLAIMS, PRIOR_AUTHORIZATIONS, ESTIMATES, *list(KINDS.values())[1:]]


def kind_of(resource_type: str, resource: Mapping | None = None) -> Kind:
    """The kind a record is; an ExplanationOfBenefit is a claim, a prior authorization or an estimate by its `use`."""
    if resource_type == "ExplanationOfBenefit" and resource is not None and eob_use(resource) in REQUESTS:
        return REQUESTS[eob_use(resource)]
    known = KINDS.get(resource_type)
    if known is not None:
        return known
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", resource_type).lower()  # NutritionOrder: "nutrition order"
    return Kind(f"{words[:1].upper()}{words[1:]} records", f"{words} record")


def counted_kinds(counts: Mapping[str, int], requests: Mapping[Kind, int] | None = None) -> list[tuple[Kind, int]]:
    """So that a patient sees how many records of each kind are held, in the order they look for them.

    How many records of each kind, in the order a patient looks for them (what FHIR calls an
    ExplanationOfBenefit counted as claims, prior authorizations and estimates apart: `requests` counts the
    latter two by kind)."""
    requests = requests or {}
    by_kind = {kind_of(resource_type): count for resource_type, count in counts.items()
               if resource_type != "ExplanationOfBenefit"}
    claims = counts.get("ExplanationOfBenefit", 0) - sum(requests.values())
    by_kind.update({kind: count for kind, count in ((CLAIMS, claims), *requests.items()) if count > 0})
    return sorted(by_kind.items(), key=lambda pair: (rank(pair[0]), pair[0].plural))


def page_of(kind: Kind, served_paths: Iterable[str]) -> str | None:
    """The first of the kind's pages the app serves, or None."""
    served = set(served_paths)
    return next((path for path in kind.pages if path in served), None)


def rank(kind: Kind) -> int:
    """Where a kind comes in a list a patient reads: claims first, reference data last, others after them."""
    return ORDER.index(kind) if kind in ORDER else len(ORDER)
