"""What makes the claim pages and `mirror claims` trustworthy on odd and real payer data: no value a plan sends
turns a page into a 500 or the command into a traceback; claims the plan marked entered in error and requests
that are no claims stay out of every list and total; the bars speak for the year chosen; dates and amounts read
as a patient writes them."""

import copy
import json
import re

import pytest

from mirror.api import create_app
from mirror.store import Store
from mirror.web.readable import local_time
from tests.mirror.stores import fill, remove
from tests.web.conftest import run_mirror

ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"


def money(value):
    return {"value": value, "currency": "USD"}


def adjudication(code, value, system=ADJ):
    return {"category": {"coding": [{"system": system, "code": code}]}, "amount": money(value)}


def _balance(network, used_deductible, used_oop):
    return {"network": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-network", "code": network}]},
            "unit": {"coding": [{"code": "individual", "display": "Individual"}]},
            "financial": [
                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "deductible"}]},
                 "allowedMoney": money(1500), "usedMoney": money(used_deductible)},
                {"type": {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pct/CodeSystem/PCTFinancialType",
                                      "code": "out-of-pocket-maximum"}]},
                 "allowedMoney": money(6000), "usedMoney": money(used_oop)}]}


def claim(eob_id, start="2024-03-01", **elements):
    """A complete CARIN professional claim: billed 200, allowed 150, paid 120, you owe 30 (copay 30)."""
    eob = {"resourceType": "ExplanationOfBenefit", "id": eob_id, "status": "active", "use": "claim",
           "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
           "patient": {"reference": "Patient/p1"}, "billablePeriod": {"start": start, "end": start},
           "created": f"{start}T12:00:00Z", "outcome": "complete", "provider": {"display": "Dr. Example"},
           "insurer": {"display": "Plan"}, "insurance": [{"focal": True, "coverage": {"display": "Plan"}}],
           "total": [adjudication("submitted", 200), adjudication("eligible", 150),
                     adjudication("paidtoprovider", 120, C4BB), adjudication("copay", 30),
                     adjudication("memberliability", 30, C4BB)],
           "item": [{"sequence": 1, "servicedDate": start, "productOrService": {"text": "Office visit"},
                     "quantity": {"value": 1}, "net": money(200),
                     "adjudication": [adjudication("submitted", 200), adjudication("copay", 30)]}]}
    eob.update(elements)
    return eob


def _claims_listed(html):
    return re.findall(r'data-claim="([^"]+)"', html)


def _text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# Odd values a broken or hostile plan may put where the money model and the claim pages read.
ODD_VALUES = [[], {}, ["x", 1], {"a": {"b": []}}, "12.50", "-68.80", -68.8, 1e30, -1e30, 1e308, 0, True, None,
              "Ünïcødé ✓ 数字", "2024-13-45", 12345678901234567890]
