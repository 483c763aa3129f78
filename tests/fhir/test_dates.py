from datetime import datetime, timedelta, timezone

import pytest

from mirror.fhir.dates import (
    MAX_INSTANT, MIN_INSTANT, DateRange, FhirDateError, date_criterion, date_range, element_range,
    period_range, prefix_matches,
)

UTC = timezone.utc


def at(*parts, microsecond=0):
    return datetime(*parts, microsecond=microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, start, end",
    [
        ("2020", at(2020, 1, 1), at(2021, 1, 1)),
        ("2020-12", at(2020, 12, 1), at(2021, 1, 1)),
        ("2020-02", at(2020, 2, 1), at(2020, 3, 1)),
        ("2020-02-29", at(2020, 2, 29), at(2020, 3, 1)),
        ("2020-01-01T10:00:00Z", at(2020, 1, 1, 10), at(2020, 1, 1, 10, 0, 1)),
        ("2020-01-01T10:00:00.5Z", at(2020, 1, 1, 10, microsecond=500000), at(2020, 1, 1, 10, microsecond=600000)),
        ("2020-01-01T10:00:00.000+00:00", at(2020, 1, 1, 10), at(2020, 1, 1, 10, microsecond=1000)),
        ("2020-01-01T10:00:00+05:30", at(2020, 1, 1, 4, 30), at(2020, 1, 1, 4, 30, 1)),
        ("2020-01-01T01:00:00-05:00", at(2020, 1, 1, 6), at(2020, 1, 1, 6, 0, 1)),
        ("2020-01-01T10:00", at(2020, 1, 1, 10), at(2020, 1, 1, 10, 1)),
        ("2020-01-01T10:00:00", at(2020, 1, 1, 10), at(2020, 1, 1, 10, 0, 1)),  # no zone: read as UTC
    ],
)
def test_a_value_covers_the_span_of_its_precision(value, start, end):
    assert date_range(value) == DateRange(start, end)


def test_seven_digit_fractions_are_cut_to_the_microsecond():
    # `.0314215` appears in real payer data; fromisoformat on 3.11 refuses it
    span = date_range("2023-05-06T07:08:09.0314215+00:00")
    assert span.start == at(2023, 5, 6, 7, 8, 9, microsecond=31421)
    assert span.end - span.start == timedelta(microseconds=1)


def test_a_date_without_timezone_is_a_utc_day():
    assert date_range("2021-03-04") == DateRange(at(2021, 3, 4), at(2021, 3, 5))


def test_leap_second_and_year_bounds_do_not_overflow():
    assert date_range("2016-12-31T23:59:60Z").start == at(2017, 1, 1)
    assert date_range("9999").end == MAX_INSTANT
    assert date_range("0001-01-01T00:00:00+14:00").start == MIN_INSTANT


@pytest.mark.parametrize(
    "value",
    ["", "20", "2020-1", "2020-13", "2019-02-29", "2020-01-01T24:00:00Z", "2020-01-01T10:00:00+15:00",
     "2020-01-01 10:00:00Z", "0000", "2020-01-01T10Z", "x2020", "2020-01-01T10:00:00.Z", "1" * 100, 2020, None],
)
def test_bad_values_raise_a_value_error(value):
    with pytest.raises(FhirDateError) as raised:
        date_range(value)
    assert isinstance(raised.value, ValueError)


def test_periods_are_open_where_a_side_is_missing():
    assert period_range({"start": "2020-01-01", "end": "2020-01-31"}) == DateRange(at(2020, 1, 1), at(2020, 2, 1))
    assert period_range({"start": "2020"}) == DateRange(at(2020, 1, 1), MAX_INSTANT)
    assert period_range({"end": "2020"}) == DateRange(MIN_INSTANT, at(2021, 1, 1))
    assert period_range({}) is None


def test_element_range_reads_strings_and_periods_and_ignores_junk():
    assert element_range("2020") == date_range("2020")
    assert element_range({"start": "2020"}).start == at(2020, 1, 1)
    assert element_range("not a date") is None
    assert element_range({"start": "bad"}) is None
    assert element_range(42) is None


def test_criterion_prefixes():
    assert date_criterion("2020") == ("eq", date_range("2020"))
    assert date_criterion("ge2020-01") == ("ge", date_range("2020-01"))
    with pytest.raises(FhirDateError):
        date_criterion("xx2020")
    with pytest.raises(FhirDateError):
        date_criterion("ge")


# Prefix semantics, checked against the R4 definitions with the parameter 2020 (the whole year).
YEAR = date_range("2020")
CASES = {
    "inside": date_range("2020-06-15"),
    "whole year": date_range("2020"),
    "before": date_range("2019-12-31"),
    "after": date_range("2021-01-01"),
    "straddles start": period_range({"start": "2019-12-01", "end": "2020-01-31"}),
    "straddles end": period_range({"start": "2020-12-01", "end": "2021-01-31"}),
    "covers": period_range({"start": "2019", "end": "2021"}),
}
EXPECTED = {
    "eq": {"inside", "whole year"},
    "ap": {"inside", "whole year"},
    "ne": {"before", "after", "straddles start", "straddles end", "covers"},
    "gt": {"after", "straddles end", "covers"},
    "lt": {"before", "straddles start", "covers"},
    "ge": {"inside", "whole year", "after", "straddles end", "covers"},
    "le": {"inside", "whole year", "before", "straddles start", "covers"},
    "sa": {"after"},
    "eb": {"before"},
}


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_prefix_semantics_follow_r4(prefix):
    matched = {name for name, target in CASES.items() if prefix_matches(prefix, YEAR, target)}
    assert matched == EXPECTED[prefix]


def test_instant_compared_with_day_precision():
    # a resource instant late on 2020-01-01 in New York is 2020-01-02 in UTC
    target = date_range("2020-01-01T22:00:00-05:00")
    assert prefix_matches("eq", date_range("2020-01-02"), target)
    assert not prefix_matches("eq", date_range("2020-01-01"), target)
    assert prefix_matches("ge", date_range("2020-01-02"), target)


def test_unknown_prefix_in_comparison_is_refused():
    with pytest.raises(FhirDateError):
        prefix_matches("zz", YEAR, YEAR)
