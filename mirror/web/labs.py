"""Lab results and vital signs (US Core Observations) grouped by test, newest first.

Each with its value, unit, normal range and flag, and a trend chart where a test has values to compare.

A test is its LOINC code (else its first code, else its text): the same test from two labs or two plans lands
in one group. The flag is the lab's own interpretation when it gives one; otherwise a numeric value outside
the stated normal range is flagged High or Low here, and said to be computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from mirror.fhir.dates import element_range
from mirror.web.charts import Chart, Point, trend_chart
from mirror.web.held import EARLIEST, left_out
from mirror.web.lab_names import LOINC, lab_name
from mirror.web.money import money_value
from mirror.web.readable import as_list, codes, day, display, mappings, text

SECTIONS = {"laboratory": "Lab results", "vital-signs": "Vital signs"}
OTHER_SECTION = "Other results"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
SHORT_NAMES = {SYSTOLIC: "Systolic", DIASTOLIC: "Diastolic"}
Bounds = tuple[Decimal | None, Decimal | None]  # a normal range's low and high

# v3 ObservationInterpretation codes a lab sends, in plain words, and how the page marks them.
INTERPRETATIONS = {
    "H": ("High", "high"), "HH": ("Critically high", "high"), "HU": ("Very high", "high"),
    "L": ("Low", "low"), "LL": ("Critically low", "low"), "LU": ("Very low", "low"),
    "A": ("Abnormal", "abnormal"), "AA": ("Critically abnormal", "abnormal"),
    "N": ("Normal", "normal"), "POS": ("Positive", "abnormal"), "NEG": ("Negative", "normal"),
    "DET": ("Detected", "abnormal"), "ND": ("Not detected", "normal"),
    ">": ("Above what the test can measure", "high"), "<": ("Below what the test can measure", "low"),
}


@dataclass
class Flag:
    words: str
    level: str  # high, low, abnormal or normal: a CSS class
    computed: bool = False  # worked out here from the range, not sent by the lab


@dataclass
class Result:
    source: str
    id: str
    date: str | None
    value: str  # the number(s) as shown, e.g. "80.3" or "120/80"
    unit: str
    normal_range: str | None
    flag: Flag | None
    status: str | None  # said only when the result is not final
    numeric: bool = False  # a number (or sys/dia pair) that must not break across lines
    points: dict[str, Decimal] = field(default_factory=dict)  # series name -> numeric value, for the chart
    normal_bounds: dict[str, Bounds] = field(default_factory=dict)  # series name -> its normal range, for the chart
    sort_key: datetime | None = None


@dataclass
class Test:
    key: str
    name: str
    code: str | None
    section: str
    results: list[Result]
    chart: Chart | None = None


def lab_sections(observations: Iterable[tuple[str, Mapping]]) -> dict[str, list[Test]]:
    """(source, Observation) pairs -> section title -> tests by name, each test's results newest first."""
    tests: dict[str, Test] = {}
    for source, observation in observations:
        if left_out(observation):
            continue
        key, code, name = _test_identity(observation.get("code"))
        test = tests.setdefault(key, Test(key, name, code, _section(observation), []))
        test.results.append(_result(source, observation))
    sections: dict[str, list[Test]] = {title: [] for title in (*SECTIONS.values(), OTHER_SECTION)}
    for test in sorted(tests.values(), key=lambda found: found.name.lower()):
        test.results.sort(key=lambda result: result.sort_key or EARLIEST, reverse=True)
        test.chart = _chart(test)
        sections[test.section].append(test)
    return {title: found for title, found in sections.items() if found}


def _test_identity(concept: object) -> tuple[str, str | None, str]:
    coding = mappings(concept.get("coding")) if isinstance(concept, Mapping) else []
    loinc = next((c for c in coding if c.get("system") == LOINC and text(c.get("code"))), None)
    name = lab_name(concept) or "Unnamed test"
    if loinc is not None:
        return f"loinc|{loinc['code']}", loinc["code"], name
    found = codes(concept)
    return (f"code|{found[0]}", found[0], name) if found else (f"text|{name.lower()}", None, name)


