"""What the mock holds of each resource: its JSON text, and as Python objects only the elements its indexes read.

A parsed resource takes several times the memory of its text (bench/README.md, mock.py), so each
resource is kept as the text it was written in and, parsed, only what every request needs without reading that
text again: its type and id, the Patients whose compartment it is in, `meta.lastUpdated`, and the elements the
searches load tests run read (`INDEXED`). `StoredResource.resource` parses the text on demand, for the rest: a
search on another parameter, an `_include`, `_elements`, a granular scope's query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType

import orjson

from mirror.fhir.compartment import FALLBACK_PATHS, PATIENT_COMPARTMENT, SEARCHED_OTHERWISE, patient_ids
from mirror.fhir.dates import DateRange, element_range
from mirror.fhir.search import Search
from mirror.fhir.searchset import found_in_order

Key = tuple[str, str]

# Of every type: what reads, `metadata` and the `_id` and `_lastUpdated` searches read.
COMMON = ("resourceType", "id", "meta.lastUpdated", "meta.versionId", "meta.profile")

# Beyond COMMON and the Patient compartment's elements (which answer `patient=` searches): what Blue Button
# searches of claims read (mockpayer/bluebutton/query.py: `type`, `service-date`; samhsa.py: the 42CFRPart2 label
# and the diagnoses), which the R4 API's `type`, `service-date`, `service-start-date` and `billable-period-start`
# read too.
INDEXED: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "ExplanationOfBenefit": ("type", "billablePeriod", "item.servicedDate", "item.servicedPeriod", "meta.security",
                             "diagnosis.diagnosisCodeableConcept"),
})

_NOT_READ = object()


def indexed_paths(resource_type: str) -> tuple[str, ...]:
    """The element paths kept parsed for resources of the type."""
    compartment = PATIENT_COMPARTMENT.get(resource_type) or SEARCHED_OTHERWISE.get(resource_type, FALLBACK_PATHS)
    return (*COMMON, *compartment, *INDEXED.get(resource_type, ()))


class StoredResource:
    """A resource as the mock holds it: `text` as written, `indexed` (its INDEXED elements), and where it came from.

    Built from the resource parsed once at load, which is not kept."""

    __slots__ = ("key", "text", "file", "indexed", "patients", "_last_updated")

    def __init__(self, text: str, resource: Mapping, file: str):
        self.key: Key = (resource["resourceType"], resource["id"])
        self.text = text
        self.file = file
        self.indexed: dict = _projection(resource, _tree(self.key[0]))
        self.patients: frozenset[str] = frozenset(patient_ids(self.indexed))
        self._last_updated: object = _NOT_READ

    @property
    def resource(self) -> dict:
        """The whole resource, parsed from its text on each call: hold on to it for as long as it is needed."""
        return orjson.loads(self.text)

    @property
    def last_updated(self) -> datetime | None:
        """`meta.lastUpdated`, read once: `$everything?_since` asks it of a member's every record on every page."""
        if self._last_updated is _NOT_READ:
            found: DateRange | None = element_range((self.indexed.get("meta") or {}).get("lastUpdated"))
            self._last_updated = found.start if found is not None else None
        return self._last_updated  # type: ignore[return-value]


def covers(resource_type: str, paths: Iterable[str]) -> bool:
    """Whether the indexed elements hold everything at `paths` (those of a search parameter) for the type."""
    kept = indexed_paths(resource_type)
    return all(any(path == held or path.startswith(held + ".") for held in kept) for path in paths)


def found_by_index(search: Search, candidates: Sequence[StoredResource]) -> list[StoredResource]:
    """The candidates `search` matches, in its order (`found_in_order`; the candidates in id order).

    Matched and sorted on their indexed elements when those hold every element the criteria and `_sort` read,
    so that paging a member's claims parses nothing; on each candidate parsed otherwise."""
    paths = [path for part in (*search.criteria, *search.sort) for path in part.parameter.paths]
    if not covers(search.resource_type, paths):
        return found_in_order(search, candidates, in_id_order=True)
    found = found_in_order(search, [_AsIndexed(stored) for stored in candidates], in_id_order=True)
    return [held.stored for held in found]


class _AsIndexed:
    """A stored resource whose `.resource` is its indexed elements, for matching and sorting."""

    __slots__ = ("stored", "key", "text", "resource")

    def __init__(self, stored: StoredResource):
        self.stored, self.key, self.text, self.resource = stored, stored.key, stored.text, stored.indexed


@lru_cache(maxsize=256)
def _tree(resource_type: str) -> dict:
    """The type's indexed paths as nested names, None where the whole value is kept (a memo of a fixed table)."""
    tree: dict = {}
    for path in sorted(indexed_paths(resource_type), key=lambda path: path.count(".")):  # a whole value first
        node: dict | None = tree
        *parents, last = path.split(".")
        for name in parents:
            node = node.setdefault(name, {}) if node is not None and node.get(name, {}) is not None else None
        if node is not None:
            node[last] = None
    return tree


def _projection(node: Mapping, tree: Mapping) -> dict:
    """The parts of `node` at the tree's paths, lists kept as lists, so `values_at` finds the same values there."""
    kept = {}
    for name, below in tree.items():
        value = node.get(name)
        if value is None:
            continue
        if below is None:
            kept[name] = value
        elif isinstance(value, list):
            kept[name] = [_projection(item, below) for item in value if isinstance(item, Mapping)]
        elif isinstance(value, Mapping):
            kept[name] = _projection(value, below)
    return kept
