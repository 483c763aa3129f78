"""The health pages (lab results and vital signs, visits and procedures, medications) and the prior
authorizations page through Flask's test client, over records written in the tests the way US Core 6.1, CARIN
BB and Da Vinci PDex shape them, over the bundled demo member, and over US Core's published examples (tests/data).
Payer text that tries to run script arrives as text (IN-X1, WB-1); removed records are never shown."""

import json
import re
import xml.etree.ElementTree as ET

import orjson
import pytest

from mirror.api import create_app
from tests.example_data import example_folder
from tests.mirror.stores import MEMBER1, fill, member_records, remove
from tests.web.health_records import HEALTH_RECORDS
from tests.web.hostile import IMAGE, SCRIPT

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def data_dir(tmp_path):
    fill(tmp_path, "testplan", [orjson.dumps(resource) for resource in HEALTH_RECORDS])
    return tmp_path


@pytest.fixture
def pages(data_dir):
    return create_app(data_dir).test_client()


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _test_block(html: str, code: str) -> str:
    match = re.search(rf'<article class="test" data-code="{re.escape(code)}">(.*?)</article>', html, re.S)
    assert match, code
    return match.group(1)


def _charts(html: str) -> list[ET.Element]:
    """Every inline SVG on the page, parsed as XML: a chart that is not well-formed fails here."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def test_a_lab_shows_value_unit_range_and_flag_newest_first(pages):
    """Glucose 182 the lab flagged H, 88 within 70-99, and 65 the lab did not flag: Low, worked out from the
    range and marked so."""
    block = _test_block(_page(pages, "/labs"), "2345-7")
    rows = re.findall(r'<tr class="result" data-id="([^"]+)">(.*?)</tr>', block, re.S)
    assert [row_id for row_id, _ in rows] == ["glu-high", "glu-normal", "glu-low"]
    cells = {row_id: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row_id, row in rows}
    assert cells["glu-high"][1] == '<span class="value">182</span> <span class="unit">mg/dL</span>'
    assert all(cell[2] == "70–99 mg/dL" for cell in cells.values())
    assert '<span class="flag-high">High</span>' in cells["glu-high"][3]
    assert cells["glu-normal"][3] == ""
    assert '<span class="flag-low">Low*</span>' in cells["glu-low"][3]
    assert '<time class="date" datetime="2024-05-02">2 May 2024</time>' in cells["glu-high"][0]  # readable.day


def test_the_trend_chart_is_well_formed_svg_with_labelled_axes(pages):
    """One point per result, oldest on the left; the axes carry the first and last dates and round values;
    title and desc name the chart for screen readers; the normal range is drawn as a band."""
    block = _test_block(_page(pages, "/labs"), "2345-7")
    (chart,) = _charts(block)
    assert chart.tag == f"{SVG}svg" and chart.get("role") == "img"
    title, desc = chart.find(f"{SVG}title"), chart.find(f"{SVG}desc")
    assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Glucose over time"
    assert "3 results from 10 Jan 2023 to 2 May 2024" in desc.text and "latest 182 mg/dL" in desc.text
    points = chart.findall(f".//{SVG}circle")
    assert [point.find(f"{SVG}title").text for point in points] == [
        "10 Jan 2023: 65 mg/dL", "15 Sep 2023: 88 mg/dL", "2 May 2024: 182 mg/dL"]
    xs = [float(point.get("cx")) for point in points]
    ys = [float(point.get("cy")) for point in points]
    assert xs == sorted(xs) and ys[2] < ys[1] < ys[0]  # later to the right, higher values nearer the top
    dates = [text.text for text in chart.findall(f"{SVG}text[@class='date-tick']")]
    assert dates == ["10 Jan 2023", "2 May 2024"]
    values = [float(text.text) for text in chart.findall(f"{SVG}text[@class='value-tick']")]
    assert values == sorted(values) and values[0] <= 65 and values[-1] >= 182
    band = chart.find(f"{SVG}rect[@class='normal-band']")
    assert band is not None and float(band.get("height")) > 0


def test_blood_pressure_is_one_row_per_reading_and_two_series(pages):
    """US Core blood pressure: systolic (8480-6) and diastolic (8462-4) components read as 141/92, and the
    chart draws each as its own line."""
    block = _test_block(_page(pages, "/labs"), "85354-9")
    assert '<span class="value">141/92</span> <span class="unit">mmHg</span>' in block
    assert '<span class="value">128/84</span> <span class="unit">mmHg</span>' in block
    (chart,) = _charts(block)
    series = {group.get("data-series"): group for group in chart.findall(f"{SVG}g")}
    assert set(series) == {"Systolic", "Diastolic"}
    assert [c.find(f"{SVG}title").text for c in series["Systolic"].findall(f"{SVG}circle")] == [
        "5 Jan 2024: Systolic 128 mmHg", "20 Jun 2024: Systolic 141 mmHg"]
    assert 'class="key key-1">Systolic<' in block and 'class="key key-2">Diastolic<' in block


def test_entered_in_error_and_removed_results_are_left_out(data_dir):
    """A result the lab withdrew (entered-in-error) and one the plan deleted (tombstoned by a sync) are not
    shown, charted or counted."""
    html = _page(create_app(data_dir).test_client(), "/labs")
    assert "glu-mistake" not in html and "999" not in html
    remove(data_dir, "testplan", "Observation", "glu-low")
    block = _test_block(_page(create_app(data_dir).test_client(), "/labs"), "2345-7")
    assert "glu-low" not in block and "65 mg/dL" not in block
    (chart,) = _charts(block)
    assert len(chart.findall(f".//{SVG}circle")) == 2
    assert "2 results from 15 Sep 2023 to 2 May 2024" in chart.find(f"{SVG}desc").text


def test_visits_and_procedures_in_one_timeline_newest_first_with_where_and_who(pages):
    html = _page(pages, "/visits")
    order = re.findall(r'<li class="card event event-(?:visit|procedure)" data-id="([^"]+)"', html)
    assert order == ["proc-knee", "visit-surgery", "visit-checkup", "visit-old"]  # 08:15 after the 07:00 arrival
    events = dict(re.findall(r'data-id="([^"]+)">(.*?)</li>', html, re.S))
    assert "Where: Northside Clinic, Room 4" in events["visit-checkup"]
    assert "Who: Noah Torres, MD" in events["visit-checkup"]
    assert "Office or clinic visit" not in events["visit-checkup"] and "Check up" in events["visit-checkup"]
    # The procedure has no place of its own: its visit's provider is where it happened.
    assert "Where: Lakeside Surgery &lt;img" in events["proc-knee"] and "Who: Dr. Lee Park" in events["proc-knee"]
    assert "Emergency visit" in events["visit-old"]
    assert '<time class="date" datetime="2024-03-01">1 Mar 2024</time>' in events["visit-checkup"]  # readable.day


def test_drug_fills_by_drug_name(pages):
    """The NDC display of a pharmacy claim's line, a dispense's contained Medication and a prescription's
    stored Medication: the claim and the prescription of one drug land under one name. Quantities are in words
    ("30 tablets"), not the NCPDP billing unit ("30 TAB")."""
    html = _page(pages, "/medications")
    drugs = dict(re.findall(r'<section class="drug">\s*<h2>(.*?)</h2>(.*?)</section>', html, re.S))
    assert set(drugs) == {"Amlodipine 5 MG Oral Tablet &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
                          "Lisinopril 10 MG Oral Tablet"}
    lisinopril = drugs["Lisinopril 10 MG Oral Tablet"]
    assert lisinopril.index("2024-04-01") < lisinopril.index("2024-03-28")  # the fill, then the prescription
    assert "Filled</strong> · <span class=\"quantity\">30 tablets</span> · <span class=\"quantity\">30 days</span> · " \
           "Corner Drug #112" in lisinopril
    assert 'href="/claims/testplan/rx-claim-1"' in lisinopril and "Prescribed" in lisinopril
    assert '<time class="date" datetime="2024-03-28">28 Mar 2024</time>' in lisinopril  # readable.day
    amlodipine = next(body for name, body in drugs.items() if name.startswith("Amlodipine"))
    assert "90 tablets" in amlodipine and "90 days" in amlodipine


def test_prior_authorizations_approved_denied_and_pending_in_plain_words(pages):
    """Da Vinci PDex Prior Authorization: the X12 306 review action decides (A1 approved, A3 denied), and an
    EOB still `queued` is pending; what was asked, by whom, the dates and the reason are shown."""
    html = _page(pages, "/prior-authorizations")
    found = re.findall(r'<article class="card prior-auth decision-(\w+)" data-decision="\w+" data-id="([^"]+)">(.*?)'
                       r"</article>", html, re.S)
    assert [(decision, auth_id) for decision, auth_id, _ in found] == [
        ("pending", "pa-pending"), ("denied", "pa-denied"), ("approved", "pa-approved")]
    body = {auth_id: text for _, auth_id, text in found}
    approved = body["pa-approved"]
    assert "<h2>MRI of the left knee</h2>" in approved and "<strong>Approved</strong>" in approved
    assert '<dd class="provider">Noah Torres, MD</dd>' in approved
    assert '<time class="date" datetime="2024-02-01">1 Feb 2024</time>' in approved  # asked on
    assert '<time class="date" datetime="2024-02-03">3 Feb 2024</time>' in approved  # decided on
    assert '>5 Feb 2024</time> to <time class="date" datetime="2024-05-05">5 May 2024</time>' in approved
    assert "AUTH-55521" in approved
    denied = body["pa-denied"]
    assert "<strong>Denied</strong>" in denied
    assert "Not deemed a medical necessity by the payer" in denied
    assert "A home sleep test comes first. &lt;script&gt;" in denied
    assert "<strong>Pending</strong>" in body["pa-pending"] and "Physical therapy, 12 visits" in body["pa-pending"]


def test_a_denied_or_pending_prior_authorization_shows_the_care_it_asked_for(pages):
    """PDex Prior Authorization: the period of care asked for is the EOB's billablePeriod, else its lines'
    servicedPeriod; shown as readable days whatever the decision."""
    html = _page(pages, "/prior-authorizations")
    articles = dict(re.findall(r'<article [^>]*data-id="([^"]+)">(.*?)</article>', html, re.S))
    care = {auth_id: found.group(1) for auth_id, body in articles.items()
            if (found := re.search(r'<dt>Care asked for</dt><dd class="care">(.*?)</dd>', body))}
    assert care["pa-denied"] == ('<time class="date" datetime="2024-04-02">2 Apr 2024</time> to '
                                 '<time class="date" datetime="2024-04-03">3 Apr 2024</time>')
    assert care["pa-pending"] == ('<time class="date" datetime="2024-07-01">1 Jul 2024</time> to '
                                  '<time class="date" datetime="2024-09-30">30 Sep 2024</time>')
    assert "pa-approved" not in care  # it states no period of care, only the approval's


def test_prior_authorizations_are_not_fills_and_a_removed_one_is_gone(data_dir):
    client = create_app(data_dir).test_client()
    assert "MRI of the left knee" not in _page(client, "/medications")
    remove(data_dir, "testplan", "ExplanationOfBenefit", "pa-denied")
    html = _page(create_app(data_dir).test_client(), "/prior-authorizations")
    assert "pa-denied" not in html and "Sleep study" not in html and 'data-id="pa-approved"' in html


def test_hostile_text_on_the_health_pages_is_escaped(pages):
    for url in ("/labs", "/visits", "/medications", "/prior-authorizations"):
        html = _page(pages, url)
        assert SCRIPT not in html and IMAGE not in html, url
        assert "<script" not in html and "<img" not in html, url
        for chart in _charts(html):  # still well-formed with hostile names inside
            assert chart.tag == f"{SVG}svg"
    labs = _page(pages, "/labs")
    (chart,) = _charts(_test_block(labs, ""))
    assert chart.find(f"{SVG}title").text == f"Potassium {SCRIPT} over time"  # escaped in the page, text in XML


def test_the_navigation_links_the_new_pages(pages):
    nav = re.search(r"<nav>(.*?)</nav>", _page(pages, "/"), re.S).group(1)
    for url in ("/labs", "/visits", "/medications", "/prior-authorizations"):
        assert f'href="{url}"' in nav


def test_the_demo_member_every_observation_and_fill_shown(tmp_path):
    """The bundled demo member: every Observation is one row under its test, every chart parses, every
    pharmacy claim's drug appears, and each prior authorization it holds is listed once."""
    records = member_records(MEMBER1)
    fill(tmp_path, "demoplan", records.values())
    client = create_app(tmp_path).test_client()
    resources = [json.loads(text) for text in records.values()]
    observations = [r for r in resources if r["resourceType"] == "Observation" and r.get("status") != "entered-in-error"]
    labs = _page(client, "/labs")
    assert len(re.findall(r'<tr class="result"', labs)) == len(observations)
    assert len(_charts(labs)) > 0
    medications = _page(client, "/medications")
    for eob in resources:
        if eob["resourceType"] == "ExplanationOfBenefit" and eob.get("use") == "claim" \
                and eob["type"]["coding"][0]["code"] == "pharmacy":
            assert f'href="/claims/demoplan/{eob["id"]}"' in medications
    visits = _page(client, "/visits")
    held = [r for r in resources if r["resourceType"] in ("Encounter", "Procedure")]
    assert len(re.findall(r'<li class="card event ', visits)) == len(held)
    auths = [r["id"] for r in resources if r["resourceType"] == "ExplanationOfBenefit"
             and r.get("use") == "preauthorization"]
    listed = re.findall(r'<article class="card prior-auth [^"]*" data-decision="\w[\w-]*" data-id="([^"]+)"',
                        _page(client, "/prior-authorizations"))
    assert sorted(listed) == sorted(auths)


