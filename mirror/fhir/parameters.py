"""So that an operation invoked by POST reads its parameters as its GET form does.

A `Parameters` resource (https://hl7.org/fhir/R4/parameters.html) read as the name/value pairs of a query
string, so that an operation invoked by POST with its parameters in the body reads them as its GET form does."""

from __future__ import annotations


_PRIMITIVE = (str, int, float)  # JSON's forms of FHIR primitives; bool is an int


class ParametersError(ValueError):
    """A body that is not a Parameters resource of primitive values; the message says what is wrong."""


def parameter_pairs(resource: object) -> list[tuple[str, str]]:
    """`(name, value)` for each `parameter`, in order, its `value[x]` written as in a URL (`true`, `5`).

    Only primitive values are read: a parameter holding a `resource` or `part` is no query parameter.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        raise ParametersError("the body must be a Parameters resource")
    parameters = resource.get("parameter", [])
    if not isinstance(parameters, list):
        raise ParametersError("Parameters.parameter must be a list")
    return [_pair(parameter) for parameter in parameters]


def _pair(parameter: object) -> tuple[str, str]:
    if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
        raise ParametersError("each Parameters.parameter needs a name")
    name = parameter["name"]
    values = [value for key, value in parameter.items() if key.startswith("value")]
    if len(values) != 1 or "resource" in parameter or "part" in parameter or not isinstance(values[0], _PRIMITIVE):
        raise ParametersError(f"parameter {name[:64]!r} must have one primitive value[x] (no resource or part)")
    value = values[0]
    if isinstance(value, bool):
        return name, "true" if value else "false"
    return name, str(value)
