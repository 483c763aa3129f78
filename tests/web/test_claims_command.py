"""`mirror claims` and the claim pages tell the same money: the command's JSON and CSV against each claim's page
for a demo member connected and synced from the mock for real; and what neither counts (removed claims, prior
authorizations), partial years and the deductible / out-of-pocket bars, from stores written here."""

import csv
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from html import unescape

import pytest

from mirror.api import create_app
from mirror.http.closed_pipe import CLOSED_PIPE
from tests.mirror.stores import fill, remove
from tests.web.conftest import run_mirror

COLUMNS = ["source", "id", "kind", "start", "end", "provider", "billed", "allowed", "plan_paid", "you_owe",
           "deductible", "copay", "coinsurance", "noncovered", "network", "status", "outcome"]
PAGE_CELLS = {"billed": "billed", "allowed": "allowed", "plan_paid": "paid", "you_owe": "owed",
              "deductible": "deductible", "copay": "copay", "coinsurance": "coinsurance", "noncovered": "noncovered"}


def _page_amount(html: str, css: str) -> str | None:
    """The amount in the page's cell of class `css`, as the command writes it; None for "not stated" or no cell
    (the page shows the split of what you owe only where the claim states it)."""
    found = re.search(rf'<td class="number (?:{css})"[^>]*>(.*?)</td>', html)
    if found is None or "not stated" in found.group(1):
        return None
    return str(Decimal(re.sub(r"<[^>]+>", "", found.group(1)).strip().lstrip("$").replace(",", "")))


def test_claims_json_and_csv_equal_every_claim_page_of_the_demo_member(synced):
    rows = json.loads(run_mirror("claims", "--json", data_dir=synced).stdout)
    assert rows and all(list(row) == COLUMNS for row in rows)
    pages = create_app(synced).test_client()
    listed = re.findall(r'data-claim="([^"]+)"', pages.get("/claims").get_data(as_text=True))
    assert [row["id"] for row in rows] == listed  # the same claims, in the same order
    for row in rows:
        html = unescape(pages.get(f"/claims/{row['source']}/{row['id']}").get_data(as_text=True))
        for name, css in PAGE_CELLS.items():
            assert _page_amount(html, css) == row[name], (row["id"], name)
            assert row[name] is None or re.fullmatch(r"-?\d+\.\d\d", row[name])
        network = re.search(r'<dd class="network">(.*?)</dd>', html)
        assert (network.group(1).lower().replace(" ", "-") if network else None) == row["network"]
        assert f'<dd class="provider">{row["provider"]}</dd>' in html
    assert any(row["you_owe"] not in (None, "0.00") for row in rows)
    table = list(csv.DictReader(io.StringIO(run_mirror("claims", "--csv", data_dir=synced).stdout)))
    assert table == [{key: "" if value is None else value for key, value in row.items()} for row in rows]
    year = rows[-1]["start"][:4]
    in_year = json.loads(run_mirror("claims", "demo", "--year", year, "--json", data_dir=synced).stdout)
    assert in_year == [row for row in rows if row["start"].startswith(year)]
    readable = run_mirror("claims", data_dir=synced).stdout
    assert f"{len(rows)} claims" in readable and rows[0]["provider"] in readable


@pytest.mark.parametrize("args, message", [
    (("claims", "nosuchplan"), "no records from a plan named 'nosuchplan'"),
    (("claims", "--year", "24"), "--year wants a year such as 2024"),
    (("claims", "--year", "２０２４"), "--year wants a year such as 2024"),
])
def test_claims_command_errors_are_one_line_and_exit_1(tmp_path, args, message):
    fill(tmp_path, "demo", [json.dumps(_eob("e1", "2024-02-01", 100))])
    result = run_mirror(*args, data_dir=tmp_path, check=False)
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_claims_command_without_a_store_says_so(tmp_path):
    result = run_mirror("claims", data_dir=tmp_path / "empty", check=False)
    assert result.returncode == 1 and "no records are stored" in result.stderr and "Traceback" not in result.stderr


