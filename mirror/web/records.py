"""Coverage and clinical records (US Core) in plain words, for the pages a patient reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mirror.web.readable import Resolver, as_list, codes, display, party_name, status_words, text

CLINICAL_SECTIONS = {
    "AllergyIntolerance": "Allergies",
    "MedicationRequest": "Prescriptions",
    "Condition": "Conditions",
    "Immunization": "Immunizations",
}
DATE_FIELDS = {
    "AllergyIntolerance": ("onsetDateTime", "recordedDate"),
    "MedicationRequest": ("authoredOn",),
    "Condition": ("onsetDateTime", "recordedDate"),
    "Immunization": ("occurrenceDateTime", "recorded"),
}
WHAT_FIELDS = {
    "AllergyIntolerance": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "Condition": "code",
    "Immunization": "vaccineCode",
}


@dataclass
class ClinicalEntry:
    resource_type: str
    id: str
    what: str
    when: str | None
    status: str | None


@dataclass
class CoverageSummary:
    id: str
    plan: str
    member_id: str | None
    period: str
    payer: str
    status: str | None


def clinical_entry(resource: Mapping) -> ClinicalEntry:
    resource_type = str(resource.get("resourceType"))
    when = next((resource[name] for name in DATE_FIELDS.get(resource_type, ()) if text(resource.get(name))), None)
    clinical = codes(resource.get("clinicalStatus"))
    status = status_words(resource_type, clinical[0] if clinical else text(resource.get("status")))
    return ClinicalEntry(resource_type, str(resource.get("id", "")),
                         display(resource.get(WHAT_FIELDS.get(resource_type, "code"))) or "Not described",
                         when[:10] if when else None, status)


def _payer_name(payor: object, resolve: Resolver) -> str | None:
    """So that a payer is named in words, never by a bare number.

    The payer's name; else an identifier whose value is a name (Blue Button writes "Centers for Medicare and
    Medicaid Services" there), never a bare number."""
    name = party_name(payor, resolve)
    identifier = payor.get("identifier") if isinstance(payor, Mapping) else None
    value = text(identifier.get("value")) if isinstance(identifier, Mapping) else None
    return name or (value if value and " " in value.strip() else None)


def coverage_summary(coverage: Mapping, resolve: Resolver) -> CoverageSummary:
    classes = [c for c in as_list(coverage.get("class")) if isinstance(c, Mapping)]
    plan_class = next((c for c in classes if "plan" in codes(c.get("type"))), classes[0] if classes else {})
    plan = text(plan_class.get("name")) or text(plan_class.get("value")) or display(coverage.get("type")) or "Coverage"
    period = coverage.get("period") if isinstance(coverage.get("period"), Mapping) else {}
    start, end = text(period.get("start")), text(period.get("end"))
    payers = [name for name in (_payer_name(p, resolve) for p in as_list(coverage.get("payor"))) if name]
    return CoverageSummary(
        id=str(coverage.get("id", "")),
        plan=plan,
        member_id=_member_id(coverage),
        period=f"{(start or '?')[:10]} to {(end or 'now')[:10]}" if start or end else "not stated",
        payer=", ".join(payers) or "Unknown payer",
        status=text(coverage.get("status")),
    )


def _member_id(coverage: Mapping) -> str | None:
    for identifier in as_list(coverage.get("identifier")):
        if isinstance(identifier, Mapping) and "MB" in codes(identifier.get("type")):
            return text(identifier.get("value"))
    return text(coverage.get("subscriberId"))
