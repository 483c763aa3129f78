"""QA: scenarios over time. The bundled demoplan holds three days of records; `advance_day()` moves the mock to
the next one and says what changed, tokens keep working, and the app under test brings home exactly those
changes: the new and changed claims in an incremental sync, the removed one in a full sync."""

from datetime import datetime, timezone

import pytest
import requests

from mockpayer.pytest_plugin import MockPayerError
from tests.qa.mirror_app import connect_demo, held, parsed, sync


def of_member(keys: list[str], records: dict) -> set[str]:
    return {key for key in keys if key in records}


def test_each_day_removes_changes_and_adds_claims_and_tokens_survive(mock_payer):
    tokens = mock_payer.login("member1")
    before = mock_payer.records("member1")
    assert mock_payer.day("demoplan") == 1
    moved_at = mock_payer.clock.now()
    changes = mock_payer.advance_day("demoplan")["demoplan"]
    after = mock_payer.records("member1")
    assert (changes["day"], changes["days"], mock_payer.day("demoplan")) == (2, 3, 2)
    new, changed, removed = (of_member(changes["new"], after), of_member(changes["changed"], after),
                             of_member(changes["removed"], before))
    assert len(removed) == len(changed) == 1 and 1 <= len(new) <= 3
    assert set(after) == set(before) - removed | new
    assert {key for key in before if key in after and before[key] != after[key]} == changed
    for key in new | changed:  # stamped with the mock's clock at the advance, whatever the file says
        stamped = datetime.fromisoformat(parsed(after)[key]["meta"]["lastUpdated"].replace("Z", "+00:00"))
        assert stamped >= datetime.fromtimestamp(int(moved_at), timezone.utc)
    [key] = changed
    assert parsed(after)[key]["meta"]["versionId"] == "2"
    for key in removed:  # and the same access token reads the new day
        gone = requests.get(f"{mock_payer.plans['demoplan'].fhir_base}/{key}", headers=tokens.headers, timeout=10)
        assert gone.status_code == 404
    [fresh] = sorted(new)[:1]
    assert requests.get(f"{mock_payer.plans['demoplan'].fhir_base}/{fresh}", headers=tokens.headers,
                        timeout=10).status_code == 200
    mock_payer.advance_day()
    with pytest.raises(MockPayerError, match="409"):
        mock_payer.advance_day()
    assert mock_payer.refresh(tokens).access_token


def test_day_two_reaches_the_mirror_incrementally_then_the_removal_in_a_full_sync(mock_payer, tmp_path):
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    assert sync(data_dir)[0] == 0
    day_one = mock_payer.records("member1")
    assert held(data_dir) == parsed(day_one)

    changes = mock_payer.advance_day("demoplan")["demoplan"]
    day_two = mock_payer.records("member1")
    new, changed, removed = (of_member(changes["new"], day_two), of_member(changes["changed"], day_two),
                             of_member(changes["removed"], day_one))
    before_sync = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    status, report = sync(data_dir)
    assert status == 0 and report["streams"]["$everything"]["mode"] == "incremental"
    claims = report["types"]["ExplanationOfBenefit"]
    assert (claims["new"], claims["changed"], claims["removed"]) == (len(new), len(changed), 0)
    assert sum(row["new"] + row["changed"] for row in report["types"].values()) == len(new | changed)
    brought = held(data_dir, "--since", before_sync)
    assert brought == {key: parsed(day_two)[key] for key in new | changed}

    status, report = sync(data_dir, "--full")
    assert status == 0 and report["types"]["ExplanationOfBenefit"]["removed"] == len(removed) == 1
    assert held(data_dir) == parsed(day_two)
    assert set(held(data_dir, "--include-removed")) == set(day_two) | removed
