"""`/_admin/clock` (issue 25): the mock's clock moved over plain HTTP, as any language's test suite would.

No fixture, no shared Python object, only JSON requests to a real `mockpayer serve` process.

Everything that tells time follows it: access tokens expire (RFC 6750 §3.1 `invalid_token`, RFC 7662 §2.2
`active: false`), the `Date` header (RFC 9110 §6.6.1) agrees with `Retry-After` dates (RFC 9110 §10.2.3), and
records a later day changes carry `meta.lastUpdated` from it.
"""

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.mockpayer.driver import DEMO_CONFIDENTIAL, PayerDriver

PATIENT = "Patient/demoplan-m1"
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # a FHIR instant in UTC, to the millisecond
IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT")


def serve(*options: str) -> tuple[subprocess.Popen, str]:
    """`mockpayer serve` on a free loopback port: the process and its root URL, read from its own line."""
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", "0", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        found = re.match(r"mock payer serving at (http://\S+)", line)
        if found is not None:
            return process, found.group(1)
    raise AssertionError(f"mockpayer serve stopped: exit {process.wait()}: {process.stderr.read()}")


def stop(process: subprocess.Popen) -> str:
    """Stops the server and returns what it wrote to stderr."""
    process.terminate()
    return process.communicate(timeout=10)[1]


@pytest.fixture
def mock():
    process, url = serve()
    yield url
    stop(process)


@pytest.fixture(scope="module")
def shared_mock():
    """One server for the tests that never move its clock."""
    process, url = serve()
    yield url
    stop(process)


def clock(url: str, body: dict | None = None) -> requests.Response:
    """`GET /_admin/clock`, or `POST` it `body`."""
    if body is None:
        return requests.get(f"{url}/_admin/clock", timeout=10)
    return requests.post(f"{url}/_admin/clock", json=body, timeout=10)


def date_of(response: requests.Response) -> datetime:
    assert IMF_FIXDATE.fullmatch(response.headers["Date"]), response.headers["Date"]
    return parsedate_to_datetime(response.headers["Date"])


def read_patient(url: str, access_token: str) -> requests.Response:
    return requests.get(f"{url}/demoplan/r4/{PATIENT}", headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10)


def introspect(url: str, token: str) -> dict:
    response = requests.post(f"{url}/oauth2/introspect", data={"token": token}, auth=DEMO_CONFIDENTIAL, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_get_shows_the_instant_and_the_offset(shared_mock):
    response = clock(shared_mock)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    shown = response.json()
    assert set(shown) == {"now", "offset_seconds"} and shown["offset_seconds"] == 0
    assert INSTANT.fullmatch(shown["now"]), shown["now"]
    assert date_of(response).year == int(shown["now"][:4])


def test_advancing_the_clock_expires_an_access_token_and_moves_the_date_header(mock):
    """RFC 6750 §3.1: an expired access token gets 401 `invalid_token`; RFC 7662 §2.2: introspection says
    `active: false`; RFC 9110 §6.6.1: every answer's `Date` is the mock's clock, an hour later too."""
    tokens = PayerDriver(mock, None, None).tokens()
    fresh = read_patient(mock, tokens["access_token"])
    assert fresh.status_code == 200 and introspect(mock, tokens["access_token"])["active"] is True

    moved = clock(mock, {"advance": tokens["expires_in"] + 1})
    assert moved.status_code == 200 and moved.json()["offset_seconds"] == tokens["expires_in"] + 1

    expired = read_patient(mock, tokens["access_token"])
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert introspect(mock, tokens["access_token"]) == {"active": False}
    assert date_of(expired) >= date_of(fresh) + timedelta(seconds=tokens["expires_in"] + 1)
    assert date_of(moved) >= date_of(fresh) + timedelta(seconds=tokens["expires_in"] + 1)
    assert clock(mock).json()["offset_seconds"] == tokens["expires_in"] + 1


def test_set_moves_the_clock_to_an_instant_and_never_back(mock):
    """A set into the past (before the mock's own now) is 409 and leaves the clock where it was: the clock only
    moves forward, so nothing that expired comes back to life."""
    assert clock(mock, {"advance": 60}).status_code == 200
    moved = clock(mock, {"set": "2040-01-01T00:00:00Z"})
    assert moved.status_code == 200
    assert moved.json()["now"].startswith("2040-01-01T00:00:")
    assert moved.json()["offset_seconds"] > 60
    assert date_of(moved) >= datetime(2040, 1, 1, tzinfo=timezone.utc)
    assert moved.headers["Date"].startswith("Sun, 01 Jan 2040 00:00:")
    ahead = clock(mock, {"set": "2040-06-01T12:00:00+02:00"}).json()  # any offset, read as the instant it names
    assert ahead["now"].startswith("2040-06-01T10:00:")

    for past in ("2039-12-31T23:59:59Z", "2040-06-01T09:59:00Z"):
        refused = clock(mock, {"set": past})
        assert refused.status_code == 409 and "only moves forward" in refused.json()["error"]
    assert clock(mock).json()["now"].startswith("2040-06-01T10:00:")


def test_retry_after_dates_and_the_date_header_agree_after_the_clock_moves(mock):
    """RFC 9110 §10.2.3: a client adds nothing to a `Retry-After` HTTP-date; it compares it with the answer's
    `Date`. Both come from the mock's clock, so a moved clock still says "retry in 30 seconds"."""
    assert clock(mock, {"set": "2035-03-01T08:00:00Z"}).status_code == 200
    faults = requests.post(f"{mock}/_admin/faults", timeout=10, json={
        "system_id": "demoplan", "rate_limit": {"every": 1, "retry_after": 30, "retry_after_format": "http-date"}})
    assert faults.status_code == 200, faults.text
    limited = requests.get(f"{mock}/demoplan/r4/{PATIENT}", timeout=10)
    assert limited.status_code == 429
    wait = parsedate_to_datetime(limited.headers["Retry-After"]) - date_of(limited)
    assert timedelta(0) < wait <= timedelta(seconds=30)
    assert date_of(limited).year == 2035


def test_records_a_later_day_changes_carry_the_moved_clock(mock):
    """A new or changed record of the next day is stamped with the mock's clock at the advance, so a client's
    `_lastUpdated`/`_since` finds it at the instant the QA engineer set."""
    assert clock(mock, {"set": "2041-05-05T05:05:05Z"}).status_code == 200
    changes = requests.post(f"{mock}/_admin/advance", json={"system_id": "demoplan"}, timeout=10)
    assert changes.status_code == 200, changes.text
    changed = changes.json()["demoplan"]["changed"] + changes.json()["demoplan"]["new"]
    access_token = PayerDriver(mock, None, None).tokens()["access_token"]  # a code issued in 2041 works in 2041
    mine = [key for key in changed if key.startswith("ExplanationOfBenefit/demoplan-m1-")]
    assert mine, changed
    for key in mine:
        record = requests.get(f"{mock}/demoplan/r4/{key}", headers={"Authorization": f"Bearer {access_token}"},
                              timeout=10)
        assert record.status_code == 200, record.text
        assert record.json()["meta"]["lastUpdated"].startswith("2041-05-05T05:05:")


@pytest.mark.parametrize("body, message", [
    ({}, "one of the two"),
    ({"advance": 60, "set": "2040-01-01T00:00:00Z"}, "one of the two"),
    ({"rewind": 60}, "one of the two"),
    ({"advance": -1}, "advance must be a number of seconds, 0 or more, not -1"),
    ({"advance": "3600"}, 'not "3600"'),
    ({"advance": True}, "not true"),
    ({"advance": 1e300}, "beyond the year 9999"),
    ({"set": "2040-01-01T00:00:00"}, "with its offset"),  # no offset: which instant is meant?
    ({"set": "next tuesday"}, "with its offset"),
    ({"set": 2208988800}, "with its offset"),
    ({"set": "9999-12-31T23:00:00-05:00"}, "beyond the year 9999"),
])
def test_bad_bodies_get_a_short_400_and_leave_the_clock_alone(shared_mock, body, message):
    refused = clock(shared_mock, body)
    assert refused.status_code == 400
    assert message in refused.json()["error"] and len(refused.text) < 200
    assert clock(shared_mock).json()["offset_seconds"] == 0


def test_a_body_that_is_not_a_json_object_is_400(shared_mock):
    for data, content_type in (("advance=60", "application/x-www-form-urlencoded"), ("[60]", "application/json"),
                               ("{", "application/json")):
        refused = requests.post(f"{shared_mock}/_admin/clock", data=data, headers={"Content-Type": content_type},
                                timeout=10)
        assert refused.status_code == 400 and "JSON object" in refused.json()["error"]


def test_the_clock_answers_this_machine_only(shared_mock):
    """Like the rest of `/_admin`: a request a proxy forwarded is refused, and so is a web page of another site."""
    forwarded = requests.post(f"{shared_mock}/_admin/clock", json={"advance": 60}, timeout=10,
                              headers={"X-Forwarded-For": "203.0.113.7"})
    cross_site = requests.post(f"{shared_mock}/_admin/clock", json={"advance": 60}, timeout=10,
                               headers={"Origin": "https://evil.example"})
    assert forwarded.status_code == cross_site.status_code == 403
    assert clock(shared_mock).json()["offset_seconds"] == 0
