"""/labs over Observation values no lab should send but a store keeps (records that fail validation are kept,
flagged): FHIR R4 says a Quantity's `value` is a JSON number, so a string is no value; huge, tiny, negative,
equal and single values draw a sound chart or none. Bad input never gives a 500 and never hangs (WB-1)."""

import math
import re
import signal
import xml.etree.ElementTree as ET

import orjson
import pytest

from mirror.api import create_app
from mirror.web.labs import lab_sections
from tests.mirror.stores import fill

SVG = "{http://www.w3.org/2000/svg}"
LONG = "1000000000000000000000000000000"
DIGITS = "1234567890123456789012345678901234567890"
GEOMETRY = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height")


def _observation(number: int, value: str, low: str | None = None, high: str | None = None) -> str:
    """One glucose result as stored text, `value` written into the JSON as is (a number or a quoted string)."""
    bounds = ", ".join(f'"{side}": {{"value": {bound}, "unit": "mg/dL"}}'
                       for side, bound in (("low", low), ("high", high)) if bound is not None)
    reference = f', "referenceRange": [{{{bounds}}}]' if bounds else ""
    return (f'{{"resourceType": "Observation", "id": "odd-{number}", "status": "final",'
            f' "code": {{"coding": [{{"system": "http://loinc.org", "code": "2345-7"}}], "text": "Glucose"}},'
            f' "effectiveDateTime": "2024-0{number + 1}-01",'
            f' "valueQuantity": {{"value": {value}, "unit": "mg/dL"}}{reference}}}')


CASES = {
    "long numbers as strings, one step apart at the 28th digit": [f'"{LONG}"', f'"{LONG[:-4]}1000"'],
    "forty-digit strings one apart": [f'"{DIGITS}"', f'"{DIGITS[:-1]}1"'],
    "an exponent no float holds, as a string": ['"1E+999999"', "5"],
    "not-a-number and infinity as strings": ['"NaN"', '"Infinity"', '"-Infinity"'],
    "the largest floats of both signs": ["1.7e308", "-1.7e308"],
    "two huge floats near the top": ["1.7e308", "1.6e308"],
    "subnormal floats": ["5e-324", "1e-323"],
    "tiny floats": ["1e-300", "2e-300"],
    "negative values": ["-5", "-12.5", "-0.001"],
    "equal values": ["5", "5", "5"],
    "zeros": ["0", "0.0"],
    "a single value": ["88"],
    "the largest integers JSON parsers keep": ["18446744073709551615", "18446744073709551614"],
    "integers past a float's precision": ["9007199254740993", "9007199254740992"],
    "not numbers at all": ["true", "null", "{}", "[1, 2]"],
}


@pytest.fixture(autouse=True)
def never_hangs():
    """A page that loops forever fails here instead of stalling the suite."""
    def stop(*_):
        raise AssertionError("the labs page did not finish")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _labs(tmp_path, texts: list[str]) -> str:
    fill(tmp_path, "oddplan", texts)
    response = create_app(tmp_path).test_client().get("/labs")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _assert_sound_charts(html: str) -> int:
    """Every chart parses as XML and each coordinate is a finite number inside the viewBox."""
    charts = [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)]
    for chart in charts:
        width, height = (float(part) for part in chart.get("viewBox").split()[2:])
        for element in chart.iter():
            for name in GEOMETRY:
                if element.get(name) is not None:
                    value = float(element.get(name))
                    assert math.isfinite(value), (name, element.get(name))
                    assert -1 <= value <= max(width, height) + 1, (name, value)
        for line in chart.iter(f"{SVG}polyline"):
            assert all(math.isfinite(float(n)) for pair in line.get("points").split() for n in pair.split(","))
    return len(charts)


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_odd_values_always_give_a_page_and_sound_svg(tmp_path, values):
    html = _labs(tmp_path, [_observation(number, value) for number, value in enumerate(values)])
    assert len(re.findall(r'<tr class="result"', html)) == len(values)
    _assert_sound_charts(html)


def test_a_quoted_number_is_no_value():
    """FHIR R4 Quantity.value is a decimal, which JSON carries as a number: "182" in quotes is not read as 182,
    so it is neither charted nor flagged against the range."""
    records = [orjson.loads(_observation(number, value, low="70", high="99"))
               for number, value in enumerate(['"182"', '"190"'])]
    (test,) = lab_sections([("plan", record) for record in records])["Other results"]
    assert test.chart is None
    assert all(result.flag is None and not result.points for result in test.results)


@pytest.mark.parametrize("bounds", [('"70"', '"99"'), ("-1.7e308", "1.7e308"), ("1e-300", "5e-324")])
def test_odd_normal_ranges_give_a_page_and_sound_svg(tmp_path, bounds):
    texts = [_observation(number, value, *bounds) for number, value in enumerate(["80", "120"])]
    assert _assert_sound_charts(_labs(tmp_path, texts)) <= 1
