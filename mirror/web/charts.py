"""The geometry of a small trend chart (one test's values over time), so the template can draw it as inline SVG.

Charts are drawn on the server because the pages run no JavaScript and load nothing from elsewhere. This
module only does arithmetic: where each point, tick and the normal-range band go inside a fixed viewBox. The
template writes the SVG, so every label from the payer is escaped like any other text on the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 12, 30  # room for value labels on the left and dates below


@dataclass
class Point:
    at: datetime
    date: str  # as shown
    value: Decimal
    label: str  # the value as shown, with its unit


@dataclass
class PlacedPoint:
    x: float
    y: float
    date: str
    label: str


@dataclass
class Series:
    name: str
    points: list[PlacedPoint]

    @property
    def path(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


@dataclass
class Tick:
    position: float
    label: str
    anchor: str = "end"  # SVG text-anchor: value labels end at the axis; dates start, end or centre on theirs


@dataclass
class Band:
    series: str
    top: float
    height: float


@dataclass
class Chart:
    title: str
    description: str
    series: list[Series]
    value_ticks: list[Tick]
    date_ticks: list[Tick]
    unit: str = ""  # the values' unit, named beside the chart
    bands: list[Band] = field(default_factory=list)  # the normal ranges
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM


def trend_chart(title: str, description: str, series: dict[str, list[Point]],
                normal: Mapping[str, tuple[Decimal | None, Decimal | None]] | None = None,
                unit: str = "") -> Chart | None:
    """So that a patient sees how a lab result moved against its normal range.

    A chart of each series' points (oldest first) with each series' normal range (low, high) as a band, or None
    when there are fewer than two points to join or
    their values span no range a float can draw (equal to the last digit, or beyond a float's reach)."""
    drawn = {name: sorted(points, key=lambda point: point.at) for name, points in series.items() if points}
    every = [point for points in drawn.values() for point in points]
    if len({(point.at, point.value) for point in every}) < 2:
        return None
    ranges = {name: tuple(None if bound is None else float(bound) for bound in bounds)
              for name, bounds in (normal or {}).items()}
    values = [float(point.value) for point in every] + [bound for bounds in ranges.values() for bound in bounds
                                                        if bound is not None]
    domain = _value_domain(min(values), max(values)) if all(map(math.isfinite, values)) else None
    if domain is None:
        return None
    bottom, top, step, count = domain
    times = sorted({point.at for point in every})
    left, upper, right, lower = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM

    def x_of(moment: datetime) -> float:
        if len(times) == 1:
            return (left + right) / 2
        span = (times[-1] - times[0]).total_seconds()
        return left + (right - left) * (moment - times[0]).total_seconds() / span

    def y_of(value: float) -> float:
        return lower - (lower - upper) * ((value - bottom) / (top - bottom))

    placed = [Series(name, [PlacedPoint(x_of(point.at), y_of(float(point.value)), point.date, point.label)
                            for point in points]) for name, points in drawn.items()]
    ticks = [Tick(y_of(value), _number(value)) for value in (bottom + index * step for index in range(count))]
    first, last = min(every, key=lambda point: point.at), max(every, key=lambda point: point.at)
    if last.date == first.date:
        dates = [Tick(x_of(first.at), first.date, "middle")]
    else:
        dates = [Tick(x_of(first.at), first.date, "start"), Tick(x_of(last.at), last.date, "end")]
    bands = []
    for name, (low, high) in ranges.items():
        band_top, band_bottom = upper if high is None else y_of(high), lower if low is None else y_of(low)
        if band_top < band_bottom:
            bands.append(Band(name, band_top, band_bottom - band_top))
    return Chart(title, description, placed, ticks, dates, unit, bands)


def _value_domain(smallest: float, largest: float) -> tuple[float, float, float, int] | None:
    """So that a chart's axis has round ticks and never stalls on spans it cannot draw.

    Round bounds, a tick step of 1, 2 or 5 times a power of ten and the number of ticks (two to six), or None
    when the span cannot be drawn: the ticks are counted, never stepped to, so no rounding can stall them."""
    spread = largest - smallest or abs(largest) / 10 or 1.0
    raw = spread / 3
    if not math.isfinite(raw) or raw <= 0:
        return None
    power = 10.0 ** math.floor(math.log10(raw))
    step = next((power * factor for factor in (1, 2, 5, 10) if power * factor >= raw), math.inf)
    if not 0 < step < math.inf:
        return None
    bottom, top = math.floor(smallest / step) * step, math.ceil(largest / step) * step
    if top == bottom:
        top += step
    count = round((top - bottom) / step) + 1 if math.isfinite(top - bottom) else 0
    if not 2 <= count <= 6 or top == bottom:
        return None
    return bottom, top, step, count


def _number(value: float) -> str:
    """A tick's value as a person writes it: "0.3", not 0.30000000000000004; past a dozen digits, "1e+300"."""
    text = format(value, ".12g")
    return text if text != "-0" else "0"
