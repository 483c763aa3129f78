"""SMART scopes in plain words, for the consent page a member reads before saying Allow or Deny."""

import re
from urllib.parse import parse_qsl

from mirror.fhir.scopes import READ, SEARCH, parse_resource_scope

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

# What each read-only permission set lets the app do; this API never grants a write (scopes.grantable_scope).
_SENTENCES = {
    frozenset({READ, SEARCH}): "See {records}",
    frozenset({READ}): "Open {records}, one at a time when the app already knows which",
    frozenset({SEARCH}): "Search and list {records}",
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
    sentence = _SENTENCES.get(parsed.permissions & {READ, SEARCH}, _SENTENCES[frozenset({READ, SEARCH})])
    return sentence.format(records=records + _restriction(parsed.query))


def _restriction(query: str) -> str:
    """So that the consent page tells a granular scope's limit in words.

    A granular scope's query in words: `type=http://...claim-type|pharmacy` is "only those whose type is
    pharmacy" (the code, not its system)."""
    if not query:
        return ""
    parts = [f"{_spaced(name.lstrip('_')).lower()} is {' or '.join(_code(value) for value in value.split(','))}"
             for name, value in parse_qsl(query, keep_blank_values=True)]
    return ", only those whose " + " and ".join(parts)


def _code(value: str) -> str:
    return value.rsplit("|", 1)[-1] or value


def _spaced(type_name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type_name)
