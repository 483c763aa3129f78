"""Whether a raw resource dict satisfies a Search, by the R4 matching rule of each parameter kind.

The rules are those of https://hl7.org/fhir/R4/search.html#token, #reference, #date and #string.

This runs on the serve path for every stored resource, so it reads the raw dict through fixed paths and
never builds a model. A criterion matches when any of its values matches any element at its paths.
"""

from collections.abc import Iterator, Mapping

from mirror.fhir.dates import element_range, prefix_matches
from mirror.fhir.paths import values_at
from mirror.fhir.references import reference_target
from mirror.fhir.search import Criterion, Search, TokenValue, fold
from mirror.fhir.search_parameters import DATE, REFERENCE, TOKEN

# The string parts of HumanName and Address that a `name`/`address` search looks at.
_STRING_PARTS = ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state",
                 "postalCode", "country")


def matches(search: Search, resource: Mapping) -> bool:
    """True when `resource` is of the searched type and meets every criterion."""
    if resource.get("resourceType") != search.resource_type:
        return False
    return all(_criterion_matches(criterion, resource) for criterion in search.criteria)


def _criterion_matches(criterion: Criterion, resource: Mapping) -> bool:
    elements = [value for path in criterion.parameter.paths for value in values_at(resource, path)]
    if criterion.modifier == "missing":
        return (not elements) == criterion.values[0]
    kind = criterion.parameter.kind
    if kind == TOKEN:
        return _token_matches(criterion, elements)
    if kind == REFERENCE:
        return _reference_matches(criterion, elements)
    if kind == DATE:
        return _date_matches(criterion, elements)
    return _string_matches(criterion, elements)


def _token_matches(criterion: Criterion, elements: list) -> bool:
    codes = [pair for element in elements for pair in _codes(element)]
    return any(_token_equal(value, system, code) for value in criterion.values for system, code in codes)


def _codes(element: object) -> Iterator[tuple[str | None, object]]:
    """(system, code) pairs of a code, boolean, Coding, CodeableConcept or Identifier element."""
    if isinstance(element, bool):
        yield None, "true" if element else "false"
    elif isinstance(element, str):
        yield None, element
    elif isinstance(element, Mapping):
        codings = element.get("coding")
        if isinstance(codings, list):
            for coding in codings:
                if isinstance(coding, Mapping):
                    yield coding.get("system") or None, coding.get("code")
        elif "code" in element:
            yield element.get("system") or None, element.get("code")
        elif "value" in element:
            yield element.get("system") or None, element.get("value")


def _token_equal(value: TokenValue, system: str | None, code: object) -> bool:
    if value.code is not None and value.code != code:
        return False
    if value.system is None:
        return True
    if value.system == "":
        return system is None
    return value.system == system


def _reference_matches(criterion: Criterion, elements: list) -> bool:
    allowed = criterion.parameter.targets
    named = [reference_target(element.get("reference")) for element in elements if isinstance(element, Mapping)]
    targets = [target for target in named if target is not None and (not allowed or target[0] in allowed)]
    return any(
        value.id == resource_id and value.resource_type in (None, resource_type)
        for value in criterion.values
        for resource_type, resource_id in targets
    )


def _date_matches(criterion: Criterion, elements: list) -> bool:
    ranges = [span for span in map(element_range, elements) if span is not None]
    return any(prefix_matches(value.prefix, value.range, span) for value in criterion.values for span in ranges)


def _string_matches(criterion: Criterion, elements: list) -> bool:
    texts = [text for element in elements for text in _strings(element)]
    if criterion.modifier == "exact":
        return any(value.text == text for value in criterion.values for text in texts)
    folded = [fold(text) for text in texts]
    if criterion.modifier == "contains":
        return any(value.folded in text for value in criterion.values for text in folded)
    return any(text.startswith(value.folded) for value in criterion.values for text in folded)


def _strings(element: object) -> Iterator[str]:
    if isinstance(element, str):
        yield element
    elif isinstance(element, Mapping):
        for part in _STRING_PARTS:
            value = element.get(part)
            if isinstance(value, str):
                yield value
            elif isinstance(value, list):
                yield from (item for item in value if isinstance(item, str))
