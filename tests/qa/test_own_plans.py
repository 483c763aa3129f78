"""QA: a suite that serves its own plans. Overriding `mock_payer_fixtures` points the plugin's mock at a folder
of plan folders: here one the generator writes (two days), plus a third day written by hand the way a QA
engineer stages a scenario: one file with the claim that changes, and the list of what is gone."""

import json

import pytest

from mockpayer.generate import write_plan


@pytest.fixture(scope="module")
def mock_payer_fixtures(tmp_path_factory):
    plans = tmp_path_factory.mktemp("plans")
    write_plan(plans / "tinyplan", system_id="tinyplan", name="Tiny Plan", base_url="tiny.example", members=1,
               claims_per_member=4, seed=11, days=2)
    claim = next(entry["resource"] for entry in
                 json.loads((plans / "tinyplan" / "data" / "member-1.json").read_text())["entry"]
                 if entry["resource"]["id"] == "tinyplan-m1-eob1")
    day_three = plans / "tinyplan" / "days" / "3"
    (day_three / "data").mkdir(parents=True)
    claim["status"] = "cancelled"
    claim["meta"]["versionId"] = "9"
    (day_three / "data" / "cancelled-claim.json").write_text(json.dumps(claim))
    (day_three / "removed.json").write_text('["Coverage/tinyplan-m1-coverage"]')
    return plans


def test_the_mock_serves_only_the_suites_own_plan(mock_payer):
    assert list(mock_payer.plans) == ["tinyplan"]
    assert mock_payer.login("tinyplan-member1").patient == "tinyplan-m1"  # generated names follow the system id


def test_a_hand_written_day_follows_the_generated_ones(mock_payer):
    generated = mock_payer.advance_day()["tinyplan"]
    assert generated["day"] == 2 and len(generated["removed"]) == len(generated["changed"]) == 1
    by_hand = mock_payer.advance_day()["tinyplan"]
    assert by_hand == {"day": 3, "days": 3, "new": [], "changed": ["ExplanationOfBenefit/tinyplan-m1-eob1"],
                       "removed": ["Coverage/tinyplan-m1-coverage"]}
    served = json.loads(mock_payer.records("tinyplan-member1")["ExplanationOfBenefit/tinyplan-m1-eob1"])
    assert (served["status"], served["meta"]["versionId"]) == ("cancelled", "9")
    assert "Coverage/tinyplan-m1-coverage" not in mock_payer.records("tinyplan-member1")
