"""So that the same seed gives the same bytes on any day, with instants strict clients accept.

The generator's calendar: "today" is REFERENCE_TODAY, never the clock, so the same seed gives the same
bytes on any day; every instant it writes carries a UTC offset (strict clients refuse one without); a member's
claims are spread over their history up to LAST_SERVICE_DAY."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone

REFERENCE_TODAY = date(2026, 6, 30)
OFFSET = timezone(timedelta(hours=-5))
LAST_SERVICE_DAY = REFERENCE_TODAY - timedelta(days=60)  # leaves room for adjudication and payment before "today"
DIRECTORY_UPDATED = "2026-06-01T08:00:00-05:00"


def instant(day: date, rng: random.Random, first_hour: int = 7, last_hour: int = 18) -> str:
    """An instant on `day` during working hours, always with its UTC offset (strict clients refuse none)."""
    moment = time(rng.randint(first_hour, last_hour), rng.randrange(60), rng.randrange(60))
    return datetime.combine(day, moment, OFFSET).isoformat()


def later(moment: str, minutes: int) -> str:
    return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat()


def service_days(rng: random.Random, start: date, count: int, kinds: Sequence[str],
                 weights: Sequence[int]) -> list[tuple[date, str]]:
    """So that a member's claims span their history and every kind appears.

    `count` claims' service days and kinds from `start` to LAST_SERVICE_DAY, oldest first; the first claims
    take each kind once, so with as many claims as kinds every kind appears, and the rest are drawn by weight."""
    span = max((LAST_SERVICE_DAY - start).days, 1)
    chosen = list(kinds[:count]) + rng.choices(kinds, weights, k=max(count - len(kinds), 0))
    return sorted((start + timedelta(days=rng.randrange(span)), kind) for kind in chosen)
