"""What to fetch from a plan, read from its CapabilityStatement and the granted scope (CL-6).

`Patient/{id}/$everything` when the plan offers it, since one paged walk brings the whole record and the
resources it references; else one search per readable type, by patient: Patient by `_id`, the others by
the first of `patient`, `subject` or `beneficiary` the type declares (BB2's Coverage has only
`beneficiary`). Types outside the Patient compartment (Organization, Practitioner, ...) are not searched:
they arrive as the resources the member's records reference. Types the scope does not allow are skipped
before any request, and said so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from mirror.fhir.compartment import PATIENT_COMPARTMENT
from mirror.fhir.ids import is_resource_type_name
from mirror.fhir.scopes import allows_search

EVERYTHING = "$everything"  # the checkpoint key of the $everything walk; resource types key the others
PATIENT_PARAMETERS = ("patient", "subject", "beneficiary")
# Searched when a plan publishes no usable CapabilityStatement: the payer types of CARIN BB and US Core.
DEFAULT_TYPES = ("Patient", "Coverage", "ExplanationOfBenefit", "AllergyIntolerance", "CarePlan", "CareTeam",
                 "Condition", "DiagnosticReport", "DocumentReference", "Encounter", "Goal", "Immunization",
                 "MedicationRequest", "Observation", "Procedure")


@dataclass(frozen=True)
class Walk:
    """One paged walk: `key` names its checkpoint, `url` is its first page when everything is wanted.

    `since` is how the plan filters it to what changed after an instant: `_since` ($everything),
    `_lastUpdated` (a search that declares it), or None (every sync walks it whole).
    """

    key: str
    url: str
    since: str | None

    def changed_since_url(self, instant: str) -> str:
        value = f"gt{instant}" if self.since == "_lastUpdated" else instant
        return f"{self.url}&{urlencode({self.since: value})}"


@dataclass(frozen=True)
class Skipped:
    resource_type: str
    reason: str


@dataclass(frozen=True)
class Targets:
    """`everything` when offered; `by_type` always (the fallback when $everything is refused)."""

    everything: Walk | None
    by_type: tuple[Walk, ...]
    skipped: tuple[Skipped, ...]


def sync_targets(
    statement: Mapping | None, *, base: str, patient_id: str, scope: str, page_size: int, use_everything: bool = True
) -> Targets:
    """The walks for one member of one plan. `statement` None: the plan has no usable CapabilityStatement."""
    declared = _declared_types(statement) if statement is not None else {name: None for name in DEFAULT_TYPES}
    count = urlencode({"_count": page_size})
    streams, skipped = [], []
    for resource_type, resource in sorted(declared.items()):
        if not allows_search(scope, resource_type):
            skipped.append(Skipped(resource_type, "not in the granted scope"))
            continue
        parameters = _search_parameters(resource)
        patient_parameter = _patient_parameter(resource_type, parameters)
        if patient_parameter is None:
            if resource_type in PATIENT_COMPARTMENT:
                skipped.append(Skipped(resource_type, "the plan offers no search by patient"))
            continue
        query = urlencode({patient_parameter: patient_id})
        since = "_lastUpdated" if parameters is not None and "_lastUpdated" in parameters else None
        streams.append(Walk(resource_type, f"{base}/{resource_type}?{query}&{count}", since))
    everything = None
    if use_everything and _offers_everything(statement) and allows_search(scope, "Patient"):
        everything = Walk(EVERYTHING, f"{base}/Patient/{quote(patient_id, safe='')}/$everything?{count}", "_since")
    return Targets(everything, tuple(streams), tuple(skipped))


def _declared_types(statement: Mapping) -> dict[str, Mapping]:
    """The resource entries of the statement's server `rest` parts, by type."""
    declared = {}
    for rest in _list(statement.get("rest")):
        if isinstance(rest, Mapping) and rest.get("mode", "server") == "server":
            for resource in _list(rest.get("resource")):
                if isinstance(resource, Mapping) and is_resource_type_name(resource.get("type")):
                    declared[resource["type"]] = resource
    return declared


def _search_parameters(resource: Mapping | None) -> frozenset[str] | None:
    """The search parameter names a type declares; None when it declares none (many plans list nothing)."""
    names = [parameter.get("name") for parameter in _list((resource or {}).get("searchParam"))
             if isinstance(parameter, Mapping)]
    return frozenset(name for name in names if isinstance(name, str)) or None


def _patient_parameter(resource_type: str, declared: frozenset[str] | None) -> str | None:
    if resource_type == "Patient":
        return "_id"
    if declared is None:
        if resource_type not in PATIENT_COMPARTMENT:
            return None
        return "beneficiary" if resource_type == "Coverage" else "patient"
    return next((name for name in PATIENT_PARAMETERS if name in declared), None)


def _offers_everything(statement: Mapping | None) -> bool:
    """Patient `$everything` declared on the Patient resource or at the system level of a server part."""
    if statement is None:
        return False
    for rest in _list(statement.get("rest")):
        if not isinstance(rest, Mapping):
            continue
        operations = list(_list(rest.get("operation")))
        for resource in _list(rest.get("resource")):
            if isinstance(resource, Mapping) and resource.get("type") == "Patient":
                operations.extend(_list(resource.get("operation")))
        for operation in operations:
            if isinstance(operation, Mapping) and (
                    operation.get("name") in ("everything", "patient-everything")
                    or str(operation.get("definition", "")).endswith("/Patient-everything")):
                return True
    return False


def _list(value) -> list:
    return value if isinstance(value, list) else []
