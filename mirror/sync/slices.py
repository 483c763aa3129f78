"""Another way through a search whose paging loops: the same search cut into slices by `_lastUpdated`.

A plan whose `next` link leads back to a page already fetched never lets a walk end, and asking again
brings the same loop. Each slice adds a `_lastUpdated` range to the walk's own query (repeated parameters
are AND in FHIR, so an incremental walk's `_lastUpdated=gt…` still applies): the latest year first, then
ranges that double in width back to 32 years, then everything older. A slice whose paging loops too is
halved, down to a minute; slices are half-open (`ge`, `lt`), so together they cover the search once.
Records without `meta.lastUpdated` fall in no slice, which the engine finds by comparing with the plan's
count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from urllib.parse import urlencode

from mirror.sync.removals import INSTANT_FORMAT

YEAR = timedelta(days=365)
BACK_TO = 32  # years covered by bounded slices; one open slice takes what is older
NARROWEST = timedelta(minutes=1)  # a slice this narrow that still loops cannot be cut further


class SlicesExhausted(Exception):
    """A slice of the narrowest width still loops: this search cannot be listed in full."""


@dataclass(frozen=True)
class Slice:
    since: datetime | None  # `ge`; None: open towards the past
    until: datetime | None  # `lt`; None: open towards the future

    def url(self, search_url: str) -> str:
        bounds = [("_lastUpdated", f"ge{_instant(self.since)}")] if self.since else []
        bounds += [("_lastUpdated", f"lt{_instant(self.until)}")] if self.until else []
        return f"{search_url}&{urlencode(bounds)}"

    def halves(self, now: datetime) -> tuple[Slice, Slice]:
        """The two halves; an open end is taken as a year past the other end (or past `now`)."""
        since = self.since or (self.until or now) - YEAR * BACK_TO
        until = self.until or max(now, since) + YEAR
        if until - since <= NARROWEST:
            raise SlicesExhausted(f"paging loops even within {_instant(since)} to {_instant(until)}")
        middle = since + (until - since) / 2
        middle = middle.replace(microsecond=0)
        return Slice(self.since, middle), Slice(middle, self.until)


class Slicing:
    """The slices still to walk, latest first; `halve` puts the two halves of the one just given in its place."""

    def __init__(self, search_url: str, now: datetime):
        self.search_url = search_url
        self.now = now.replace(microsecond=0)
        edges = [self.now - YEAR * 2 ** power for power in range(BACK_TO.bit_length())]
        self.pending = [Slice(edges[0], None)]
        self.pending += [Slice(older, newer) for newer, older in pairwise(edges)]
        self.pending.append(Slice(None, edges[-1]))
        self.current: Slice | None = None
        self.walked = 0

    def __iter__(self) -> Iterator[str]:
        while self.pending:
            self.current = self.pending.pop(0)
            self.walked += 1
            yield self.current.url(self.search_url)

    def halve(self) -> None:
        """Walk the slice just given again as two halves; SlicesExhausted when it is too narrow to cut."""
        self.pending[:0] = self.current.halves(self.now)


def _instant(moment: datetime) -> str:
    return moment.strftime(INSTANT_FORMAT)
