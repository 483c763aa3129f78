"""The generator's calendar: "today" is REFERENCE_TODAY, never the clock, so the same seed gives the same
bytes on any day; every instant it writes carries a UTC offset (strict clients refuse one without)."""

from __future__ import annotations

import random
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
