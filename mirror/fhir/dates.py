"""FHIR R4 date, dateTime and instant values as UTC ranges, compared with the search's date prefixes.

The values are those of https://hl7.org/fhir/R4/datatypes.html#dateTime, the prefixes those of
https://hl7.org/fhir/R4/search.html#prefix.

A FHIR date value names a span as wide as its precision: `2020` is the whole year, `2020-03-01` the whole day,
`2020-03-01T10:00:00.123Z` one millisecond. Search compares spans, not points, so every value becomes a
half-open UTC range [start, end). Payer data mixes every precision and fraction length (seven-digit fractions
such as `.0314215` are common), which `datetime.fromisoformat` alone does not read, so the grammar is parsed
here by hand.

Values without a timezone (dates, the timezone-less times that real payer output sometimes carries, and
minute-precision search values such as `2020-01-01T10:00`) are read as UTC. The spec suggests the server's
local zone; UTC keeps results identical on every machine, and both sides of a comparison are read the same
way, so it only matters when exactly one side has a zone.
Fractions finer than a microsecond are cut to the microsecond, and their range is one microsecond wide.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MIN_INSTANT = datetime.min.replace(tzinfo=timezone.utc)
MAX_INSTANT = datetime.max.replace(tzinfo=timezone.utc)

# A fixed pattern (never built from input) with no nested repetition, so its cost is linear in the input.
_DATE_TIME = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
    r")?)?)?"
)
_LONGEST_VALUE = 64  # a full instant with a nine-digit fraction and an offset is 35 characters

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


class FhirDateError(ValueError):
    """A value that is not a FHIR date, dateTime or instant (or a date search value with a bad prefix)."""


@dataclass(frozen=True)
class DateRange:
    """The half-open UTC span [start, end) that a date value, or a Period, covers."""

    start: datetime
    end: datetime

    def contains(self, other: "DateRange") -> bool:
        return self.start <= other.start and other.end <= self.end


def date_range(value: str) -> DateRange:
    """The span a FHIR date/dateTime/instant string covers, according to its precision."""
    if not isinstance(value, str) or len(value) > _LONGEST_VALUE:
        raise FhirDateError("not a FHIR date")
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        raise FhirDateError("not a FHIR date")
    parts = match.groupdict()
    try:
        start, width = _local_start_and_width(parts)
        offset = _zone_offset(parts["zone"])
    except ValueError as error:
        raise FhirDateError("not a valid calendar date or time") from error
    start_utc = _plus(start, -offset).replace(tzinfo=timezone.utc)
    end_utc = _plus(_add_width(start, width), -offset).replace(tzinfo=timezone.utc)
    return DateRange(start_utc, end_utc)


def element_range(value: object) -> DateRange | None:
    """The span of a resource element holding a date string or a Period; None when it holds neither.

    Malformed data in a resource is the source's problem, not the searcher's: it simply matches nothing.
    """
    try:
        if isinstance(value, str):
            return date_range(value)
        if isinstance(value, dict):
            return period_range(value)
    except FhirDateError:
        return None
    return None


def period_range(period: dict) -> DateRange | None:
    """A Period's span: from its start's start to its end's end; a missing side is open (unbounded)."""
    start_text, end_text = period.get("start"), period.get("end")
    if start_text is None and end_text is None:
        return None
    start = date_range(start_text).start if start_text is not None else MIN_INSTANT
    end = date_range(end_text).end if end_text is not None else MAX_INSTANT
    return DateRange(start, end)


def date_criterion(text: str) -> tuple[str, DateRange]:
    """Split a date search value such as `ge2020-01` into its prefix (default `eq`) and its span."""
    if len(text) >= 2 and text[:2].isalpha():
        prefix, text = text[:2], text[2:]
        if prefix not in PREFIXES:
            raise FhirDateError("unknown date prefix")
    else:
        prefix = "eq"
    return prefix, date_range(text)


def prefix_matches(prefix: str, parameter: DateRange, target: DateRange) -> bool:
    """R4 search prefix semantics, comparing the parameter's span with the resource value's span.

    `ap` (approximately) is treated as `eq`: the spec leaves its tolerance to the server.
    """
    if prefix in ("eq", "ap"):
        return parameter.contains(target)
    if prefix == "ne":
        return not parameter.contains(target)
    if prefix == "gt":
        return target.end > parameter.end
    if prefix == "lt":
        return target.start < parameter.start
    if prefix == "ge":
        return target.end > parameter.end or parameter.contains(target)
    if prefix == "le":
        return target.start < parameter.start or parameter.contains(target)
    if prefix == "sa":
        return target.start >= parameter.end
    if prefix == "eb":
        return target.end <= parameter.start
    raise FhirDateError("unknown date prefix")


def _local_start_and_width(parts: dict) -> tuple[datetime, tuple[int, timedelta]]:
    """The naive start of the value and its width, as (months, exact duration)."""
    year = int(parts["year"])  # datetime refuses year 0000, as FHIR does
    if parts["month"] is None:
        return datetime(year, 1, 1), (12, timedelta(0))
    month = int(parts["month"])
    if parts["day"] is None:
        return datetime(year, month, 1), (1, timedelta(0))
    day = int(parts["day"])
    if parts["hour"] is None:
        return datetime(year, month, day), (0, timedelta(days=1))
    hour, minute = int(parts["hour"]), int(parts["minute"])
    if parts["second"] is None:
        return datetime(year, month, day, hour, minute), (0, timedelta(minutes=1))
    second = int(parts["second"])
    leap = second == 60  # FHIR allows a leap second; Python's datetime does not
    fraction = parts["fraction"] or ""
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    start = datetime(year, month, day, hour, minute, 59 if leap else second, microsecond)
    if leap:
        start = _plus(start, timedelta(seconds=1))
    width = timedelta(microseconds=10 ** (6 - min(len(fraction), 6))) if fraction else timedelta(seconds=1)
    return start, (0, width)


def _zone_offset(zone: str | None) -> timedelta:
    if zone is None or zone == "Z":
        return timedelta(0)
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError("timezone offset out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if zone[0] == "-" else offset


def _add_width(start: datetime, width: tuple[int, timedelta]) -> datetime:
    months, duration = width
    if months:
        year, month_index = divmod(start.year * 12 + (start.month - 1) + months, 12)
        if year > datetime.max.year:
            return datetime.max
        return start.replace(year=year, month=month_index + 1)
    return _plus(start, duration)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    """Naive addition that clamps at the ends of representable time (year 1 and 9999 with an offset)."""
    try:
        return moment + delta
    except OverflowError:
        return datetime.min if delta < timedelta(0) else datetime.max
