"""What the store keeps and answers.

Replace-not-merge upserts, change by content, history, tombstones, identity by (source, type, id), sync state in the
same write as its data, runs, and the read API.

Every store here is a real file in a temporary folder.
"""

import decimal
import json
from datetime import datetime, timezone

import pytest

from mirror.store import (
    InvalidResource,
    ReadOnlyStore,
    Store,
    StoreError,
    SyncState,
)


def patient(patient_id="p1", family="Zoë", **extra):
    return {"resourceType": "Patient", "id": patient_id, "name": [{"family": family}], **extra}


def eob(eob_id, patient_id="p1", last_updated="2024-03-01T10:00:00Z", total="100.50"):
    return (
        '{"resourceType":"ExplanationOfBenefit","id":"%s","meta":{"lastUpdated":"%s"},'
        '"patient":{"reference":"Patient/%s"},"total":[{"amount":{"value":%s}}]}'
        % (eob_id, last_updated, patient_id, total)
    )


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data", commit_interval=0) as opened:
        yield opened


@pytest.fixture
def run(store):
    return store.begin_run("plan-a")


def test_new_changed_unchanged_counts_and_text_kept_exactly(store, run):
    text = eob("e1")
    first = store.commit_page("plan-a", [text, patient()], run_id=run)
    assert (first.new, first.changed, first.unchanged, first.written) == (2, 0, 0, True)
    again = store.commit_page("plan-a", [text, patient()], run_id=run)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)
    stored = store.get("plan-a", "ExplanationOfBenefit", "e1")
    assert stored.text == text  # not re-serialised: 100.50 keeps its zero
    assert stored.version == 1 and stored.patient_ids == ("p1",) and stored.run_id == run


def test_replace_does_not_merge_stale_elements(store, run):
    """A merging upsert would let a dropped element survive a re-sync; the store replaces."""
    store.commit_page("plan-a", [patient(deceasedBoolean=True)], run_id=run)
    store.commit_page("plan-a", [patient()], run_id=run)
    assert "deceasedBoolean" not in store.get("plan-a", "Patient", "p1").resource()


def test_change_is_detected_by_content_not_last_updated(store, run):
    store.commit_page("plan-a", [eob("e1", total="10.0")], run_id=run)
    result = store.commit_page("plan-a", [eob("e1", total="20.0")], run_id=run)  # same meta.lastUpdated
    assert (result.changed, result.unchanged) == (1, 0)
    versions = store.history("plan-a", "ExplanationOfBenefit", "e1")
    assert [v.version for v in versions] == [2, 1]
    assert '"value":20.0' in versions[0].text and '"value":10.0' in versions[1].text
    assert versions[0].superseded_at is None and versions[1].superseded_at is not None


def test_same_type_and_id_from_two_sources_are_two_resources(store):
    run_a, run_b = store.begin_run("plan-a"), store.begin_run("plan-b")
    store.commit_page("plan-a", [patient(family="Alpha")], run_id=run_a)
    store.commit_page("plan-b", [patient(family="Beta")], run_id=run_b)
    assert store.get("plan-a", "Patient", "p1").resource()["name"][0]["family"] == "Alpha"
    assert store.get("plan-b", "Patient", "p1").resource()["name"][0]["family"] == "Beta"
    assert store.sources() == ["plan-a", "plan-b"]
    assert len(store.search("Patient")) == 2 and len(store.search("Patient", source="plan-b")) == 1


def test_removed_resources_are_tombstoned_never_deleted(store, run):
    store.commit_page("plan-a", [eob("e1"), eob("e2")], run_id=run)
    assert store.mark_removed("plan-a", "ExplanationOfBenefit", ["e2", "unknown"], run_id=run) == 1
    tombstone = store.get("plan-a", "ExplanationOfBenefit", "e2")
    assert tombstone.removed and tombstone.removed_run_id == run and tombstone.text == eob("e2")
    assert [r.id for r in store.search("ExplanationOfBenefit")] == ["e1"]
    assert len(store.search("ExplanationOfBenefit", include_removed=True)) == 2
    assert store.ids("plan-a", "ExplanationOfBenefit") == {"e1"}
    assert store.counts() == {"ExplanationOfBenefit": 1}
    assert store.mark_removed("plan-a", "ExplanationOfBenefit", ["e2"], run_id=run) == 0  # already removed


