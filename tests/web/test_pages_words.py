"""The patient pages speak a patient's words (issue 22, item 6).

Kinds of records as people name them, the last sync's changes as sentences linked to the page to read each record
on, errors as pages of the site with a way home (the FHIR API keeps its OperationOutcomes), and times in this
machine's zone.

Tests that depend on the zone pin it with the `TZ` variable and `time.tzset()` (the `local_zone` fixture),
using POSIX zone strings such as `IST-5:30`, which need no time zone database on the machine.
"""

import re
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from mirror.api import create_app
from mirror.oauth import load_connection
from mirror.store import Store, StoreError
from mirror.web.kinds import Kind, page_of
from mirror.web.readable import day, local_time
from tests.mirror.stores import MEMBER1, fill, member_records

# Written by hand from the issue: what a person calls each kind of record the demo member has.
PLAIN_NAMES = {
    "ExplanationOfBenefit": "Claims", "Observation": "Lab results and vital signs", "Encounter": "Visits",
    "Procedure": "Procedures", "Condition": "Conditions", "AllergyIntolerance": "Allergies",
    "MedicationRequest": "Prescriptions", "Coverage": "Coverage", "Patient": "Member details",
    "Practitioner": "Doctors and other clinicians", "Organization": "Organizations",
}
# The page each kind links to, best first: its own page once the app serves it, else the broader one.
PAGES = {"Claims": ["/claims"], "Prior authorizations": ["/prior-authorizations", "/claims"],
         "Lab results and vital signs": ["/labs", "/records"],
         "Visits": ["/visits", "/records"], "Procedures": ["/visits", "/records"], "Conditions": ["/records"],
         "Allergies": ["/records"], "Prescriptions": ["/medications", "/records"], "Coverage": ["/coverage"]}
IST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def local_zone(monkeypatch):
    """Set this process's local zone (TZ + tzset) for the test, and put the machine's back afterwards."""
    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


def _rows(html: str) -> dict[str, tuple[str | None, int]]:
    """The home page's 'Records kept' table: name -> (link, count)."""
    table = html.split('<table class="counts">')[1].split("</table>")[0]
    found = {}
    for cell, count in re.findall(r'<tr><td>(.*?)</td><td class="number">(\d+)</td></tr>', table):
        link = re.match(r'<a href="([^"]+)">(.*)</a>$', cell)
        found[link.group(2) if link else cell] = (link.group(1) if link else None, int(count))
    return found


def _changes(html: str) -> list[tuple[str, str]]:
    """The home page's list of changes: (href, the line's text without markup)."""
    listed = html.split('<ul class="changes">')[1].split("</ul>")[0]
    return [(href, re.sub(r"<[^>]+>", "", words)) for href, words in re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>',
                                                                                listed)]


def test_home_names_each_kind_of_record_as_a_person_does_and_links_its_page(tmp_path):
    records = member_records(MEMBER1)
    fill(tmp_path, "demoplan", records.values())
    app = create_app(tmp_path)
    served = {rule.rule for rule in app.url_map.iter_rules()}
    html = app.test_client().get("/").get_data(as_text=True)
    expected = Counter("Prior authorizations" if resource_type == "ExplanationOfBenefit"
                       and orjson.loads(text).get("use") == "preauthorization" else PLAIN_NAMES[resource_type]
                       for (resource_type, _), text in records.items())
    rows = _rows(html)
    assert {name: count for name, (_, count) in rows.items()} == expected
    for name, (link, _) in rows.items():
        assert link == next((path for path in PAGES.get(name, []) if path in served), None), name
    assert list(rows)[0] == "Claims"
    words = re.sub(r"<[^>]+>", " ", html.split("<main>")[1])
    for fhir_name in ("ExplanationOfBenefit", "AllergyIntolerance", "Observation", "Encounter", "MedicationRequest"):
        assert fhir_name not in words


