"""Lenient validation of raw resources against the `fhir.resources.R4B` models.

R4B (4.3.0) is the closest model set to R4 in fhir.resources 8.x, and it accepts the payer types unchanged;
the package's default R5 models reject most real payer data (see research/feasibility.md). Validation only
reports: a resource that fails is stored and flagged, never dropped, so this never raises, whatever it is
given. It costs milliseconds per resource, so it belongs at ingest and in tests, not on the serve path.
"""

from functools import lru_cache

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from mirror.fhir.ids import is_resource_type_name

_MOST_FINDINGS = 20


def validation_findings(resource: object) -> list[str]:
    """Short readable problems with `resource` (a parsed JSON object); empty when the R4B model accepts it.

    Messages name the element path and the rule, never the offending value, so they carry no PHI.
    """
    if not isinstance(resource, dict):
        return ["not a JSON object"]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return ["resourceType is missing"]
    model = _resource_model(resource_type) if is_resource_type_name(resource_type) else None
    if model is None:
        return [f"unknown resourceType {resource_type[:64]!r}"]
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return _describe(error)
    except (ValueError, TypeError, RecursionError) as error:
        return [f"invalid {resource_type}: {type(error).__name__}"]
    except Exception as error:  # noqa: BLE001 - the models' own failure on odd input (fhir_core has a few)
        return [f"could not be validated: the R4B models failed on it ({type(error).__name__})"]
    return []


def is_resource_type(name: object) -> bool:
    """True for the name of a concrete R4 (R4B) resource type: `Coverage` yes, `Period` or `Foo` no."""
    return is_resource_type_name(name) and _resource_model(name) is not None


@lru_cache(maxsize=256)
def _resource_model(resource_type: str) -> type[Resource] | None:
    """The concrete R4B resource class for a type name, or None (a datatype, an abstract class, unknown).

    A memo of an idempotent lookup, not state: the answer for a name never changes while the process runs.
    """
    try:
        model = get_fhir_model_class(resource_type)
    except ValueError:
        return None
    if issubclass(model, Resource) and resource_type not in ("Resource", "DomainResource"):
        return model
    return None


def _describe(error: ValidationError) -> list[str]:
    findings = []
    for detail in error.errors(include_url=False, include_input=False)[:_MOST_FINDINGS]:
        location = ".".join(str(part) for part in detail.get("loc", ())) or "(resource)"
        findings.append(f"{location}: {detail.get('msg', 'invalid')}")
    hidden = error.error_count() - len(findings)
    if hidden > 0:
        findings.append(f"... and {hidden} more")
    return findings
