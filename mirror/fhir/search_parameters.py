"""The search parameters both servers understand.

A whitelist per resource type, each parameter bound to fixed element paths and an R4 search kind
(https://hl7.org/fhir/R4/searchparameter-registry.html).

A request can only name a parameter listed here; the paths walked are ours, never the request's, so a query
cannot reach arbitrary elements. The list follows what real clients send: Inferno's CARIN BB and US Core
suites (patient in both reference forms, identifier, _lastUpdated, EOB type/service-date/created and the EOB
_include set), and Plan-Net directory clients (name, address parts, specialty, type, and the organization,
location, practitioner, network and endpoint links between directory resources). Plan-Net's extension-based
parameters (PractitionerRole `network`, `via-intermediary`, `new-patient`) are not served: they need
extension-url filters that a fixed path cannot express.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

TOKEN, REFERENCE, DATE, STRING = "token", "reference", "date", "string"

_PRACTITIONER_OR_ORG = ("Practitioner", "PractitionerRole", "Organization")


@dataclass(frozen=True)
class SearchParameter:
    """So that a search knows how to read and check each R4 search parameter it accepts.

    One parameter: its R4 kind, the element paths it reads, and for references the types it may target
    (empty: any type)."""

    name: str
    kind: str
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()


def _token(name: str, *paths: str) -> SearchParameter:
    return SearchParameter(name, TOKEN, paths)


def _date(name: str, *paths: str) -> SearchParameter:
    return SearchParameter(name, DATE, paths)


def _string(name: str, *paths: str) -> SearchParameter:
    return SearchParameter(name, STRING, paths)


def _reference(name: str, paths: str | tuple[str, ...], *targets: str) -> SearchParameter:
    return SearchParameter(name, REFERENCE, (paths,) if isinstance(paths, str) else paths, targets)


def _patient(path: str) -> SearchParameter:
    return _reference("patient", path, "Patient")


COMMON = (_token("_id", "id"), _date("_lastUpdated", "meta.lastUpdated"))

_STATUS = _token("status", "status")
_IDENTIFIER = _token("identifier", "identifier")
_CODE = _token("code", "code")
_CATEGORY = _token("category", "category")
_TYPE = _token("type", "type")
_SPECIALTY = _token("specialty", "specialty")
_ENDPOINT = _reference("endpoint", "endpoint", "Endpoint")
_ADDRESS = (
    _string("address", "address"),
    _string("address-city", "address.city"),
    _string("address-state", "address.state"),
    _string("address-postalcode", "address.postalCode"),
)

_BY_TYPE: dict[str, tuple[SearchParameter, ...]] = {
    # Claims and coverage (CARIN BB)
    "ExplanationOfBenefit": (
        _patient("patient"), _IDENTIFIER, _STATUS,
        _token("type", "type"),
        _date("created", "created"),
        _date("service-date", "billablePeriod", "item.servicedDate", "item.servicedPeriod"),
        _date("service-start-date", "billablePeriod.start", "item.servicedDate", "item.servicedPeriod.start"),
        _date("billable-period-start", "billablePeriod.start"),
        _reference("provider", "provider", *_PRACTITIONER_OR_ORG),
        _reference("care-team", "careTeam.provider", *_PRACTITIONER_OR_ORG),
        _reference("coverage", "insurance.coverage", "Coverage"),
        _reference("insurer", "insurer", "Organization"),
        _reference("payee", "payee.party", *_PRACTITIONER_OR_ORG, "Patient", "RelatedPerson"),
    ),
    "Claim": (
        _patient("patient"), _IDENTIFIER, _STATUS,
        _token("use", "use"),
        _date("created", "created"),
        _reference("provider", "provider", *_PRACTITIONER_OR_ORG),
        _reference("insurer", "insurer", "Organization"),
    ),
    "Coverage": (
        _patient("beneficiary"), _IDENTIFIER, _STATUS, _TYPE,
        _reference("beneficiary", "beneficiary", "Patient"),
        _reference("subscriber", "subscriber", "Patient", "RelatedPerson"),
        _reference("policy-holder", "policyHolder", "Patient", "RelatedPerson", "Organization"),
        _reference("payor", "payor", "Organization", "Patient", "RelatedPerson"),
    ),
    # Clinical (US Core)
    "Patient": (
        _IDENTIFIER,
        _string("name", "name"),
        _string("family", "name.family"),
        _string("given", "name.given"),
        _date("birthdate", "birthDate"),
        _token("gender", "gender"),
    ),
    "AllergyIntolerance": (
        _patient("patient"), _CODE,
        _token("clinical-status", "clinicalStatus"),
    ),
    "CarePlan": (_patient("subject"), _CATEGORY, _STATUS, _date("date", "period")),
    "CareTeam": (_patient("subject"), _STATUS),
    "Condition": (
        _patient("subject"), _CATEGORY, _CODE,
        _token("clinical-status", "clinicalStatus"),
        _date("onset-date", "onsetDateTime", "onsetPeriod"),
        _date("recorded-date", "recordedDate"),
    ),
    "Device": (_patient("patient"), _STATUS, _TYPE),
    "DiagnosticReport": (
        _patient("subject"), _STATUS, _CATEGORY, _CODE,
        _date("date", "effectiveDateTime", "effectivePeriod"),
    ),
    "DocumentReference": (
        _patient("subject"), _IDENTIFIER, _STATUS, _TYPE, _CATEGORY,
        _date("date", "date"),
        _date("period", "context.period"),
    ),
    "Encounter": (
        _patient("subject"), _IDENTIFIER, _STATUS, _TYPE,
        _token("class", "class"),
        _date("date", "period"),
    ),
    "Goal": (
        _patient("subject"),
        _token("lifecycle-status", "lifecycleStatus"),
        _date("target-date", "target.dueDate"),
    ),
    "ImagingStudy": (_patient("subject"), _STATUS, _date("started", "started")),
    "Immunization": (
        _patient("patient"), _STATUS,
        _token("vaccine-code", "vaccineCode"),
        _date("date", "occurrenceDateTime"),
    ),
    "Medication": (_CODE, _STATUS),
    "MedicationDispense": (
        _patient("subject"), _STATUS,
        _token("code", "medicationCodeableConcept"),
        _reference("medication", "medicationReference", "Medication"),
    ),
    "MedicationRequest": (
        _patient("subject"), _STATUS,
        _token("intent", "intent"),
        _token("code", "medicationCodeableConcept"),
        _date("authoredon", "authoredOn"),
        _reference("medication", "medicationReference", "Medication"),
    ),
    "Observation": (
        _patient("subject"), _STATUS, _CATEGORY, _CODE,
        _date("date", "effectiveDateTime", "effectivePeriod", "effectiveInstant"),
    ),
    "Procedure": (
        _patient("subject"), _STATUS, _CODE,
        _date("date", "performedDateTime", "performedPeriod"),
    ),
    "Provenance": (
        _patient("target"),
        _reference("target", "target"),
    ),
    "QuestionnaireResponse": (_patient("subject"), _STATUS, _date("authored", "authored")),
    "RelatedPerson": (_patient("patient"), _IDENTIFIER, _string("name", "name")),
    "ServiceRequest": (
        _patient("subject"), _STATUS, _CODE, _CATEGORY,
        _date("authored", "authoredOn"),
    ),
    "Specimen": (_patient("subject"), _STATUS, _TYPE),
    # Provider directory (Plan-Net) and formulary (US Drug Formulary)
    "Endpoint": (
        _IDENTIFIER, _STATUS,
        _string("name", "name"),
        _token("connection-type", "connectionType"),
        _reference("organization", "managingOrganization", "Organization"),
    ),
    "HealthcareService": (
        _IDENTIFIER, _SPECIALTY, _ENDPOINT,
        _string("name", "name"),
        _token("service-category", "category"),
        _token("service-type", "type"),
        _reference("organization", "providedBy", "Organization"),
        _reference("location", "location", "Location"),
        _reference("coverage-area", "coverageArea", "Location"),
    ),
    "InsurancePlan": (
        _IDENTIFIER, _TYPE, _STATUS,
        _string("name", "name", "alias"),
        _token("plan-type", "plan.type"),
        _reference("administered-by", "administeredBy", "Organization"),
        _reference("owned-by", "ownedBy", "Organization"),
        _reference("network", ("network", "plan.network"), "Organization"),
        _reference("coverage-area", ("coverageArea", "plan.coverageArea"), "Location"),
    ),
    "Location": (
        _IDENTIFIER, _TYPE, _ENDPOINT, *_ADDRESS,
        _string("name", "name", "alias"),
        _reference("organization", "managingOrganization", "Organization"),
        _reference("partof", "partOf", "Location"),
    ),
    "MedicationKnowledge": (_CODE, _STATUS),
    "Organization": (
        _IDENTIFIER, _TYPE, _ENDPOINT, *_ADDRESS,
        _string("name", "name", "alias"),
        _reference("partof", "partOf", "Organization"),
    ),
    "OrganizationAffiliation": (
        _SPECIALTY, _ENDPOINT,
        _token("role", "code"),
        _reference("primary-organization", "organization", "Organization"),
        _reference("participating-organization", "participatingOrganization", "Organization"),
        _reference("network", "network", "Organization"),
        _reference("location", "location", "Location"),
        _reference("service", "healthcareService", "HealthcareService"),
    ),
    "Practitioner": (
        _IDENTIFIER,
        _string("name", "name"),
        _string("family", "name.family"),
        _string("given", "name.given"),
    ),
    "PractitionerRole": (
        _SPECIALTY, _ENDPOINT,
        _token("role", "code"),
        _reference("practitioner", "practitioner", "Practitioner"),
        _reference("organization", "organization", "Organization"),
        _reference("location", "location", "Location"),
        _reference("service", "healthcareService", "HealthcareService"),
    ),
}

SEARCH_PARAMETERS: Mapping[str, Mapping[str, SearchParameter]] = MappingProxyType({
    resource_type: MappingProxyType({parameter.name: parameter for parameter in (*COMMON, *parameters)})
    for resource_type, parameters in _BY_TYPE.items()
})
_COMMON_ONLY: Mapping[str, SearchParameter] = MappingProxyType({parameter.name: parameter for parameter in COMMON})

# `_sort=date` on types whose dates go by another name: claims sort by when the service happened.
_SORT_DATE_ALIASES = MappingProxyType({"ExplanationOfBenefit": "service-date", "Claim": "created"})


def parameters_for(resource_type: str) -> Mapping[str, SearchParameter]:
    """Every parameter a type can be searched by; types outside the whitelist get only `_id`/`_lastUpdated`."""
    return SEARCH_PARAMETERS.get(resource_type, _COMMON_ONLY)


def sort_parameter(resource_type: str, name: str) -> SearchParameter | None:
    """The date parameter `_sort=name` orders by, or None when `name` is not a date parameter of the type."""
    parameters = parameters_for(resource_type)
    if name == "date" and name not in parameters:
        name = _SORT_DATE_ALIASES.get(resource_type, name)
    parameter = parameters.get(name)
    return parameter if parameter is not None and parameter.kind == DATE else None


def reference_parameters(resource_type: str) -> tuple[SearchParameter, ...]:
    """The reference parameters of a type: what `_include=Type:*` follows."""
    return tuple(p for p in parameters_for(resource_type).values() if p.kind == REFERENCE)
