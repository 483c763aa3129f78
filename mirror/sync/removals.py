"""How a plain `mirror sync` finds what the plan no longer has, at one request per walk when nothing changed.

A search for what changed since (`_since`, `_lastUpdated`) cannot show a deletion. So after each walk the
engine asks the plan how many records that walk holds (`_summary=count`, one entry at most on a plan that
ignores it; the searchset's `total`) and compares that with the records the mirror holds from that walk
(those a read by reference brought are not the walk's). When the numbers differ, when the plan gives no
total, or when the walk's ids were last listed a week ago or more (by the plan's clock: one record removed
and one added leave the count alone), the engine lists the walk's ids (`_elements=id`; the plain search
again where the plan refuses it, and a plan that ignores it just sends whole pages) and tombstones what is
held but not listed, as `--full` does. A walk walked whole in this run needs neither request: what it
received is the listing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from mirror.sync.http import Answer, Garbled, display_url

LISTING_INTERVAL = timedelta(days=7)
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the engine's high-water marks, on the plan's clock


def count_url(walk_url: str) -> str:
    """The walk's first page asked for its count only."""
    return _with(walk_url, _summary="count", _count="1")


def listing_url(walk_url: str) -> str:
    """The walk's first page asked for ids only."""
    return _with(walk_url, _elements="id")


def read_total(answer: Answer) -> int | None:
    """The searchset's `total`; None when the answer is not a searchset that says it.

    A body that does not parse (cut short on the way) is Garbled: the client asks for it again."""
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        raise Garbled(f"{display_url(answer.url)}: the answer is not valid JSON") from None
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle" or document.get("type") != "searchset":
        return None
    total = document.get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def listing_due(listed_at: str | None, now: str) -> bool:
    """Whether the walk's ids were never listed, or last listed LISTING_INTERVAL or more before `now`."""
    if listed_at is None:
        return True
    try:
        return datetime.strptime(now, INSTANT_FORMAT) - datetime.strptime(listed_at, INSTANT_FORMAT) >= LISTING_INTERVAL
    except ValueError:
        return True


def _with(url: str, **parameters: str) -> str:
    parts = urlsplit(url)
    kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name not in parameters]
    return urlunsplit(parts._replace(query=urlencode([*kept, *parameters.items()])))