def _section(observation: Mapping) -> str:
    for category in as_list(observation.get("category")):
        for code in codes(category):
            if code in SECTIONS:
                return SECTIONS[code]
    return OTHER_SECTION


def _result(source: str, observation: Mapping) -> Result:
    when = _effective(observation)
    moment = element_range(when) if when else None
    status = text(observation.get("status"))
    components = [c for c in mappings(observation.get("component")) if _quantity(c) is not None]
    if components and not any(key.startswith("value") for key in observation):
        value, unit, points, normal_range, flag = _from_components(components)
        bounds = {name: _bounds(_normal(component)) for name, component in _named(components)} if unit else {}
        numeric = bool(unit)  # a sys/dia pair in one unit; other panels list their parts in words
    else:
        value, unit, number = _value(observation)
        normal = _normal(observation)
        points = {"Value": number} if number is not None else {}
        normal_range = _range_words(normal)
        flag = _interpretation(observation) or _out_of_range(number, unit, normal)
        bounds = {"Value": _bounds(normal)}
        numeric = _quantity(observation) is not None or number is not None
    shown_status = None if status in (None, "final", "amended", "corrected") else status
    if status == "cancelled":  # FHIR: the measurement was not started or not completed, so nothing to chart
        points = {}
    return Result(source, str(observation.get("id", "")), when[:10] if when else None, value, unit, normal_range,
                  flag, shown_status, numeric, points, bounds, moment.start if moment else None)


def _named(components: list[Mapping]) -> list[tuple[str, Mapping]]:
    """Each component by the name its series has: Systolic and Diastolic, else the component's test name."""
    named = []
    for component in components:
        code = next((c for c in codes(component.get("code")) if c in SHORT_NAMES), None)
        named.append((SHORT_NAMES.get(code) or lab_name(component.get("code")) or "Value", component))
    return named


def _from_components(components: list[Mapping]):
    """Blood pressure and other panels: one series per component; sys/dia as "120/80"."""
    named = [(name, *_quantity(component), component) for name, component in _named(components)]
    units = {unit for _, _, unit, _ in named}
    by_name = {name: number for name, number, _, _ in named}
    if set(by_name) >= {"Systolic", "Diastolic"} and len(units) == 1:
        value = f"{_shown(by_name['Systolic'])}/{_shown(by_name['Diastolic'])}"
        unit = units.pop()
    else:
        value = "; ".join(f"{name} {_shown(number)} {unit}".strip() for name, number, unit, _ in named)
        unit = ""
    flags = [(name, _interpretation(component) or _out_of_range(number, part_unit, _normal(component)))
             for name, number, part_unit, component in named]
    raised = [(name, flag) for name, flag in flags if flag is not None and flag.level != "normal"]
    flag = (Flag(", ".join(f"{found.words} {name.lower()}" for name, found in raised), raised[0][1].level,
                 any(found.computed for _, found in raised)) if raised else None)
    ranges = [f"{name}: {words}" for name, _, _, component in named
              if (words := _range_words(_normal(component)))]
    return value, unit, by_name, "; ".join(ranges) or None, flag


def _effective(observation: Mapping) -> str | None:
    period = observation.get("effectivePeriod")
    for value in (observation.get("effectiveDateTime"), observation.get("effectiveInstant"),
                  period.get("start") if isinstance(period, Mapping) else None, observation.get("issued")):
        if text(value) and element_range(value) is not None:
            return value
    return None


def _value(observation: Mapping) -> tuple[str, str, Decimal | None]:
    quantity = _quantity(observation)
    if quantity is not None:
        number, unit = quantity
        comparator = text(observation["valueQuantity"].get("comparator")) or ""
        return f"{comparator}{_shown(number)}", unit, None if comparator else number
    for name in ("valueString", "valueDateTime", "valueTime"):
        if text(observation.get(name)):
            return observation[name], "", None
    if isinstance(observation.get("valueBoolean"), bool):
        return ("Yes" if observation["valueBoolean"] else "No"), "", None
    if isinstance(observation.get("valueInteger"), int) and not isinstance(observation["valueInteger"], bool):
        return str(observation["valueInteger"]), "", Decimal(observation["valueInteger"])
    if isinstance(observation.get("valueCodeableConcept"), Mapping):
        return display(observation["valueCodeableConcept"]) or "Not described", "", None
    reason = display(observation.get("dataAbsentReason"))
    return (f"No value ({reason})" if reason else "No value"), "", None