def test_the_us_core_examples_render(tmp_path):
    """US Core 6.1.0's published examples: every Observation a row, every chart well-formed,
    the dispense's and the prescriptions' drugs (coded, contained and referenced Medication) named."""
    folder = example_folder("us-core-6.1.0")
    resources = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    resources = [r for r in resources if r["resourceType"] != "Bundle"]
    fill(tmp_path, "uscore", [json.dumps(r) for r in resources])
    client = create_app(tmp_path).test_client()
    labs = _page(client, "/labs")
    observations = [r for r in resources if r["resourceType"] == "Observation"
                    and r.get("status") != "entered-in-error"]
    assert len(re.findall(r'<tr class="result"', labs)) == len(observations)
    assert all(chart.tag == f"{SVG}svg" for chart in _charts(labs))
    medications = _page(client, "/medications")
    assert "Nizatidine 15 MG/ML Oral Solution" in medications
    assert "Nizatidine 15 MG/ML Oral Solution [Axid]" in medications  # from the contained or stored Medication
    assert "Unnamed drug" not in medications
    visits = _page(client, "/visits")
    assert len(re.findall(r'<li class="card event ', visits)) == sum(
        r["resourceType"] in ("Encounter", "Procedure") for r in resources)


def test_the_demo_member_reads_in_plain_words(tmp_path):
    """Plain words where a patient reads (issue 22): lab headings by their common name with the LOINC code
    apart, never LOINC's long name; SNOMED CT semantic tags ("(procedure)") left off visits; NCPDP units
    ("CAP") as words; FHIR status codes on /records as words."""
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    client = create_app(tmp_path).test_client()
    headings = re.findall(r"<h3>(.*?)</h3>", _page(client, "/labs"))
    assert 'Total cholesterol <span class="code">(2093-3)</span>' in headings
    assert 'Blood pressure <span class="code">(85354-9)</span>' in headings
    assert 'Body mass index (BMI) <span class="code">(39156-5)</span>' in headings
    assert not any("[" in heading or "panel" in heading for heading in headings)
    visits = _page(client, "/visits")
    assert "Encounter for problem<" in visits and "(procedure)" not in visits and "(disorder)" not in visits
    medications = _page(client, "/medications")
    assert '<span class="quantity">30 capsules</span>' in medications and " CAP<" not in medications
    records = _page(client, "/records")
    statuses = re.findall(r"</time> · ([^<]+)</li>", records)
    assert statuses and all(status[:1].isupper() and "-" not in status for status in statuses)
    assert "Finished" in statuses and "Resolved" in statuses