def test_a_kind_links_its_own_page_as_soon_as_the_app_serves_one(tmp_path):
    """Pages for labs and visits come from other modules: the home page finds them in the URL map."""
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    app = create_app(tmp_path)
    if "/labs" not in {rule.rule for rule in app.url_map.iter_rules()}:
        app.add_url_rule("/labs", "labs_for_this_test", lambda: "labs")
    assert _rows(app.test_client().get("/").get_data(as_text=True))["Lab results and vital signs"][0] == "/labs"
    kind = Kind("Care plans", "care plan", ("/care-plans", "/records"))
    assert page_of(kind, ["/records"]) == "/records" and page_of(kind, ["/care-plans", "/records"]) == "/care-plans"
    assert page_of(Kind("Organizations", "organization"), ["/records"]) is None


def _eob(eob_id: str, service: str, start: str, use: str = "claim", **more) -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": eob_id, "status": "active", "use": use,
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "professional"}]},
            "patient": {"reference": "Patient/p1"}, "created": start, "billablePeriod": {"start": start},
            "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "x", "display": service}]}}], **more}


def test_the_last_syncs_changes_read_as_sentences_and_link_the_plain_page(tmp_path):
    """Removed first (a patient must not miss it), then updated, then new; a claim opens on its claim page, other
    records (and a removed claim, which that page does not show as removed) on the record's page."""
    fill(tmp_path, "demoplan", [_eob("c1", "Office visit", "2025-03-03"), _eob("c2", "Flu shot", "2025-02-01")])
    glucose = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
               "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
               "effectiveDateTime": "2025-03-03T23:30:00-05:00"}  # 4 Mar in UTC: a record's date stays as written
    with Store(tmp_path, commit_interval=0) as store:
        run_id = store.begin_run("demoplan")
        store.commit_page("demoplan", [orjson.dumps(resource) for resource in (
            _eob("c1", "Office visit", "2025-03-03", outcome="complete"), glucose,
            _eob("pa1", "MRI of the knee", "2025-04-10", use="preauthorization"))], run_id=run_id)
        store.mark_removed("demoplan", "ExplanationOfBenefit", ["c2"], run_id=run_id)
        store.finish_run(run_id)
    html = create_app(tmp_path).test_client().get("/").get_data(as_text=True)
    assert _changes(html) == [
        ("/resource/demoplan/ExplanationOfBenefit/c2", "Claim removed by the plan: Flu shot, 1 Feb 2025"),
        ("/claims/demoplan/c1", "Updated claim: Office visit, 3 Mar 2025"),
        ("/resource/demoplan/ExplanationOfBenefit/pa1", "New prior authorization: MRI of the knee, 10 Apr 2025"),
        ("/resource/demoplan/Observation/o1", "New lab result or vital sign: Glucose, 3 Mar 2025"),
    ]
    rows = _rows(html)
    assert rows["Claims"][1] == 1 and rows["Prior authorizations"][1] == 1  # c2 is gone; pa1 is no claim
    record = create_app(tmp_path).test_client().get("/resource/demoplan/Observation/o1").get_data(as_text=True)
    assert "<h1>Lab result or vital sign</h1>" in record and "Raw JSON, exactly as received" in record


# ---- errors --------------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    return create_app(tmp_path)


