"""SMART scopes in plain words, for the consent page a member reads before saying Allow or Deny."""

import re

from mirror.fhir.scopes import parse_resource_scope

RECORD_NAMES = {
    "ExplanationOfBenefit": "claims (explanations of benefit)",
    "Coverage": "insurance coverage",
    "Patient": "name, birth date and contact details",
    "Organization": "provider and payer organizations",
    "Practitioner": "doctors and other practitioners",
    "AllergyIntolerance": "allergies",
    "MedicationRequest": "prescriptions",
    "MedicationDispense": "dispensed medications",
    "Condition": "conditions and diagnoses",
    "Observation": "test results and vital signs",
    "Immunization": "immunizations",
    "Procedure": "procedures",
    "Encounter": "visits",
    "DiagnosticReport": "diagnostic reports",
    "DocumentReference": "clinical documents",
}

OTHER_SCOPES = {
    "launch": "Know the context the app was opened in",
    "launch/patient": "Know which member's records to open",
    "launch/encounter": "Know which visit the app was opened for",
    "openid": "Confirm who you are",
    "fhirUser": "Confirm who you are (your member identity)",
    "profile": "See your basic profile",
    "offline_access": "Keep access after you close the app, until you revoke it",
    "online_access": "Keep access while you stay signed in",
}


def describe_scope(scope: str) -> str:
    if scope in OTHER_SCOPES:
        return OTHER_SCOPES[scope]
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return scope
    if parsed.resource_type == "*":
        records = "all of your health records (claims, coverage and clinical data)"
    else:
        records = "your " + RECORD_NAMES.get(parsed.resource_type, _spaced(parsed.resource_type).lower() + " records")
    can_change = bool(parsed.permissions & {"c", "u", "d"})
    verb = "Read and change" if can_change else "Read"
    restriction = f" (only where {parsed.query})" if parsed.query else ""
    return f"{verb} {records}{restriction}"


def _spaced(type_name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type_name)
