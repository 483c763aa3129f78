"""So that searches honour `_sort`, `_include` and `_elements` beyond just matching.

What a search returns besides its matches (https://hl7.org/fhir/R4/search.html#return): the order asked by
`_sort`, the resources named by `_include`, and `_elements` subsets. All on raw dicts, no models.
"""

from collections.abc import Callable, Mapping
from datetime import timedelta

from mirror.fhir.dates import MIN_INSTANT, element_range
from mirror.fhir.paths import values_at
from mirror.fhir.references import reference_target
from mirror.fhir.search import Search

# R4 search.html#elements: a server returning a subset marks it with this tag.
SUBSETTED_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "Resource encoded in summary mode",
}
_ALWAYS_KEPT = frozenset({"resourceType", "id", "meta"})
_MICROSECOND = timedelta(microseconds=1)


def sort_key(search: Search) -> Callable[[Mapping], tuple]:
    """A `key=` function ordering resources by the search's `_sort` fields, then by id.

    A field's value is the earliest start among its dates ascending, the latest start descending;
    resources with no value sort last either way. The id tie-break makes the order total, which keeps
    offset paging stable (each resource on exactly one page).
    """
    fields = search.sort

    def key(resource: Mapping) -> tuple:
        parts: list = []
        for field in fields:
            starts = [
                (span.start - MIN_INSTANT) // _MICROSECOND
                for path in field.parameter.paths
                for span in map(element_range, values_at(resource, path))
                if span is not None
            ]
            if not starts:
                parts.append((1, 0))
            else:
                parts.append((0, -max(starts)) if field.descending else (0, min(starts)))
        parts.append(str(resource.get("id", "")))
        return tuple(parts)

    return key


def included_references(search: Search, resource: Mapping) -> list[tuple[str, str]]:
    """The (type, id) pairs the search's `_include`s name from `resource`, without repeats, in order.

    Contained (`#id`) and `urn:` references name nothing to include; absolute ones give their type and id
    (see references.reference_target), to be looked up in the caller's own store.
    """
    found: dict[tuple[str, str], None] = {}
    for include in search.includes:
        for parameter in include.parameters:
            for path in parameter.paths:
                for element in values_at(resource, path):
                    target = reference_target(element.get("reference")) if isinstance(element, Mapping) else None
                    if target is None:
                        continue
                    if include.target_type is not None and target[0] != include.target_type:
                        continue
                    if parameter.targets and target[0] not in parameter.targets:
                        continue
                    found[target] = None
    return list(found)


def subset_elements(resource: Mapping, elements: tuple[str, ...]) -> dict:
    """A copy of `resource` with only the listed top-level elements, plus resourceType, id and meta, tagged SUBSETTED.

    A name covers its primitive extension (`_birthDate`) and its choice forms (`value` keeps `valueQuantity`).
    Mandatory elements are not added back: the tag tells the client the copy is partial. The input is not modified.
    """
    subset = {key: value for key, value in resource.items() if key in _ALWAYS_KEPT or _is_listed(key, elements)}
    meta = dict(subset.get("meta") or {})
    tags = [tag for tag in meta.get("tag", []) if not _is_subsetted_tag(tag)]
    meta["tag"] = [*tags, dict(SUBSETTED_TAG)]
    subset["meta"] = meta
    return subset


def _is_listed(key: str, elements: tuple[str, ...]) -> bool:
    name = key[1:] if key.startswith("_") else key
    return any(
        name == element or (name.startswith(element) and name[len(element):][:1].isupper())
        for element in elements
    )


def _is_subsetted_tag(tag: object) -> bool:
    return (
        isinstance(tag, Mapping)
        and tag.get("system") == SUBSETTED_TAG["system"]
        and tag.get("code") == SUBSETTED_TAG["code"]
    )
