"""The R4 Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html).

Whose record a resource is, for the types payers serve.

Both servers use this to decide which member may read a resource, so the table keeps to the elements that say
whose record it is (subject, patient, beneficiary, ...). The R4 definition also lists participant roles
(Observation.performer, Condition.asserter, CareTeam.participant, Patient.link, ...); being the performer of
someone else's Observation must not open that record to you, so those are left out on purpose. Coverage keeps
subscriber, policy holder and payor: a policy holder is entitled to see the coverage they hold.

`SEARCHED_OTHERWISE` holds the compartment's types R4 gives no `patient` search (a Group is in the compartment
of each Patient it lists, Group.member): they decide who may read, and are never searched by patient.

`ABOUT_ANOTHER_RECORD` adds what the R4 definition cannot say by reference type alone: a Provenance about one of a
member's records (its `target` an Encounter or a Claim of theirs, as Da Vinci PDex writes them) is that member's.
"""

from collections.abc import Collection, Mapping
from types import MappingProxyType

from mirror.fhir.paths import values_at
from mirror.fhir.references import reference_target

PATIENT_COMPARTMENT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "AllergyIntolerance": ("patient",),
    "CarePlan": ("subject",),
    "CareTeam": ("subject",),
    "Claim": ("patient",),
    "Condition": ("subject",),
    "Coverage": ("beneficiary", "subscriber", "policyHolder", "payor"),
    "Device": ("patient",),
    "DiagnosticReport": ("subject",),
    "DocumentReference": ("subject",),
    "Encounter": ("subject",),
    "ExplanationOfBenefit": ("patient",),
    "Goal": ("subject",),
    "ImagingStudy": ("subject",),
    "Immunization": ("patient",),
    "MedicationDispense": ("subject",),
    "MedicationRequest": ("subject",),
    "Observation": ("subject",),
    "Procedure": ("subject",),
    "Provenance": ("target",),
    "QuestionnaireResponse": ("subject", "author"),
    "RelatedPerson": ("patient",),
    "ServiceRequest": ("subject",),
    "Specimen": ("subject",),
})

SEARCHED_OTHERWISE: Mapping[str, tuple[str, ...]] = MappingProxyType({"Group": ("member.entity",)})

# Readable by whoever may read the record an element refers to.
ABOUT_ANOTHER_RECORD: Mapping[str, str] = MappingProxyType({"Provenance": "target"})

# For types outside the table (Media, List, Basic, Account, ...): the elements R4 uses for "whose record".
FALLBACK_PATHS = ("patient", "subject", "beneficiary")


def patient_ids(resource: Mapping) -> set[str]:
    """The ids of the Patients whose compartment `resource` is in (a Patient is in its own)."""
    resource_type = resource.get("resourceType", "")
    if resource_type == "Patient":
        own_id = resource.get("id")
        return {own_id} if isinstance(own_id, str) else set()
    found = set()
    for path in PATIENT_COMPARTMENT.get(resource_type) or SEARCHED_OTHERWISE.get(resource_type, FALLBACK_PATHS):
        for value in values_at(resource, path):
            target = reference_target(value.get("reference")) if isinstance(value, Mapping) else None
            if target is not None and target[0] == "Patient":
                found.add(target[1])
    return found


def is_about_any(resource: Mapping, records: Collection[tuple[str, str]]) -> bool:
    """So that a record about another record is shown to whoever may read that other record.

    Whether `resource` is about one of `records`, (type, id) pairs (ABOUT_ANOTHER_RECORD): whoever may read
    that record may read it, on the mock as on the mirror's API."""
    path = ABOUT_ANOTHER_RECORD.get(resource.get("resourceType", ""))
    return path is not None and any(
        isinstance(value, Mapping) and reference_target(value.get("reference")) in records
        for value in values_at(resource, path))
