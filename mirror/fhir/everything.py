"""Patient `$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html): its parameters and its
paged searchset answer, the same in both servers.

What belongs to a patient's "everything" is the caller's decision (the mock limits it to a token's member and
scopes, the mirror to one source); this module filters it by `_type` and `_since`, orders it by type and id
(a total order, so offset paging shows each resource once) and pages it with the search's opaque tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mirror.fhir.dates import FhirDateError, date_range, element_range
from mirror.fhir.ids import is_resource_type_name
from mirror.fhir.paging import page_links, page_offset
from mirror.fhir.search import PAGE_TOKEN, SearchError, parse_count
from mirror.fhir.searchset import Held, page_bundle

_PARAMETERS = ("_type", "_since", "_count", PAGE_TOKEN)


@dataclass(frozen=True)
class Everything:
    """A parsed `$everything` request; `types` empty means every type."""

    types: tuple[str, ...]
    since: datetime | None
    count: int
    page_token: str | None
    self_params: tuple[tuple[str, str], ...]


def parse_everything(pairs: Iterable[tuple[str, str]], *, default_count: int, max_count: int) -> Everything:
    """Read `_type` (comma-separated types), `_since` (a FHIR instant) and `_count`; other names are ignored.

    A bad value is a SearchError (400), as in a search.
    """
    given: dict[str, str] = {}
    for name, value in pairs:
        if name in _PARAMETERS and value != "":
            if name in given:
                raise SearchError(f"{name} given more than once")
            given[name] = value
    types = tuple(dict.fromkeys(given["_type"].split(","))) if "_type" in given else ()
    if not all(is_resource_type_name(name) for name in types):
        raise SearchError("_type must list resource types")
    since = None
    if "_since" in given:
        try:
            since = date_range(given["_since"]).start
        except FhirDateError as error:
            raise SearchError(f"invalid _since: {error}") from None
    count = parse_count(given.get("_count"), default_count, max_count)
    self_params = [(name, given[name]) for name in ("_since",) if name in given]
    if types:
        self_params.insert(0, ("_type", ",".join(types)))
    self_params.append(("_count", str(count)))
    return Everything(types, since, count, given.get(PAGE_TOKEN), tuple(self_params))


def answer_everything(everything: Everything, held: Iterable[Held], *, base_url: str, patient_id: str) -> bytes:
    """The searchset page of `held` (the patient's resources) that `everything` asks for. Resources are parsed
    only for `_since`: type, order and page come from their keys.

    Raises SearchError (a PageTokenError) for a page token that belongs to another request.
    """
    offset = page_offset(everything.page_token, everything.self_params)
    chosen = sorted(
        (item for item in held
         if (not everything.types or item.key[0] in everything.types)
         and (everything.since is None or _changed_since(item.resource, everything.since))),
        key=lambda item: item.key,
    )
    links = page_links(f"{base_url}/Patient/{patient_id}/$everything", everything.self_params, offset,
                       everything.count, len(chosen))
    page = chosen[offset:offset + everything.count]
    return page_bundle(page, total=len(chosen), links=links, base_url=base_url)


def _changed_since(resource: Mapping, since: datetime) -> bool:
    """`_since`: resources whose `meta.lastUpdated` is at or after it (none without a readable one)."""
    last_updated = element_range((resource.get("meta") or {}).get("lastUpdated"))
    return last_updated is not None and last_updated.start >= since
