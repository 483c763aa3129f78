"""Slices by `_lastUpdated` for a search whose paging loops (slices.py): they cover all time once, halve down to
a minute, and keep the search's own query (FHIR R4 search: a repeated parameter is AND)."""

from datetime import datetime, timezone
from itertools import pairwise
from urllib.parse import parse_qsl, urlsplit

import pytest

from mirror.sync.slices import Slice, Slicing, SlicesExhausted

NOW = datetime(2026, 12, 7, 4, 30, 15, 123456, tzinfo=timezone.utc)
SEARCH = "https://plan.example/r4/ExplanationOfBenefit?patient=p1&_count=100&_lastUpdated=gt2020-01-01T00%3A00%3A00Z"


def bounds(url: str) -> list[str]:
    return [value for name, value in parse_qsl(urlsplit(url).query) if name == "_lastUpdated"]


def test_the_slices_keep_the_query_and_tile_all_time_latest_first():
    urls = list(Slicing(SEARCH, NOW))
    assert all(url.startswith(SEARCH + "&") for url in urls)
    ranges = [bounds(url)[1:] for url in urls]  # after the search's own gt…
    assert ranges[0] == ["ge2025-12-07T04:30:15Z"]  # the latest year, open towards the future
    assert ranges[-1] == ["lt1994-12-15T04:30:15Z"]  # 32 years back, open towards the past
    for newer, older in pairwise(ranges):
        assert older[-1] == "lt" + newer[0][2:]  # each ends where the next newer one begins: no gap, no overlap
    assert len(urls) == 7


def test_a_slice_that_loops_is_walked_again_as_two_halves_next():
    slicing = Slicing(SEARCH, NOW)
    walked = []
    for url in slicing:
        walked.append(bounds(url)[1:])
        if len(walked) == 2:
            slicing.halve()
    assert walked[1] == ["ge2024-12-07T04:30:15Z", "lt2025-12-07T04:30:15Z"]
    assert walked[2] == ["ge2024-12-07T04:30:15Z", "lt2025-06-07T16:30:15Z"]
    assert walked[3] == ["ge2025-06-07T16:30:15Z", "lt2025-12-07T04:30:15Z"]
    assert slicing.walked == len(walked) == 9


def test_open_slices_halve_and_a_minute_is_the_narrowest():
    now = NOW.replace(microsecond=0)
    future = Slice(now, None)
    low, high = future.halves(now)
    assert (low.since, high.until) == (now, None) and low.until == high.since > now
    past = Slice(None, now)
    low, high = past.halves(now)
    assert (low.since, high.until) == (None, now) and low.until == high.since < now
    with pytest.raises(SlicesExhausted, match="paging loops even within"):
        Slice(now, now.replace(minute=31)).halves(now)
