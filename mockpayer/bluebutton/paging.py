"""Blue Button's paging, as its data server (BFD) pages every search.

A page is `_count` results from `startIndex`, and the Bundle links `first`, `next` (when more follow), `previous`
(after the first page) and `last`, each the same query with `startIndex` moved, as absolute URLs on the host the app
called (SY-5: apps follow them as given).

`last` starts at the largest multiple of `_count` below the total (the first page when there are no results).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode


def page_links(search_url: str, query: Sequence[tuple[str, str]], start_index: int, count: int,
               total: int) -> list[dict]:
    """`first`, `next`, `previous` and `last` links, in BFD's order; `query` is the rest of the search's query."""
    links = [_link("first", search_url, query, 0, count)]
    if start_index + count < total:
        links.append(_link("next", search_url, query, start_index + count, count))
    if start_index > 0:
        links.append(_link("previous", search_url, query, max(start_index - count, 0), count))
    links.append(_link("last", search_url, query, max(total - 1, 0) // count * count, count))
    return links


def page_url(search_url: str, query: Sequence[tuple[str, str]], start_index: int, count: int) -> str:
    """The page of `count` results from `start_index` of the search, as BFD links it."""
    return f"{search_url}?{urlencode([*query, ('startIndex', str(start_index)), ('_count', str(count))])}"


def _link(relation: str, search_url: str, query: Sequence[tuple[str, str]], start_index: int, count: int) -> dict:
    return {"relation": relation, "url": page_url(search_url, query, start_index, count)}