def _is_a_site_page(response, status: int, heading: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == status and response.mimetype == "text/html"
    assert '<nav>' in html and f"<h1>{heading}</h1>" in html and '<a href="/">Back to your plans</a>' in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    return html


def _is_an_outcome(response, status: int) -> None:
    assert response.status_code == status and response.json["resourceType"] == "OperationOutcome"


def test_not_found_is_a_page_of_the_site_with_a_way_home(app):
    client = app.test_client()
    for url in ("/no-such-page", "/claims/demoplan/nope", "/resource/demoplan/Patient/nobody"):
        _is_a_site_page(client.get(url), 404, "There is no page here")
    _is_an_outcome(client.get("/fhir/NotAType"), 404)


def test_a_write_is_405_with_allow_on_a_page_and_an_outcome_under_fhir(app):
    """RFC 9110 15.5.6: a 405 names the methods the resource takes, on a page as in the API."""
    client = app.test_client()
    refused = client.post("/claims")
    _is_a_site_page(refused, 405, "These pages only show records")
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    _is_an_outcome(client.delete(f"/fhir/Patient/{MEMBER1}"), 405)


def test_a_large_body_is_413_as_a_page_and_as_an_outcome(app):
    """IN-J4 on both halves of the URL space."""
    client = app.test_client()
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    _is_a_site_page(client.post("/claims", data=body), 413, "That was too much to send")
    _is_an_outcome(client.post("/fhir/Patient/_search", data=body), 413)


def test_a_failure_is_500_as_a_page_and_as_an_outcome(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug, with /some/private/path")
    monkeypatch.setattr(app.extensions["mirror.store"], "sources", broken)
    client = app.test_client()
    html = _is_a_site_page(client.get("/claims"), 500, "Something went wrong")
    assert "/some/private/path" not in html and "Traceback" not in html
    _is_an_outcome(client.get("/fhir/metadata"), 500)


def test_a_damaged_store_is_503_as_a_page_and_as_an_outcome(app, monkeypatch):
    """ST-6: the reader is told briefly, without this machine's paths (the real damage: test_api_server.py)."""
    def damaged(*args, **kwargs):
        raise StoreError("table resources is damaged in /some/private/mirror.json; run mirror restore")
    monkeypatch.setattr(app.extensions["mirror.store"], "sources", damaged)
    client = app.test_client()
    html = _is_a_site_page(client.get("/claims"), 503, "The mirror&#39;s store cannot be read")
    assert "/some/private" not in html
    _is_an_outcome(client.get("/fhir/metadata"), 503)


# ---- times ---------------------------------------------------------------------------------------------


def test_times_are_shown_in_this_machines_zone_with_summer_time(local_zone):
    local_zone("EST5EDT,M3.2.0,M11.1.0")
    assert local_time("2025-01-15T17:30:00.000000Z") == "15 Jan 2025, 12:30 EST"
    assert local_time("2025-07-15T17:30:00.000000Z") == "15 Jul 2025, 13:30 EDT"
    local_zone("IST-5:30")
    assert local_time("2025-01-15T20:00:00+00:00") == "16 Jan 2025, 01:30 IST"
    assert day("2025-01-15T20:00:00-05:00") == "15 Jan 2025"  # a record's date is the day it names, as written
    assert local_time("not a time") is None and day("2025-13-01") is None


def test_the_pages_show_the_last_sync_token_expiry_and_arrival_in_the_local_zone(site, local_zone):
    """Worked out here with a fixed +05:30 offset, the zone the process is put in."""
    _, data_dir = site
    local_zone("IST-5:30")

    def written(instant: datetime) -> str:
        shifted = instant.astimezone(IST)
        return f"{shifted.day} {shifted:%b %Y, %H:%M} IST"

    with Store(data_dir, read_only=True) as store:
        started = datetime.fromisoformat(store.runs("demo")[0].started_at)
        patient = store.get("demo", "Patient", MEMBER1)
    expires = datetime.fromtimestamp(load_connection(data_dir, "demo").token.expires_at, timezone.utc)
    client = create_app(data_dir).test_client()
    home = client.get("/").get_data(as_text=True)
    assert written(started) in home.split("Last sync:")[1].split("</p>")[0]
    assert written(expires) in home.split("Access token valid until")[1].split("</p>")[0]
    assert "UTC" not in home
    record = client.get(f"/resource/demo/Patient/{MEMBER1}").get_data(as_text=True)
    assert written(datetime.fromisoformat(patient.fetched_at)) in record.split("<dt>Fetched</dt>")[1].split("</dd>")[0]
