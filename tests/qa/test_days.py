"""QA: scenarios over time. The bundled demoplan holds three days of records; `advance_day()` moves the mock to
the next one and says what changed, tokens keep working, and the app under test brings home exactly those
changes with plain syncs: the new and changed claims incrementally, the removed one by the walk's count."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
import requests

from mirror.api import create_app
from mirror.store import Store
from mirror.web.claims import held_claims, is_counted
from mirror.web.money import claim_money
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


def claim_totals(claims) -> tuple[Decimal, Decimal, Decimal]:
    """Billed, plan paid and you owe over claims' Money, as the claims page adds them up."""
    return tuple(sum((getattr(money, name) or Decimal(0) for money in claims), Decimal(0))
                 for name in ("billed", "plan_paid", "you_owe"))


def test_plain_syncs_keep_the_mirror_equal_to_the_plan_day_by_day(mock_payer, tmp_path):
    """Days 1, 2 and 3 with plain `mirror sync` only: new and changed claims come incrementally, the removed one is
    found by the walk's count (FHIR R4 search `_summary=count`, `_elements`) and tombstoned: gone from exports and
    totals, 410 Gone on the mirror's API (FHIR R4 RESTful read of a deleted resource)."""
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    status, report = sync(data_dir)
    assert status == 0 and report["streams"]["$everything"]["removals"] == "walked whole"
    assert held(data_dir) == parsed(mock_payer.records("member1"))
    all_removed: set[str] = set()
    for day in (2, 3):
        before = mock_payer.records("member1")
        changes = mock_payer.advance_day("demoplan")["demoplan"]
        now = mock_payer.records("member1")
        new, changed, removed = (of_member(changes["new"], now), of_member(changes["changed"], now),
                                 of_member(changes["removed"], before))
        assert changes["day"] == day and removed
        status, report = sync(data_dir)
        assert status == 0 and report["streams"]["$everything"]["mode"] == "incremental"
        assert report["streams"]["$everything"]["removals"] == "listed"
        claims = report["types"]["ExplanationOfBenefit"]
        assert (claims["new"], claims["changed"], claims["removed"]) == (len(new), len(changed), len(removed))
        assert held(data_dir) == parsed(now)
        all_removed |= removed
        assert set(held(data_dir, "--include-removed")) == set(now) | all_removed

        api = create_app(data_dir).test_client()
        for key in removed:
            assert api.get(f"/fhir/{key}").status_code == 410
        with Store(data_dir, read_only=True) as store:
            mirrored = {claim.id: claim.money for _, claim in held_claims(store, ["demo"])}
        expected = {resource["id"]: claim_money(resource) for key, resource in parsed(now).items()
                    if key.startswith("ExplanationOfBenefit/") and is_counted(resource)}
        assert mirrored == expected and not {key.split("/")[1] for key in all_removed} & set(mirrored)
        assert claim_totals(mirrored.values()) == claim_totals(expected.values())

    status, report = sync(data_dir)  # nothing changed: the count agrees, no listing
    assert status == 0 and report["streams"]["$everything"]["removals"] == "counted"
    assert sum(row["removed"] for row in report["types"].values()) == 0


def test_a_sync_with_nothing_changed_asks_one_count_per_walk(mock_payer, tmp_path):
    """A no-change plain sync costs the incremental page and one `_summary=count` request per walk, counted at the
    mock (through a fault rule that never fires: it starts at request 10,000)."""
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    assert sync(data_dir)[0] == 0
    mock_payer.faults("demoplan", server_error={"status": 503, "from": 10_000})
    status, report = sync(data_dir)
    assert status == 0 and report["streams"]["$everything"]["removals"] == "counted"
    assert report["streams"]["$everything"]["pages"] == 1
    assert sum(row["removed"] for row in report["types"].values()) == 0
    assert mock_payer.fault_report()["demoplan"]["requests"]["api"] == 2  # the incremental page, the count


def test_a_truncated_count_answer_is_asked_for_again(mock_payer, tmp_path):
    """SY-1, SY-6: the `_summary=count` answer comes back cut short once: asked for again like any garbled body, so
    the walk is still checked by its count, not by listing every id."""
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    assert sync(data_dir)[0] == 0
    mock_payer.faults("demoplan", truncate={"from": 2, "times": 1})  # the second request: the count
    status, report = sync(data_dir)
    assert status == 0 and report["streams"]["$everything"]["removals"] == "counted"
    assert mock_payer.fault_report()["demoplan"]["hits"]["truncate"] == 1
    assert mock_payer.fault_report()["demoplan"]["requests"]["api"] == 3  # the incremental page, the count twice