FIELDS = {
    "use": lambda eob, v: eob.update(use=v),
    "status": lambda eob, v: eob.update(status=v),
    "outcome": lambda eob, v: eob.update(outcome=v),
    "type": lambda eob, v: eob.update(type=v),
    "subType": lambda eob, v: eob.update(subType=v),
    "meta": lambda eob, v: eob.update(meta={"profile": v}),
    "created": lambda eob, v: eob.update(created=v),
    "billablePeriod": lambda eob, v: eob.update(billablePeriod=v),
    "billablePeriod.start": lambda eob, v: eob["billablePeriod"].update(start=v),
    "provider": lambda eob, v: eob.update(provider=v),
    "facility": lambda eob, v: eob.update(facility=v),
    "careTeam": lambda eob, v: eob.update(careTeam=[{"sequence": 1, "provider": {"display": "Dr. A"}, "role": v}, v]),
    "diagnosis": lambda eob, v: eob.update(diagnosis=[{"diagnosisCodeableConcept": v}, v]),
    "identifier": lambda eob, v: eob.update(identifier=[{"type": v, "value": v, "system": v}]),
    "supportingInfo": lambda eob, v: eob.update(supportingInfo=[{"category": {"coding": [{"code": "clmrecvddate"}]},
                                                                 "timingDate": v, "timingPeriod": v}]),
    "processNote": lambda eob, v: eob.update(processNote=[{"text": v}, v]),
    "total": lambda eob, v: eob.update(total=v),
    "total.amount": lambda eob, v: eob["total"][0].update(amount=v),
    "total.amount.value": lambda eob, v: eob["total"][0]["amount"].update(value=v),
    "total.category": lambda eob, v: eob["total"][1].update(category=v),
    "total.memberliability": lambda eob, v: eob["total"][4]["amount"].update(value=v),
    "adjudication": lambda eob, v: eob.update(adjudication=[v, {"category": v, "reason": v, "amount": v}]),
    "payment": lambda eob, v: eob.update(payment=v),
    "payment.amount.value": lambda eob, v: eob.update(payment={"amount": {"value": v}, "date": v}),
    "item": lambda eob, v: eob.update(item=v),
    "item.entry": lambda eob, v: eob.update(item=[v, *eob["item"]]),
    "item.quantity": lambda eob, v: eob["item"][0].update(quantity={"value": v, "unit": v}),
    "item.net": lambda eob, v: eob["item"][0].update(net={"value": v}),
    "item.servicedPeriod": lambda eob, v: eob["item"][0].update(servicedPeriod={"start": v, "end": v}),
    "item.servicedDate": lambda eob, v: eob["item"][0].update(servicedDate=v),
    "item.revenue": lambda eob, v: eob["item"][0].update(revenue=v, productOrService=v),
    "item.adjudication": lambda eob, v: eob["item"][0].update(adjudication=[v, {"category": v, "amount": {"value": v}}]),
    "benefitPeriod": lambda eob, v: eob.update(benefitPeriod={"start": v}),
    "benefitBalance": lambda eob, v: eob.update(benefitBalance=[v, {"network": v, "unit": v, "financial": [v]}]),
    "benefitBalance.money": lambda eob, v: eob.update(benefitBalance=[_balance("out", v, v)]),
    "benefitBalance.allowed": lambda eob, v: eob.update(benefitBalance=[{"financial": [
        {"type": {"coding": [{"code": "deductible"}]}, "allowedMoney": {"value": v}, "usedMoney": {"value": v}}]}]),
}


@pytest.fixture(scope="module")
def odd_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    eobs = []
    for field, put in FIELDS.items():
        for number, value in enumerate(ODD_VALUES):
            eob = claim(f"odd-{field.replace('.', '-')}-{number}")
            put(eob, copy.deepcopy(value))
            eobs.append(eob)
    fill(folder, "demo", [json.dumps(eob) for eob in eobs])
    return folder, eobs


def test_no_odd_value_in_a_claim_gives_a_500_or_a_traceback(odd_store):
    """Bad input never gives a 500 nor a traceback: lists, objects, numbers as strings, negative and huge
    numbers (valid FHIR 1e30) and non-ASCII text in every element the money model and the claim pages read,
    over the home page, the claims list (with each filter), every claim's page and `mirror claims`."""
    folder, eobs = odd_store
    client = create_app(folder).test_client()
    for path in ("/", "/claims", "/claims?year=2024", "/claims?kind=professional", "/prior-authorizations"):
        response = client.get(path)
        assert response.status_code == 200, path
    for eob in eobs:
        response = client.get(f"/claims/demo/{eob['id']}")
        assert response.status_code in (200, 303), eob["id"]
    for shape in ("--json", "--csv", None):
        result = run_mirror("claims", *([shape] if shape else []), data_dir=folder, check=False)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    rows = json.loads(run_mirror("claims", "--json", data_dir=folder).stdout)
    assert rows and all(row["billed"] is None or re.fullmatch(r"-?\d+\.\d\d", row["billed"]) for row in rows)


