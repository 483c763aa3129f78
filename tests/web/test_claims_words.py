"""Claims in plain words: kinds, dates, names and the money, from real CARIN examples and our own claims."""

import json
from decimal import Decimal

import pytest

from mirror.web.claims import line_summaries, summarize
from mirror.web.money import claim_money, yearly_totals
from tests.example_data import example_folder


@pytest.fixture(scope="module")
def carin():
    folder = example_folder("carin-bb-2.0.0")
    found = {}
    for path in folder.glob("*.json"):
        resource = json.loads(path.read_text())
        found[(resource["resourceType"], resource["id"])] = resource
    return found


def test_every_carin_kind_is_named(carin):
    kinds = {summarize(r, lambda t, i: carin.get((t, i))).kind
             for (t, _), r in carin.items() if t == "ExplanationOfBenefit"}
    assert kinds == {"inpatient", "outpatient", "professional", "pharmacy", "oral"}


def test_inpatient_claim_in_plain_words(carin):
    claim = summarize(carin[("ExplanationOfBenefit", "EOBInpatient2")], lambda t, i: carin.get((t, i)))
    assert claim.kind_label == "Hospital stay (inpatient)"
    assert claim.provider == "Green Medical Group"  # resolved from the referenced Organization
    assert claim.money.billed == Decimal("7147.2") and claim.money.you_owe == Decimal("0")
    assert claim.money.plan_paid == Decimal("1393.57") and claim.year == 2017


def test_member_share_is_summed_when_no_liability_total():
    eob = {"total": [
        {"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 100}},
        {"category": {"coding": [{"code": "deductible"}]}, "amount": {"value": 20}},
        {"category": {"coding": [{"code": "copay"}]}, "amount": {"value": 5.5}},
    ]}
    money = claim_money(eob)
    assert money.billed == Decimal("100") and money.you_owe == Decimal("25.5") and money.allowed is None


def test_lines_carry_their_own_money_and_years_add_up():
    eob = {"resourceType": "ExplanationOfBenefit", "id": "e", "billablePeriod": {"start": "2023-05-02"},
           "item": [{"sequence": n, "servicedDate": "2023-05-02",
                     "productOrService": {"coding": [{"display": f"service {n}"}]},
                     "adjudication": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 10.10}},
                                      {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": 8}}]}
                    for n in (1, 2)]}
    lines = line_summaries(eob)
    assert [line.service for line in lines] == ["service 1", "service 2"]
    assert lines[0].money.billed == Decimal("10.1") and lines[0].date == "2023-05-02"
    claim = summarize(eob, lambda t, i: None)
    assert claim.money.billed == Decimal("20.2") and claim.money.plan_paid == Decimal("16")
    assert yearly_totals([(claim.year, claim.money)] * 2)[2023].sums["billed"] == Decimal("40.4")


@pytest.mark.parametrize("broken", [{}, {"item": "nope", "total": [None, 3]}, {"provider": "x", "careTeam": [1]},
                                    {"billablePeriod": {"start": 2020}, "diagnosis": [{"diagnosisCodeableConcept": 5}]}])
def test_broken_claims_do_not_crash_the_page(broken):
    claim = summarize({"resourceType": "ExplanationOfBenefit", "id": "b", **broken}, lambda t, i: None)
    assert claim.provider == "Unknown provider" and claim.money.billed is None
