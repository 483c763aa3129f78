"""The rules behind the health and prior authorization pages, one shape at a time: how a PDex prior
authorization's decision is read, how a lab's flag is chosen, and the trend chart's geometry at its edges."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from mirror.web.charts import Point, trend_chart
from mirror.web.lab_names import lab_name
from mirror.web.labs import lab_sections
from mirror.web.priorauth import prior_authorizations
from mirror.web.readable import display, status_words, without_semantic_tag
from tests.web.health_records import glucose, prior_auth, review_action


def _adjudication(*extensions: dict, category: str = "submitted", **extra) -> dict:
    return {"category": {"coding": [{"code": category}]}, "extension": list(extensions), **extra}


def _decision(eob: dict) -> tuple[str, str]:
    (found,) = prior_authorizations([("plan", eob)], lambda source: lambda *_: None)
    return found.decision.key, found.decision.words


@pytest.mark.parametrize(("eob", "expected"), [
    # X12 306 review action on the line (PDex item.adjudication.extension[reviewAction])
    (prior_auth("a", "2024-01-01", "MRI", item={"adjudication": [_adjudication(review_action("A2", "Partial"))]}),
     ("partly", "Partly approved")),
    (prior_auth("a", "2024-01-01", "MRI", item={"adjudication": [_adjudication(review_action("A4", "Pended"))]}),
     ("pending", "Pending")),
    (prior_auth("a", "2024-01-01", "MRI", item={"adjudication": [_adjudication(review_action("CT", "Contact"))]}),
     ("pending", "Pending: the plan asks your provider to contact it")),
    # on the whole request (PDex header adjudication), which outranks the lines
    (prior_auth("a", "2024-01-01", "MRI", adjudication=[_adjudication(review_action("A3", "Not certified"))],
                item={"adjudication": [_adjudication(review_action("A1", "Certified"))]}), ("denied", "Denied")),
    # no review action: the outcome, a denial reason, an authorization number
    (prior_auth("a", "2024-01-01", "MRI", outcome="queued"), ("pending", "Pending")),
    (prior_auth("a", "2024-01-01", "MRI", outcome="error"), ("error", "Could not be processed")),
    (prior_auth("a", "2024-01-01", "MRI", item={"adjudication": [
        _adjudication(category="denialreason", reason={"coding": [{"code": "50"}]})]}), ("denied", "Denied")),
    (prior_auth("a", "2024-01-01", "MRI", preAuthRef=["PA-1"]), ("approved", "Approved")),
    (prior_auth("a", "2024-01-01", "MRI"), ("unstated", "Decided (the plan does not say how)")),
    ({**prior_auth("a", "2024-01-01", "MRI", preAuthRef=["PA-1"]), "status": "cancelled"}, ("cancelled", "Cancelled")),
])
def test_the_decision_comes_from_the_most_specific_statement(eob, expected):
    """Da Vinci PDex Prior Authorization: reviewAction (X12 306) on the request, then on its lines, then the
    EOB outcome, a denialreason adjudication, and preAuthRef (an authorization number only approvals carry)."""
    assert _decision(eob) == expected


def test_two_lines_one_approved_one_denied_are_partly_approved():
    eob = prior_auth("a", "2024-01-01", "MRI", item={"adjudication": [_adjudication(review_action("A1", "OK"))]})
    eob["item"].append({"sequence": 2, "productOrService": {"text": "Contrast"},
                        "adjudication": [_adjudication(review_action("A3", "No", reason="Not medically necessary"))]})
    (found,) = prior_authorizations([("plan", eob)], lambda source: lambda *_: None)
    assert found.decision.key == "partly"
    assert [line.decision.words for line in found.services] == ["Approved", "Denied"]
    assert found.reasons == ["Not medically necessary"]


def test_claims_are_not_prior_authorizations():
    claim = {**prior_auth("c", "2024-01-01", "MRI"), "use": "claim"}
    assert prior_authorizations([("plan", claim)], lambda source: lambda *_: None) == []


def test_the_labs_flag_wins_over_the_range_and_units_must_agree():
    """The lab's own interpretation (v3 ObservationInterpretation) is shown as sent, even inside the range;
    a range in another unit is never compared."""
    normal_but_flagged = glucose("g1", "2024-01-01", 90, "A")
    other_unit = {**glucose("g2", "2024-02-01", 250), "referenceRange": [
        {"low": {"value": 3.9, "unit": "mmol/L"}, "high": {"value": 5.5, "unit": "mmol/L"}}]}
    (test,) = lab_sections([("plan", normal_but_flagged), ("plan", other_unit)])["Lab results"]
    flags = {result.id: result.flag for result in test.results}
    assert flags["g1"].words == "Abnormal" and not flags["g1"].computed
    assert flags["g2"] is None


def _at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=timezone.utc)


def test_a_chart_needs_two_points_and_spreads_one_day_in_the_middle():
    one = [Point(_at(1), "2024-01-01", Decimal(5), "5")]
    assert trend_chart("t", "d", {"Value": one}) is None
    same_day = [Point(_at(1), "2024-01-01", Decimal(5), "5"), Point(_at(1), "2024-01-01", Decimal(7), "7")]
    chart = trend_chart("t", "d", {"Value": same_day})
    assert [tick.label for tick in chart.date_ticks] == ["2024-01-01"]
    assert {point.x for point in chart.series[0].points} == {(chart.left + chart.right) / 2}


def test_flat_and_negative_values_get_a_readable_scale():
    flat = [Point(_at(day), f"2024-01-0{day}", Decimal(0), "0") for day in (1, 2)]
    chart = trend_chart("t", "d", {"Value": flat})
    labels = [Decimal(tick.label) for tick in chart.value_ticks]
    assert labels[0] <= 0 <= labels[-1] and len(labels) >= 2
    falling = [Point(_at(1), "2024-01-01", Decimal("-2.5"), "-2.5"), Point(_at(9), "2024-01-09", Decimal("1.25"), "")]
    chart = trend_chart("t", "d", {"Value": falling}, normal={"Value": (Decimal(-1), Decimal(1))})
    labels = [Decimal(tick.label) for tick in chart.value_ticks]
    assert labels[0] <= Decimal("-2.5") and labels[-1] >= Decimal("1.25") and 2 <= len(labels) <= 6
    ((_, top, height),) = [(band.series, band.top, band.height) for band in chart.bands]
    assert chart.top <= top and top + height <= chart.bottom and height > 0


@pytest.mark.parametrize(("low", "high"), [("5e-324", "1e-323"), ("-1.7e308", "1.7e308")])
def test_a_span_no_float_can_draw_gives_no_chart(low, high):
    """Values whose span underflows or overflows a float: no chart rather than a 500 or a loop that never ends."""
    points = [Point(_at(1), "2024-01-01", Decimal(low), low), Point(_at(2), "2024-01-02", Decimal(high), high)]
    assert trend_chart("t", "d", {"Value": points}) is None


def test_values_apart_only_past_a_floats_precision_get_a_bounded_scale():
    """Two readings one apart at the 31st digit (the loop that stepped the ticks never reached the top): the
    ticks are counted, two to six of them."""
    points = [Point(_at(1), "2024-01-01", Decimal("1" + "0" * 30), ""),
              Point(_at(2), "2024-01-02", Decimal("1" + "0" * 26 + "1000"), "")]
    chart = trend_chart("t", "d", {"Value": points})
    assert 2 <= len(chart.value_ticks) <= 6


def test_only_entered_in_error_is_left_out_and_a_cancelled_result_is_shown_not_charted():
    """FHIR R4 observation-status: entered-in-error never existed (left out); cancelled is a test not done,
    shown with its status but never charted, as it measured nothing."""
    held = [glucose("g1", "2024-01-01", 90), glucose("g2", "2024-02-01", 95),
            {**glucose("g3", "2024-03-01", 400), "status": "cancelled"},
            {**glucose("g4", "2024-04-01", 999), "status": "entered-in-error"}]
    (test,) = lab_sections([("plan", record) for record in held])["Lab results"]
    assert [(result.id, result.status) for result in test.results] == [("g3", "cancelled"), ("g2", None),
                                                                       ("g1", None)]
    assert [point.label for point in test.chart.series[0].points] == ["90 mg/dL", "95 mg/dL"]


@pytest.mark.parametrize(("concept", "name"), [
    ({"coding": [{"system": "http://loinc.org", "code": "2093-3",
                  "display": "Cholesterol [Mass/volume] in Serum or Plasma"}],
      "text": "Cholesterol [Mass/volume] in Serum or Plasma"}, "Total cholesterol"),  # text copying the display
    ({"coding": [{"system": "http://loinc.org", "code": "2093-3"}], "text": "Chol, total"}, "Chol, total"),
    ({"coding": [{"system": "http://loinc.org", "code": "777-3",
                  "display": "Platelets [#/volume] in Blood by Automated count"}]}, "Platelets"),
    ({"coding": [{"system": "http://loinc.org", "code": "1-8", "display": "Acyclovir [Susceptibility]"}]},
     "Acyclovir"),
    ({"coding": [{"system": "http://example.org", "code": "2093-3", "display": "Local test"}]}, "Local test"),
])
def test_a_lab_is_named_by_its_text_then_a_plain_name_then_its_display_without_brackets(concept, name):
    """code.text a person wrote wins; LOINC's long names give way to common names, else lose their
    bracketed property ("[Mass/volume]"); a code of another system is never looked up as LOINC."""
    assert lab_name(concept) == name


@pytest.mark.parametrize(("term", "plain"), [
    ("Encounter for problem (procedure)", "Encounter for problem"), ("Hypertension (disorder)", "Hypertension"),
    ("Full-time employment (finding)", "Full-time employment"), ("Knee (total knee arthroplasty)", None),
    ("Stress (finding) at work", None),
])
def test_snomed_semantic_tags_are_left_off(term, plain):
    """SNOMED CT fully specified names end with a semantic tag naming the hierarchy; a patient reads the term."""
    assert without_semantic_tag(term) == (plain or term)
    assert display({"coding": [{"system": "http://snomed.info/sct", "display": term}]}) == (plain or term)


def test_status_codes_read_as_words():
    assert status_words("Immunization", "completed") == "Given"
    assert status_words("Procedure", "completed") == "Completed"
    assert status_words("Encounter", "in-progress") == "In progress"
    assert status_words("Condition", "remission") == "In remission"