def test_an_amount_of_a_quadrillion_or_more_is_not_stated_on_every_page_and_the_command(tmp_path):
    """A `total` of 1e30 is valid FHIR but no claim's money: it reads as not stated (never a 500, never a
    number wider than a phone), and the year's total says it is partial."""
    huge = claim("huge", total=[adjudication("submitted", 1e30), adjudication("memberliability", 25, C4BB)], item=[])
    fill(tmp_path, "demo", [json.dumps(huge), json.dumps(claim("small", "2024-02-01"))])
    client = create_app(tmp_path).test_client()
    assert client.get("/").status_code == 200
    listing = client.get("/claims")
    assert listing.status_code == 200 and "partial: 1 of 2 claims not stated" in _text(listing.get_data(as_text=True))
    page = client.get("/claims/demo/huge")
    assert page.status_code == 200
    assert re.search(r'<td class="number billed"[^>]*><span class="unknown">not stated', page.get_data(as_text=True))
    result = run_mirror("claims", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {row["id"]: (row["billed"], row["you_owe"]) for row in json.loads(result.stdout)}["huge"] == (None, "25.00")


def test_entered_in_error_claims_are_in_no_list_total_bar_or_command(tmp_path):
    """FHIR R4 EOB.status entered-in-error: the plan says the claim should never have existed; it is left out of
    the claims list, the yearly totals, the bars and `mirror claims`, and its page says so."""
    fill(tmp_path, "demo", [json.dumps(eob) for eob in (
        claim("kept", benefitBalance=[_balance("in", 100, 100)]),
        claim("wrong", "2024-04-01", status="entered-in-error", benefitBalance=[_balance("in", 900, 900)]))])
    client = create_app(tmp_path).test_client()
    html = client.get("/claims").get_data(as_text=True)
    assert _claims_listed(html) == ["kept"]
    year = _text(re.search(r'<tr data-year="2024">(.*?)</tr>', html, re.S).group(1))
    assert year.split()[:2] == ["2024", "$200.00"]
    assert re.findall(r'<meter class="bar" min="0" max="[\d.]+" value="([\d.]+)"', html) == ["100", "100"]
    assert [row["id"] for row in json.loads(run_mirror("claims", "--json", data_dir=tmp_path).stdout)] == ["kept"]
    assert "entered in error" in client.get("/claims/demo/wrong").get_data(as_text=True)


def _request(eob_id, use):
    return claim(eob_id, use=use, outcome="complete")


def test_a_predetermination_is_an_estimate_counted_apart_and_no_request_is_shown_as_a_claim(tmp_path):
    """FHIR R4 EOB.use: a predetermination is an estimate and a preauthorization a prior authorization (Da
    Vinci PDex); one function sorts them, so the home page counts neither among the claims, and a request's
    address under /claims sends the reader (303) to where it is told instead of a claim page."""
    fill(tmp_path, "demo", [json.dumps(eob) for eob in (
        claim("bill"), _request("asked", "preauthorization"), _request("estimate", "predetermination"))])
    client = create_app(tmp_path).test_client()
    counts = dict(re.findall(r"<tr><td>(?:<a [^>]+>)?([^<]+)(?:</a>)?</td><td class=\"number\">(\d+)</td></tr>",
                             client.get("/").get_data(as_text=True)))
    assert counts["Claims"] == "1" and counts["Prior authorizations"] == "1"
    assert counts["Estimates before care"] == "1"
    asked = client.get("/claims/demo/asked")
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/prior-authorizations#auth-demo-asked")
    assert 'id="auth-demo-asked"' in client.get("/prior-authorizations").get_data(as_text=True)
    estimate = client.get("/claims/demo/estimate")
    assert estimate.status_code == 303
    assert estimate.headers["Location"].endswith("/resource/demo/ExplanationOfBenefit/estimate")
    assert _claims_listed(client.get("/claims").get_data(as_text=True)) == ["bill"]


def test_bars_take_the_highest_year_to_date_balance_of_the_year_chosen(tmp_path):
    """Year-to-date balances only grow: a claim processed later but created earlier (as the demo plan's
    reprocessed claim is) cannot pull a bar back. The bars follow the year filter; with none chosen, only the
    latest year's show, with a note; an out-of-network bar with nothing used shows only when a claim of that
    year was out of network."""
    fill(tmp_path, "demo", [json.dumps(eob) for eob in (
        claim("first", "2024-02-01", benefitBalance=[_balance("in", 800, 900), _balance("out", 0, 0)]),
        # later service and balance, but `created` earlier than the first claim's
        claim("later", "2024-05-01", created="2024-01-15T00:00:00Z",
              benefitBalance=[_balance("in", 1200, 1500), _balance("out", 0, 0)]),
        claim("old", "2023-05-01", benefitBalance=[_balance("in", 1500, 2000), _balance("out", 0, 0)],
              adjudication=[{"category": {"coding": [{"code": "benefitpaymentstatus"}]},
                             "reason": {"coding": [{"code": "outofnetwork"}]}}]))])
    client = create_app(tmp_path).test_client()

    def bars(query):
        html = client.get(f"/claims{query}").get_data(as_text=True)
        return html, re.findall(r'data-year="(\d+)" data-network="([^"]*)" data-name="([^"]+)">.*?'
                                r'value="([\d.]+)".*?As of the claim processed ([^<]+)\.', html, re.S)

    html, latest = bars("")
    assert latest == [("2024", "In network", "Deductible", "1200", "15 Jan 2024"),
                      ("2024", "In network", "Out-of-pocket maximum", "1500", "15 Jan 2024")]
    assert "Choose a year above" in html
    _, chosen = bars("?year=2023")
    assert [(year, network, name, used) for year, network, name, used, _ in chosen] == [
        ("2023", "In network", "Deductible", "1500"), ("2023", "In network", "Out-of-pocket maximum", "2000"),
        ("2023", "Out of network", "Deductible", "0"), ("2023", "Out of network", "Out-of-pocket maximum", "0")]


@pytest.mark.parametrize("year", ["abc", "20245", "２０２４", "-1"])
def test_a_year_filter_that_is_not_a_year_says_so(tmp_path, year):
    """Bad input gets a short, precise 4xx: `?year=abc` is not silently "0 claims"."""
    fill(tmp_path, "demo", [json.dumps(claim("bill"))])
    response = create_app(tmp_path).test_client().get("/claims", query_string={"year": year})
    assert response.status_code == 400 and "That is not a year" in response.get_data(as_text=True)


def test_a_removed_claim_says_when_in_local_time(tmp_path):
    """The store's times are UTC instants; a patient reads them in the machine's zone, as on the record page."""
    fill(tmp_path, "demo", [json.dumps(claim("gone"))])
    remove(tmp_path, "demo", "ExplanationOfBenefit", "gone")
    with Store(tmp_path, read_only=True) as store:
        removed_at = store.get("demo", "ExplanationOfBenefit", "gone").removed_at
    html = create_app(tmp_path).test_client().get("/claims/demo/gone").get_data(as_text=True)
    assert f"(removed {local_time(removed_at)})" in html


def test_claims_pages_write_days_as_a_patient_reads_them_and_offer_only_kinds_held(tmp_path):
    """Dates a patient reads on the claims pages are "3 Mar 2024" (the home page's way); `mirror claims` keeps
    ISO dates for programs; the Type filter offers only kinds of claims held; a negative amount is -$68.80 on
    the pages and in the command's table alike."""
    refund = claim("refund", "2024-03-03", total=[adjudication("submitted", -68.8)],
                   payment={"amount": money(-68.8), "date": "2024-03-20"},
                   supportingInfo=[{"category": {"coding": [{"code": "clmrecvddate"}]}, "timingDate": "2024-03-05"}])
    fill(tmp_path, "demo", [json.dumps(refund)])
    client = create_app(tmp_path).test_client()
    listing = client.get("/claims").get_data(as_text=True)
    assert ">3 Mar 2024</time>" in listing and "-$68.80" in _text(listing)
    kinds = re.findall(r'<option value="(\w+)"', re.search(r'name="kind">(.*?)</select>', listing).group(1))
    assert kinds == ["professional"]
    page = _text(client.get("/claims/demo/refund").get_data(as_text=True))
    assert "Received by the plan 5 Mar 2024" in page and "Paid 20 Mar 2024" in page and "-$68.80" in page
    table = run_mirror("claims", data_dir=tmp_path).stdout
    assert "2024-03-03" in table and "-$68.80" in table and "$-" not in table
    assert run_mirror("claims", "--year", "1999", data_dir=tmp_path).stdout == "No claims in 1999.\n"