def _quantity(element: Mapping) -> tuple[Decimal, str] | None:
    quantity = element.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        return None
    number = money_value(quantity)
    if number is None:
        return None
    return number, text(quantity.get("unit")) or text(quantity.get("code")) or ""


def _normal(element: Mapping) -> Mapping:
    ranges = mappings(element.get("referenceRange"))
    plain = [found for found in ranges if not found.get("appliesTo") and not found.get("age")]
    return (plain or ranges or [{}])[0]


def _bound(normal: Mapping, side: str) -> tuple[Decimal, str] | None:
    quantity = normal.get(side)
    if not isinstance(quantity, Mapping):
        return None
    number = money_value(quantity)
    return None if number is None else (number, text(quantity.get("unit")) or text(quantity.get("code")) or "")


def _bounds(normal: Mapping) -> Bounds:
    return tuple(found[0] if found else None for found in (_bound(normal, "low"), _bound(normal, "high")))


def _range_words(normal: Mapping) -> str | None:
    low, high = _bound(normal, "low"), _bound(normal, "high")
    unit = (high or low or (None, ""))[1]
    if low and high:
        return f"{_shown(low[0])}–{_shown(high[0])} {unit}".strip()
    if low:
        return f"{_shown(low[0])} or more {unit}".strip()
    if high:
        return f"up to {_shown(high[0])} {unit}".strip()
    return text(normal.get("text"))


def _interpretation(element: Mapping) -> Flag | None:
    for concept in as_list(element.get("interpretation")):
        for code in codes(concept):
            if code in INTERPRETATIONS:
                words, level = INTERPRETATIONS[code]
                return Flag(words, level)
        words = display(concept)
        if words:
            return Flag(words, "abnormal")
    return None


def _out_of_range(number: Decimal | None, unit: str, normal: Mapping) -> Flag | None:
    """High or Low when a number lies outside its range, compared only when the units agree."""
    if number is None:
        return None
    low, high = _bound(normal, "low"), _bound(normal, "high")
    if high and high[1] in ("", unit) and number > high[0]:
        return Flag("High", "high", computed=True)
    if low and low[1] in ("", unit) and number < low[0]:
        return Flag("Low", "low", computed=True)
    return None


def _chart(test: Test) -> Chart | None:
    """So that a lab chart never mixes values on different scales.

    The dated results in the newest one's unit (a value in another unit is on another scale), each series
    with the newest result's normal range for it, the unit named beside the chart."""
    dated = [result for result in test.results if result.points and result.sort_key and result.date]
    if not dated:
        return None
    plotted = [result for result in dated if result.unit == dated[0].unit]
    newest, oldest = plotted[0], plotted[-1]
    series: dict[str, list[Point]] = {}
    for result in plotted:
        for name, number in result.points.items():
            series.setdefault(name, []).append(Point(result.sort_key, day(result.date), number,
                                                     f"{_shown(number)} {result.unit}".strip()))
    normal = {name: bounds for name, bounds in newest.normal_bounds.items() if name in series and any(bounds)}
    unit = f" {newest.unit}" if newest.unit else ""
    description = (f"{len(plotted)} results from {day(oldest.date)} to {day(newest.date)}; latest {newest.value}{unit}"
                   + (f"; normal range {newest.normal_range}" if newest.normal_range else "") + ".")
    return trend_chart(f"{test.name} over time", description, series, normal, newest.unit)


def _shown(number: Decimal) -> str:
    """A value as the lab wrote it ("80.3"); one past a dozen digits either side of the point as "1.7E+308"."""
    return format(number, "f") if -12 < number.adjusted() < 12 else format(number.normalize(), "E")

