"""Answering a search over resources held in memory.

Filter, order, page, `_include`, and the searchset Bundle's JSON text (https://hl7.org/fhir/R4/search.html,
https://hl7.org/fhir/R4/http.html#paging).

The mock payer and the mirror's own API answer searches the same way; only what a caller may see differs,
so each passes its own candidates and its own resolver for included references. Resources travel as
objects with `.key` (type and id), `.resource` (the parsed dict, for matching) and `.text` (the JSON as
stored, for the reply). Parsing is most of a search's cost over stored text, so `.resource` is touched only
when a criterion, `_sort`, `_include` or `_elements` needs it: a search its caller's indexes have already
answered (criteria removed) pages through keys and texts alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import orjson

from mirror.fhir.bundles import bundle_entry, bundle_json, resource_url, searchset_bundle
from mirror.fhir.matching import matches
from mirror.fhir.paging import page_links, page_offset
from mirror.fhir.results import included_references, sort_key, subset_elements
from mirror.fhir.search import Search


class Held(Protocol):
    key: tuple[str, str]  # (resourceType, id)
    resource: dict
    text: str | bytes


def answer_search(
    search: Search,
    candidates: Iterable[Held],
    *,
    base_url: str,
    resolve: Callable[[str, str], Held | None],
    in_id_order: bool = False,
) -> bytes:
    """The searchset page `search` asks for, from `candidates` of the searched type.

    `base_url` is the FHIR base as the request saw it. `in_id_order`: the candidates come in id order, the order of
    a search without `_sort`, so they need no sorting (a caller that keeps them so pays per page for matching at
    most).

    Raises SearchError (via `page_offset`) for a page token that belongs to another query.
    """
    return answer_found(search, found_in_order(search, candidates, in_id_order=in_id_order), base_url=base_url,
                        resolve=resolve)


def found_in_order(search: Search, candidates: Iterable[Held], *, in_id_order: bool = False) -> list[Held]:
    """So that every page of a search is cut from the same ordered matches, computed once.

    The candidates that match `search`, in its order: what every page of the search is cut from, which a
    caller may keep between pages (matching and sorting parse every candidate)."""
    if search.criteria:
        candidates = (held for held in candidates if matches(search, held.resource))
    if search.sort:
        order = sort_key(search)
        return sorted(candidates, key=lambda held: order(held.resource))
    if in_id_order:
        return list(candidates)
    return sorted(candidates, key=lambda held: held.key[1])  # sort_key's own order: by id


def answer_found(
    search: Search, found: Sequence[Held], *, base_url: str, resolve: Callable[[str, str], Held | None]
) -> bytes:
    """The page `search` asks for of `found` (see `found_in_order`).

    Raises SearchError (via `page_offset`) for a page token that belongs to another query.
    """
    offset = page_offset(search.page_token, search.self_params)
    search_url = f"{base_url}/{search.resource_type}"
    if search.summary_count:
        links = [{"relation": "self", "url": page_links(search_url, search.self_params, 0, 0, 0)[0]["url"]}]
        return bundle_json(searchset_bundle([], total=len(found), links=links), [])
    page = found[offset:offset + search.count]
    included = _included(search, page, resolve)
    links = page_links(search_url, search.self_params, offset, search.count, len(found))
    return page_bundle(page, included, total=len(found), links=links, base_url=base_url, elements=search.elements)


def page_bundle(
    page: Sequence[Held],
    included: Sequence[Held] = (),
    *,
    total: int | None,
    links: Sequence[dict],
    base_url: str,
    elements: tuple[str, ...] | None = None,
) -> bytes:
    """A searchset Bundle around stored resource text (re-serialised only when `_elements` cuts it down)."""
    entries, texts = [], []
    for mode, group in (("match", page), ("include", included)):
        for held in group:
            entries.append(bundle_entry(resource_url(base_url, *held.key), mode=mode))
            texts.append(orjson.dumps(subset_elements(held.resource, elements)) if elements and mode == "match"
                         else held.text)
    return bundle_json(searchset_bundle(entries, total=total, links=links), texts)


def _included(search: Search, page: Sequence[Held], resolve: Callable[[str, str], Held | None]) -> list[Held]:
    if not search.includes:
        return []
    on_page = {held.key for held in page}
    seen: set[tuple[str, str]] = set()
    included = []
    for held in page:
        for target in included_references(search, held.resource):
            if target in on_page or target in seen:
                continue
            seen.add(target)
            found = resolve(*target)
            if found is not None:
                included.append(found)
    return included
