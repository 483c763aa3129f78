"""The server's R4 CapabilityStatement, as `/metadata` serves it, with SMART's `oauth-uris` extension.

See https://hl7.org/fhir/R4/capabilitystatement.html and, for the extension,
https://hl7.org/fhir/smart-app-launch/1.0.0/conformance/index.html#using-cors.

SMART clients that skip `.well-known/smart-configuration` (the Python fhirclient) find the authorize and
token endpoints only here, and parse this document with strict R4 models, so every element it needs
(status, date, kind, fhirVersion, format, implementation for an instance) is always present.
The search parameters listed come from the same whitelist the servers search with, so the statement cannot
promise a parameter the server does not understand.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mirror.fhir.dates import FhirDateError, date_range
from mirror.fhir.ids import is_resource_type_name
from mirror.fhir.search_parameters import parameters_for, reference_parameters

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SMART_SERVICE = {
    "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "SMART-on-FHIR",
        "display": "SMART-on-FHIR",
    }],
    "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
}
PATIENT_EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


@dataclass(frozen=True)
class SmartEndpoints:
    """Absolute URLs of the authorization server's endpoints; revoke and introspect are optional."""

    authorize: str
    token: str
    revoke: str | None = None
    introspect: str | None = None


def capability_statement(
    *,
    base_url: str,
    date: str,
    resource_types: Iterable[str],
    description: str,
    software_name: str = "payer-mirror",
    instantiates: Sequence[str] = (),
    profiles: Mapping[str, Sequence[str]] | None = None,
    patient_everything: bool = False,
    smart: SmartEndpoints | None = None,
) -> dict:
    """A read-only (read + search-type) R4 CapabilityStatement for the types served at `base_url`.

    `date` is a FHIR dateTime (the caller's clock or release date; this module reads no clock),
    `profiles` maps a type to its supported profile canonicals, and `patient_everything` declares
    `Patient/$everything` when Patient is served.
    """
    try:
        date_range(date)
    except FhirDateError:
        raise ValueError("date must be a FHIR dateTime") from None
    profiles = profiles or {}
    resources = []
    for resource_type in resource_types:
        if not is_resource_type_name(resource_type):
            raise ValueError(f"not a resource type: {resource_type!r}")
        resources.append(_resource_entry(resource_type, profiles.get(resource_type, ()), patient_everything))
    rest: dict = {"mode": "server"}
    if smart is not None:
        rest["security"] = _smart_security(smart)
    rest["resource"] = resources
    statement: dict = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": {"name": software_name},
        "implementation": {"description": description, "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [rest],
    }
    if instantiates:
        statement["instantiates"] = list(instantiates)
    return statement


def _resource_entry(resource_type: str, profiles: Sequence[str], patient_everything: bool) -> dict:
    entry: dict = {"type": resource_type}
    if profiles:
        entry["supportedProfile"] = list(profiles)
    entry["interaction"] = [{"code": "read"}, {"code": "search-type"}]
    includes = [f"{resource_type}:{parameter.name}" for parameter in reference_parameters(resource_type)]
    if includes:
        entry["searchInclude"] = [*includes, f"{resource_type}:*"]
    entry["searchParam"] = [
        {"name": parameter.name, "type": parameter.kind} for parameter in parameters_for(resource_type).values()
    ]
    if patient_everything and resource_type == "Patient":
        entry["operation"] = [{"name": "everything", "definition": PATIENT_EVERYTHING}]
    return entry


def _smart_security(smart: SmartEndpoints) -> dict:
    uris = [("authorize", smart.authorize), ("token", smart.token),
            ("revoke", smart.revoke), ("introspect", smart.introspect)]
    return {
        "extension": [{
            "url": OAUTH_URIS,
            "extension": [{"url": name, "valueUri": uri} for name, uri in uris if uri is not None],
        }],
        "service": [SMART_SERVICE],
    }