def test_a_removed_resource_that_returns_is_a_new_version(store, run):
    store.commit_page("plan-a", [eob("e1")], run_id=run)
    store.mark_removed("plan-a", "ExplanationOfBenefit", ["e1"], run_id=run)
    result = store.commit_page("plan-a", [eob("e1")], run_id=run)
    assert result.changed == 1
    current, tombstone = store.history("plan-a", "ExplanationOfBenefit", "e1")
    assert not current.removed and current.version == 2 and tombstone.removed


def test_changes_since_a_time_and_in_a_run(store):
    first_run = store.begin_run("plan-a")
    store.commit_page("plan-a", [eob("e1"), eob("e2"), eob("e3")], run_id=first_run)
    store.finish_run(first_run)
    between = datetime.now(timezone.utc)
    second_run = store.begin_run("plan-a")
    store.commit_page("plan-a", [eob("e1"), eob("e2", total="1.0"), eob("e4")], run_id=second_run)
    store.mark_removed("plan-a", "ExplanationOfBenefit", ["e3"], run_id=second_run)
    expected = {("changed", "e2"), ("new", "e4"), ("removed", "e3")}
    assert {(c.kind, c.resource.id) for c in store.changes(since=between)} == expected
    assert {(c.kind, c.resource.id) for c in store.changes(run_id=second_run)} == expected
    # e2's current version came later; e3's current text did arrive in the first run (and left in the second)
    assert {(c.kind, c.resource.id) for c in store.changes(run_id=first_run)} == {("new", "e1"), ("new", "e3")}
    assert store.changes(since=between, source="plan-b") == []


def test_search_by_patient_and_last_updated(store, run):
    store.commit_page("plan-a", [
        eob("e1", "p1", "2024-01-01T00:00:00Z"),
        eob("e2", "p1", "2024-02-01T00:00:00.1234567+01:00"),
        eob("e3", "p2", "2024-03-01"),
        eob("e4", "p1", "not a date"),
    ], run_id=run)
    assert [r.id for r in store.search("ExplanationOfBenefit", patient_id="p1")] == ["e1", "e2", "e4"]
    since = datetime(2024, 1, 15, tzinfo=timezone.utc)
    assert [r.id for r in store.search("ExplanationOfBenefit", updated_from=since)] == ["e2", "e3"]
    assert [r.id for r in store.search("ExplanationOfBenefit", patient_id="p1", updated_from=since)] == ["e2"]
    assert [r.id for r in store.search("ExplanationOfBenefit", updated_to=since)] == ["e1"]
    store.commit_page("plan-a", [eob("e1", "p2", "2024-06-01T00:00:00Z")], run_id=run)  # moves patient and time
    assert [r.id for r in store.search("ExplanationOfBenefit", patient_id="p1")] == ["e2", "e4"]
    assert [r.id for r in store.search("ExplanationOfBenefit", updated_from=since)] == ["e1", "e2", "e3"]
    assert store.search("Claim") == [] and store.get("plan-a", "Claim", "e1") is None


def test_sync_state_is_committed_in_the_same_write_as_its_page(tmp_path):
    """With batching, a staged page and its checkpoint reach the file together or not at all (DESIGN)."""
    with Store(tmp_path, commit_interval=3600) as writer:
        run = writer.begin_run("plan-a")
        writer.flush()
        state = SyncState("ExplanationOfBenefit", next_url="https://payer/r4/EOB?page=2", high_water="2024-05-01")
        result = writer.commit_page("plan-a", [eob("e1")], run_id=run, sync_state=state)
        assert not result.written
        reader = Store(tmp_path, read_only=True)
        assert reader.get("plan-a", "ExplanationOfBenefit", "e1") is None
        assert reader.sync_state("plan-a", "ExplanationOfBenefit") is None
        assert writer.flush()
        assert reader.get("plan-a", "ExplanationOfBenefit", "e1") is not None
        stored_state = reader.sync_state("plan-a", "ExplanationOfBenefit")
        assert (stored_state.next_url, stored_state.high_water, stored_state.run_id) == (state.next_url, "2024-05-01", run)
        assert [s.resource_type for s in reader.sync_states("plan-a")] == ["ExplanationOfBenefit"]


