"""A store's tables are read when first used, not at open (frame_cache.py): a sync that brings nothing new
reads the sync state and writes its run record, and its resources stay compressed, written back byte for byte.
Damage to a table left unread is still refused at open (ST-6), and an unread table damaged under a matching
CRC is reported, with the backup, when it is read."""

import orjson
import pytest

from mirror.store import Store, StoreCorrupt, SyncState
from mirror.store.compression import compressed_frame, frames_of
from mirror.store.file_format import header_line, read_header
from mirror.store.frame_cache import UnreadTable
from tests.store.damage import damage_under_matching_crcs


def claim(number: int) -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": f"eob-{number}", "status": "active",
            "patient": {"reference": "Patient/p1"}, "total": [{"amount": {"value": number * 1.5}}]}


def synced(folder, numbers, validated: bool = True) -> None:
    """A sync of `numbers` claims, their findings recorded as a validating sync records them."""
    with Store(folder, commit_interval=0) as store:
        run = store.begin_run("plan")
        page = store.commit_page("plan", [claim(number) for number in numbers], run_id=run,
                                 sync_state=SyncState("$everything", status="complete", high_water="2026-01-01T00:00:00Z"))
        if validated:
            store.record_findings("plan", [(*version, []) for version in page.new_versions])
        store.finish_run(run)


def unread(store: Store, table: str) -> bool:
    return isinstance(store._staging.read()[table], UnreadTable)


def frames_of_table(path, table: str) -> list[bytes]:
    raw = path.read_bytes()
    first_frame, first_content = next(frames_of(raw, checksummed=True))
    frames, position = [], len(first_frame)
    for length, _, name in read_header(first_content)["layout"]:
        if name == table:
            frames.append(raw[position:position + length])
        position += length
    return frames


def test_a_sync_that_brings_nothing_reads_no_resources_and_writes_their_frames_back_as_they_were(tmp_path):
    synced(tmp_path, range(600))  # three runs of resources, a frame each
    with Store(tmp_path, commit_interval=0) as store:  # and a version in history
        page = store.commit_page("plan", [claim(5) | {"status": "cancelled"}], run_id=store.begin_run("plan"))
        store.record_findings("plan", [(*version, []) for version in page.new_versions])
    live = tmp_path / "mirror.json"
    before = frames_of_table(live, "resources")
    assert len(before) == 3 and len(frames_of_table(live, "history")) == 1
    with Store(tmp_path, commit_interval=0) as store:  # what a no-change sync asks of the store, in its order
        assert store.sync_state("plan", "$everything").status == "complete"
        run = store.begin_run("plan")
        assert store.unvalidated("plan") == []
        store.commit_page("plan", [], run_id=run, sync_state=SyncState("$everything", status="complete"))
        store.finish_run(run)
        assert unread(store, "resources") and unread(store, "history")
    assert frames_of_table(live, "resources") == before
    with Store(tmp_path, read_only=True) as reader:
        assert len(reader.search("ExplanationOfBenefit")) == 600
        assert reader.runs("plan")[0].status == "complete"


def test_a_table_read_after_open_is_written_again_reusing_its_unchanged_frames(tmp_path):
    synced(tmp_path, range(600))
    live = tmp_path / "mirror.json"
    before = frames_of_table(live, "resources")
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(1) | {"status": "cancelled"}], run_id=run)  # in the first run only
        store.finish_run(run)
    after = frames_of_table(live, "resources")
    assert after[1:] == before[1:] and after[0] != before[0]
    with Store(tmp_path, read_only=True) as reader:
        assert reader.get("plan", "ExplanationOfBenefit", "eob-1").resource()["status"] == "cancelled"
        assert [old.version for old in reader.history("plan", "ExplanationOfBenefit", "eob-1")] == [2, 1]


def test_what_awaits_validation_is_known_from_the_header_and_found_when_there_is_some(tmp_path):
    synced(tmp_path, range(3), validated=False)
    with Store(tmp_path, read_only=True) as reader:
        assert unread(reader, "resources")
        assert sorted(stored.id for stored in reader.unvalidated("plan")) == ["eob-0", "eob-1", "eob-2"]
    with Store(tmp_path, commit_interval=0) as store:
        waiting = store.unvalidated("plan")
        store.record_findings("plan", [(stored.resource_type, stored.id, stored.content_hash, ["status: bad"])
                                       for stored in waiting[:2]])
        run = store.begin_run("plan")
        store.mark_removed("plan", "ExplanationOfBenefit", ["eob-2"], run_id=run)  # a tombstone awaits nothing
        store.finish_run(run)
    with Store(tmp_path, read_only=True) as reader:
        assert reader.unvalidated("plan") == [] and reader.unvalidated("another-plan") == []
        assert unread(reader, "resources")
        assert reader.get("plan", "ExplanationOfBenefit", "eob-0").findings == ("status: bad",)


def test_st6_an_unread_table_damaged_under_matching_crcs_is_reported_with_the_backup_when_read(tmp_path):
    synced(tmp_path, range(3))
    synced(tmp_path, [3])  # a second commit, so the first generation is the backup
    live = tmp_path / "mirror.json"
    damage_under_matching_crcs(live, "resources", lambda content: content.replace(b'"source":"plan"', b'"source":"plan"}', 1))
    damaged = live.read_bytes()
    with Store(tmp_path, commit_interval=0) as store:
        assert unread(store, "resources")
        with pytest.raises(StoreCorrupt, match=r"table resources is damaged \(line 1 of table resources is not valid "
                                               r"JSON.*mirror\.json\.1.*mirror restore"):
            store.get("plan", "ExplanationOfBenefit", "eob-0")
    assert live.read_bytes() == damaged


def test_a_header_whose_layout_does_not_match_its_frames_is_read_whole(tmp_path):
    synced(tmp_path, range(300))
    live = tmp_path / "mirror.json"
    raw = live.read_bytes()
    first_frame, first_content = next(frames_of(raw, checksummed=True))
    header = read_header(first_content)
    header["layout"][0][1] ^= 1  # a CRC that no frame has
    opening = first_content[first_content.index(b"\n") + 1:]
    live.write_bytes(compressed_frame([header_line(header), opening]) + raw[len(first_frame):])
    with Store(tmp_path, read_only=True) as reader:
        assert not unread(reader, "resources")
        assert orjson.loads(reader.get("plan", "ExplanationOfBenefit", "eob-299").text) == claim(299)