def test_claims_command_into_a_closed_pipe_ends_without_a_traceback(tmp_path):
    """`mirror claims | head`: the reader goes away first; the command stops quietly."""
    fill(tmp_path, "demo", [json.dumps(_eob(f"e{n}", "2024-02-01", n)) for n in range(50)])
    process = subprocess.Popen([sys.executable, "-m", "mirror.cli", "--data-dir", str(tmp_path), "claims", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # nobody will read
    _, errors = process.communicate(timeout=120)
    assert b"Traceback" not in errors and b"BrokenPipeError" not in errors, errors.decode()
    assert process.returncode == CLOSED_PIPE


def _eob(eob_id, start, billed=None, use="claim", balances=None, created=None):
    eob = {"resourceType": "ExplanationOfBenefit", "id": eob_id, "status": "active", "use": use,
           "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
           "patient": {"reference": "Patient/p1"}, "billablePeriod": {"start": start, "end": start},
           "created": created or f"{start}T12:00:00Z", "outcome": "complete",
           "provider": {"display": "Dr. Example"}, "insurer": {"display": "Plan"},
           "insurance": [{"focal": True, "coverage": {"display": "Plan"}}]}
    if billed is not None:
        eob["total"] = [{"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                                  "code": "submitted"}]}, "amount": {"value": billed, "currency": "USD"}}]
    if balances:
        eob["benefitBalance"] = balances
    return eob


def test_totals_count_neither_removed_claims_nor_prior_authorizations_and_say_when_partial(tmp_path):
    """A removed claim (the plan deleted it) and a prior authorization (PDex, EOB.use = preauthorization) are in
    no list and no total; a year with a claim that states no amount shows a partial total, not $0.00."""
    fill(tmp_path, "demo", [json.dumps(eob) for eob in (
        _eob("kept", "2024-03-01", 100), _eob("silent", "2024-04-01"), _eob("deleted", "2024-05-01", 1000),
        _eob("asked", "2024-06-01", 5000, use="preauthorization"), _eob("only-silent", "2023-04-01"))])
    remove(tmp_path, "demo", "ExplanationOfBenefit", "deleted")
    client = create_app(tmp_path).test_client()
    html = client.get("/claims").get_data(as_text=True)
    assert re.findall(r'data-claim="([^"]+)"', html) == ["silent", "kept", "only-silent"]
    year_2024 = re.search(r'<tr data-year="2024">(.*?)</tr>', html, re.S).group(1)
    billed = re.sub(r"<[^>]+>", " ", re.search(r'<td class="number billed"[^>]*>(.*?)</td>', year_2024).group(1))
    assert billed.split() == ["$100.00", "partial:", "1", "of", "2", "claims", "not", "stated"]
    year_2023 = re.search(r'<tr data-year="2023">(.*?)</tr>', html, re.S).group(1)
    assert "$0.00" not in year_2023 and "not stated" in year_2023
    rows = json.loads(run_mirror("claims", "--json", data_dir=tmp_path).stdout)
    assert [(row["id"], row["billed"]) for row in rows] == [("silent", None), ("kept", "100.00"), ("only-silent", None)]
    removed_page = client.get("/claims/demo/deleted").get_data(as_text=True)
    assert "no longer has this claim" in removed_page


def _balance(network, deductible, used_deductible, oop, used_oop):
    money = lambda value: {"value": value, "currency": "USD"}  # noqa: E731 - a one-line shorthand for the rows below
    return {"category": {"coding": [{"code": "30", "display": "Health Benefit Plan Coverage"}]},
            "network": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-network", "code": network}]},
            "unit": {"coding": [{"code": "individual", "display": "Individual"}]},
            "term": {"coding": [{"code": "annual", "display": "Annual"}]},
            "financial": [
                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "deductible",
                                      "display": "Deductible"}]},
                 "allowedMoney": money(deductible), "usedMoney": money(used_deductible)},
                {"type": {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pct/CodeSystem/PCTFinancialType",
                                      "code": "out-of-pocket-maximum", "display": "Out-of-Pocket Maximum"}]},
                 "allowedMoney": money(oop), "usedMoney": money(used_oop)}]}


def test_deductible_and_out_of_pocket_bars_from_benefit_balance(tmp_path):
    """CARIN benefitBalance: the highest year-to-date balance of each year speaks for it, per network; with no
    year chosen the latest year's bars show, out-of-network ones only if used or a claim of the year was out of
    network; CMS's per-claim `usedMoney` entries (no allowed amount) make no bar."""
    cms_only = {"financial": [{"type": {"coding": [{"code": "https://bluebutton.cms.gov/resources/variables/"
                                                             "nch_bene_ptb_ddctbl_amt"}]}, "usedMoney": {"value": 5}}]}
    fill(tmp_path, "demo", [json.dumps(eob) for eob in (
        _eob("jan", "2024-01-10", 100, balances=[_balance("in", 1500, 400, 6000, 450), _balance("out", 3000, 0, 12000, 0)]),
        _eob("mar", "2024-03-10", 100, balances=[_balance("in", 1500, 1500, 6000, 1720.5), cms_only]),
        _eob("old", "2023-05-10", 100, balances=[_balance("in", 1000, 1000, 5000, 5000)]))])
    client = create_app(tmp_path).test_client()

    def bars(query):
        html = client.get(f"/claims{query}").get_data(as_text=True)
        return html, re.findall(r'<div class="progress" data-year="(\d+)" data-network="([^"]*)" data-name="([^"]+)">'
                                r'.*?<meter class="bar" min="0" max="([\d.]+)" value="([\d.]+)"', html, re.S)

    html, latest = bars("")
    assert latest == [
        ("2024", "In network", "Deductible", "1500", "1500"),
        ("2024", "In network", "Out-of-pocket maximum", "6000", "1720.5"),
    ]
    assert "$4,279.50 left" in re.sub(r"<[^>]+>", "", html)  # 6000 - 1720.50
    assert bars("?year=2023")[1] == [("2023", "In network", "Deductible", "1000", "1000"),
                                     ("2023", "In network", "Out-of-pocket maximum", "5000", "5000")]