def test_the_home_counts_agree_with_the_pages_they_link(tmp_path):
    """The demo member's home page counts visits, procedures and prescriptions; the page each links to says
    the same numbers (the home page once said "Medications 3" for a page of fills and prescriptions, and
    "Visits 15" for a page of 19 events)."""
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    client = create_app(tmp_path).test_client()
    counts = dict(re.findall(r'<td><a href="[^"]*">([^<]+)</a></td><td class="number">(\d+)</td>', _page(client, "/")))
    visits = re.search(r'<p class="count">(\d+) visits and (\d+) procedures?,', _page(client, "/visits"))
    assert (counts["Visits"], counts["Procedures"]) == visits.groups()
    medications = _page(client, "/medications")
    fills, prescribed = re.search(r'<p class="count">(\d+) drug fills? .*? and (\d+) prescriptions?,', medications).groups()
    assert counts["Prescriptions"] == prescribed == str(len(re.findall(r'class="fill fill-prescribed"', medications)))
    assert fills == str(len(re.findall(r'class="fill fill-filled"', medications)))
    assert "Medications" not in counts


def test_every_chart_names_its_unit_and_blood_pressure_has_its_normal_bands(pages, tmp_path):
    """Each chart says its values' unit beside it; blood pressure draws a normal band per component from the
    components' referenceRange (US Core: the range sits on each component), systolic above diastolic."""
    labs = _page(pages, "/labs")
    block = _test_block(labs, "85354-9")
    (chart,) = _charts(block)
    bands = {band.get("data-series"): band for band in chart.findall(f"{SVG}rect[@class='normal-band']")}
    assert set(bands) == {"Systolic", "Diastolic"}
    assert float(bands["Systolic"].get("y")) < float(bands["Diastolic"].get("y"))  # 90-120 above 60-80
    assert '<span class="chart-unit">Values in <span class="unit">mmHg</span></span>' in block
    assert "Green bands: the normal ranges (Systolic, Diastolic)" in block
    assert '<span class="chart-unit">Values in <span class="unit">mg/dL</span></span>' in _test_block(labs, "2345-7")
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    demo = _page(create_app(tmp_path).test_client(), "/labs")
    figures = re.findall(r'<figure class="trend">(.*?)</figure>', demo, re.S)
    assert figures and all('<span class="chart-unit">Values in <span class="unit">' in figure for figure in figures)
