"""Patient `$everything`: its parameters and its paged searchset answer, the same in both servers.

See https://hl7.org/fhir/R4/patient-operation-everything.html.

What belongs to a patient's "everything" is the caller's decision (the mock limits it to a token's member and
scopes, the mirror to one source); this module filters it by `_type` and `_since`, orders it by type and id
(a total order, so offset paging shows each resource once) and pages it with the search's opaque tokens.
Callers hand it over already grouped by type and ordered by id (`by_type`), so that one that keeps it so
between requests pays per page for the page, not for sorting the whole record again: a member with thousands
of claims is walked in hundreds of pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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


def by_type(held: Iterable[Held]) -> dict[str, tuple[Held, ...]]:
    """`held` as `answer_everything` takes it: grouped by type, types in name order, each type's in id order."""
    grouped: dict[str, list[Held]] = {}
    for item in sorted(held, key=lambda item: item.key):
        grouped.setdefault(item.key[0], []).append(item)
    return {resource_type: tuple(items) for resource_type, items in grouped.items()}


def last_updated(held: Held) -> datetime | None:
    """When a resource last changed: the start of its `meta.lastUpdated`, None without a readable one."""
    found = element_range((held.resource.get("meta") or {}).get("lastUpdated"))
    return found.start if found is not None else None


def answer_everything(
    everything: Everything,
    held: Mapping[str, Sequence[Held]],
    *,
    base_url: str,
    patient_id: str,
    changed_at: Callable[[Held], datetime | None] = last_updated,
) -> bytes:
    """The searchset page that `everything` asks for of `held`, the patient's resources by type.

    Each type's resources come in id order (see `by_type`). Type, order and page come from their keys, so without
    `_since` a page costs its own entries, whatever the record holds. `_since` keeps the resources `changed_at`
    (`last_updated`, unless the caller keeps it already read) puts at or after it; none without a readable one.

    Raises SearchError (a PageTokenError) for a page token that belongs to another request.
    """
    offset = page_offset(everything.page_token, everything.self_params)
    groups = [held[resource_type] for resource_type in sorted(everything.types or held) if resource_type in held]
    since = everything.since
    if since is not None:
        groups = [[item for item in group if (moment := changed_at(item)) is not None and moment >= since]
                  for group in groups]
    total = sum(map(len, groups))
    links = page_links(f"{base_url}/Patient/{patient_id}/$everything", everything.self_params, offset,
                       everything.count, total)
    return page_bundle(_page(groups, offset, everything.count), total=total, links=links, base_url=base_url)


def _page(groups: Sequence[Sequence[Held]], offset: int, count: int) -> list[Held]:
    """Entries `offset` to `offset + count` of the groups one after another, slicing only the groups it spans."""
    page: list[Held] = []
    for group in groups:
        if len(page) == count:
            break
        if offset >= len(group):
            offset -= len(group)
            continue
        page.extend(group[offset:offset + count - len(page)])
        offset = 0
    return page