def test_runs_record_counts_errors_and_interruptions(tmp_path):
    with Store(tmp_path, commit_interval=0) as store:
        cut_short = store.begin_run("plan-a")
        store.commit_page("plan-a", [eob("e1")], run_id=cut_short)
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan-a")
        store.commit_page("plan-a", [eob("e1"), eob("e2")], run_id=run)
        store.mark_removed("plan-a", "ExplanationOfBenefit", ["e1"], run_id=run)
        finished = store.finish_run(run, status="partial", errors=["Claim: HTTP 500 after 3 tries"])
        assert (finished.new, finished.unchanged, finished.removed, finished.status) == (1, 1, 1, "partial")
        assert finished.errors == ("Claim: HTTP 500 after 3 tries",) and finished.ended_at is not None
        newest, oldest = store.runs("plan-a")
        assert newest.run_id == run and oldest.run_id == cut_short and oldest.status == "interrupted"
        with pytest.raises(StoreError, match="no sync run"):
            store.commit_page("plan-a", [eob("e3")], run_id="made-up")
        with pytest.raises(StoreError, match="complete, partial, failed"):
            store.finish_run(run, status="done")


def test_invalid_resources_are_refused_with_nothing_from_the_page_stored(store, run):
    for bad, reason in [
        ({"resourceType": "Patient", "id": "../x"}, "valid FHIR id"),
        ({"resourceType": "Patient"}, "valid FHIR id"),
        ({"id": "x"}, "resourceType"),
        ("[1, 2]", "not an object"),
        (b"\xff", "not valid JSON"),
        (42, "not JSON text"),
    ]:
        with pytest.raises(InvalidResource, match=reason) as raised:
            store.commit_page("plan-a", [eob("ok"), bad], run_id=run)
        assert raised.value.index == 1
    assert store.get("plan-a", "ExplanationOfBenefit", "ok") is None


def test_decimals_parsed_as_decimal_keep_their_digits(store, run):
    resource = json.loads(eob("e1", total="100.50"), parse_float=decimal.Decimal)
    store.commit_page("plan-a", [resource], run_id=run)
    assert '"value":100.50' in store.get("plan-a", "ExplanationOfBenefit", "e1").text


def test_new_content_waits_unvalidated_until_its_findings_are_recorded(tmp_path):
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan-a")
        page = store.commit_page("plan-a", [{"resourceType": "Observation", "id": "o1"}, patient()], run_id=run)
        observation = store.get("plan-a", "Observation", "o1")
        assert set(page.new_versions) == {("Observation", "o1", observation.content_hash),
                                          ("Patient", "p1", store.get("plan-a", "Patient", "p1").content_hash)}
        assert observation.findings is None
        assert {stored.id for stored in store.unvalidated("plan-a")} == {"o1", "p1"}

        stale = store.get("plan-a", "Patient", "p1").content_hash
        store.commit_page("plan-a", [patient(family="Changed")], run_id=run)
        recorded = store.record_findings("plan-a", [("Observation", "o1", observation.content_hash, ["status: required"]),
                                                    ("Patient", "p1", stale, []),  # made from the replaced content
                                                    ("Patient", "unknown", "x", [])])
        assert recorded == 1
    reopened = Store(tmp_path, read_only=True)
    assert reopened.get("plan-a", "Observation", "o1").findings == ("status: required",)  # kept, and on disk
    assert reopened.get("plan-a", "Patient", "p1").findings is None
    assert [stored.id for stored in reopened.unvalidated("plan-a")] == ["p1"]
    assert reopened.unvalidated("plan-b") == []


def test_a_reading_store_refuses_writes_and_follows_the_writer(tmp_path):
    with Store(tmp_path, commit_interval=0) as writer:
        run = writer.begin_run("plan-a")
        reader = Store(tmp_path, read_only=True)
        with pytest.raises(ReadOnlyStore):
            reader.commit_page("plan-a", [eob("e1")], run_id=run)
        assert reader.counts() == {}
        writer.commit_page("plan-a", [eob("e1")], run_id=run)
        assert reader.counts() == {"ExplanationOfBenefit": 1}
        assert reader.generation == writer.generation


def test_a_closed_store_refuses_writes(tmp_path):
    store = Store(tmp_path, commit_interval=0)
    run = store.begin_run("plan-a")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.commit_page("plan-a", [eob("e1")], run_id=run)
