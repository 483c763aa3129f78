"""The store file: a snapshot and one appended frame per commit, JSON lines that `zstd -d` reads, compacted when
the commits outweigh the snapshot; damage is refused (ST-6), and readers follow what is appended."""

import hashlib
import random

import orjson
import pytest
import zstandard

from mirror.store import Store, StoreCorrupt, tables
from mirror.store.store_file import frame, frames
from tests.store.damage import damage_under_a_matching_crc

STORE = "mirror.jsonl.zst"


def claim(number: int, status: str = "active") -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": f"eob-{number}", "status": status,
            "identifier": [{"value": hashlib.sha256(str(number).encode()).hexdigest()}],
            "patient": {"reference": f"Patient/p{number % 3}"}, "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
            "total": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": number * 1.5}}]}


def stored(folder, resources: list[dict]) -> None:
    with Store(folder, commit_interval=0) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", resources, run_id=run)
        store.finish_run(run)


def decompressed(raw: bytes) -> bytes:
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True).read()


def frame_lines(raw: bytes) -> list[list]:
    """The lines of each whole frame of a store file."""
    return [[orjson.loads(line) for line in lines] for _, lines in frames(raw, snapshot=True)]


def test_the_store_file_is_compressed_json_lines_that_zstd_reads(tmp_path):
    stored(tmp_path, [claim(number) for number in range(200)])
    raw = (tmp_path / STORE).read_bytes()
    content = decompressed(raw)
    assert len(raw) * 5 < len(content)
    header, *records = (orjson.loads(line) for line in content.splitlines())
    assert header["format"] == "payer-mirror-store"
    assert sum(table == "resources" for table, _ in records) == 200


def test_a_commit_appends_one_frame_holding_what_it_changed(tmp_path):
    stored(tmp_path, [claim(number) for number in range(200)])
    before = (tmp_path / STORE).read_bytes()
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(7, status="cancelled"), claim(8)], run_id=run)
    after = (tmp_path / STORE).read_bytes()
    assert after.startswith(before)  # nothing written is written again
    *_, begun, page = frame_lines(after)
    assert [table for table, _ in begun] == ["sync_runs"]
    assert sorted((table, document.get("id")) for table, document in page) == [
        ("history", "eob-7"), ("resources", "eob-7"), ("sync_runs", None)]


def test_commits_that_outweigh_the_snapshot_are_compacted_into_a_new_one(tmp_path):
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan")
        for number in range(300):
            store.commit_page("plan", [claim(number % 40, status=f"s{number}")], run_id=run)
            snapshot, *commits = ([len(line) for line in lines] for _, lines in frames(store.path.read_bytes(), True))
            assert sum(map(sum, commits)) <= sum(snapshot)  # in bytes of lines, as written
    assert len(frame_lines((tmp_path / f"{STORE}.1").read_bytes())) > 1  # the file replaced: snapshot and commits


def test_random_operations_leave_the_file_as_the_writer_holds_them_for_fresh_and_following_readers(tmp_path):
    """Pages of new, changed and unchanged claims, removals and findings, written at random moments, the
    writer reopened now and then: a reader that follows the file, and one that reads it afresh, hold what the
    writer holds after every write."""
    rng = random.Random(7)
    store = Store(tmp_path, commit_interval=0)
    follower = Store(tmp_path, read_only=True)
    try:
        for step in range(80):
            run = store.begin_run(rng.choice(["plan", "other"]))
            source = store.runs()[0].source
            for _ in range(rng.randint(1, 3)):
                action = rng.choice(["page", "page", "remove", "findings"])
                if action == "page":
                    page = [claim(rng.randrange(60), status=rng.choice(["active", "cancelled"]))
                            for _ in range(rng.randint(1, 30))]
                    store.commit_page(source, page, run_id=run)
                elif action == "remove":
                    store.mark_removed(source, "ExplanationOfBenefit", [f"eob-{rng.randrange(60)}"], run_id=run)
                else:
                    store.record_findings(source, [("ExplanationOfBenefit", stored.id, stored.content_hash, ["x"])
                                                   for stored in store.unvalidated(source)[:5]])
            store.finish_run(run)
            expected = view(store)
            assert view(follower) == expected == view(Store(tmp_path, read_only=True)), f"step {step}"
            if rng.random() < 0.2:
                store.close()
                store = Store(tmp_path, commit_interval=0)
    finally:
        store.close()


def view(store: Store) -> tuple:
    everything = [(source, stored.id, [(version.text, version.version, version.findings, version.removed_at)
                                       for version in store.history(source, "ExplanationOfBenefit", stored.id)])
                  for source in store.sources()
                  for stored in store.search("ExplanationOfBenefit", source=source, include_removed=True)]
    return everything, store.runs(), store.generation


def test_a_reader_reads_only_what_was_appended_and_the_whole_file_after_a_compaction(tmp_path, monkeypatch):
    stored(tmp_path, [claim(number) for number in range(300)])
    reader = Store(tmp_path, read_only=True)
    reads = []
    real_read = tables.Tables.read

    def read(self, raw, snapshot, path):
        reads.append(snapshot)
        return real_read(self, raw, snapshot, path)

    with Store(tmp_path, commit_interval=0) as store:
        monkeypatch.setattr(tables.Tables, "read", read)
        store._compact()  # so that the commits below start from a fresh snapshot
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(1, status="cancelled")], run_id=run)
        assert reader.get("plan", "ExplanationOfBenefit", "eob-1").version == 2
        store.commit_page("plan", [claim(2, status="cancelled")], run_id=run)
        assert reader.get("plan", "ExplanationOfBenefit", "eob-2").version == 2
        assert reads == [True, False]  # the new snapshot whole, then the commit appended to it
        store.commit_page("plan", [claim(number, status="cancelled") for number in range(300)], run_id=run)
        assert reader.get("plan", "ExplanationOfBenefit", "eob-3").version == 2
        assert reads == [True, False, True]  # that commit outweighed the snapshot: the file was compacted


@pytest.mark.parametrize("damage, reason", [
    (lambda raw: raw[:200] + bytes([raw[200] ^ 0x01]) + raw[201:], "snapshot frame at byte 0 fails its CRC-32"),
    (lambda raw: raw[:len(raw) // 3], "snapshot frame at byte 0 is cut short"),
    (lambda raw: raw[:10], "ends before its first frame does"),
], ids=["flipped-bit", "cut-short", "header-cut-short"])
def test_st6_a_damaged_snapshot_is_refused_naming_the_backup_and_left_untouched(tmp_path, damage, reason):
    stored(tmp_path, [claim(number) for number in range(50)])  # compacts: the file before it is the backup
    live = tmp_path / STORE
    damaged = damage(live.read_bytes())
    live.write_bytes(damaged)
    for read_only in (False, True):
        with pytest.raises(StoreCorrupt, match=reason) as refused:
            Store(tmp_path, read_only=read_only)
        assert refused.value.backup == str(tmp_path / f"{STORE}.1")
    assert live.read_bytes() == damaged


def test_st6_a_damaged_commit_that_is_not_the_last_is_refused(tmp_path):
    stored(tmp_path, [claim(number) for number in range(50)])
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan")
        before = store.path.read_bytes()
        store.commit_page("plan", [claim(1, status="cancelled")], run_id=run)
        store.finish_run(run)
    live = tmp_path / STORE
    raw = live.read_bytes()
    position = len(before) + 20  # inside the first commit after `before`; more follow it
    live.write_bytes(raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1:])
    with pytest.raises(StoreCorrupt, match=f"commit frame at byte {len(before)} fails its CRC-32"):
        Store(tmp_path, read_only=True)


@pytest.mark.parametrize("change, reason", [
    (lambda content: content.replace(b'"plan"', b'"plan"}', 1), "a line is not valid JSON"),
    (lambda content: content.replace(b'"text":"{', b'"text":{"x":1},"was":"{', 1), "eob-0 is not a string"),
    (lambda content: content.replace(b'"source":', b'"origin":', 1), "lacks what the store keeps"),
    (lambda content: content + b'["notes",{}]\n', "not a \\[table, document\\] record"),
])
def test_st6_a_file_edited_under_matching_crcs_is_refused_at_open(tmp_path, change, reason):
    stored(tmp_path, [claim(number) for number in range(5)])
    damage_under_a_matching_crc(tmp_path / STORE, change)
    with pytest.raises(StoreCorrupt, match=reason):
        Store(tmp_path, read_only=True)


def test_a_frame_is_read_back_whole_however_it_falls_against_the_reading_buffer():
    lines = [b"", b"x", bytes(range(11, 256)) * 9000, "é".encode() * 600_000, b"end"]
    raw = frame(line + b"\n" for line in lines) * 2
    assert [(end, list(read)) for end, read in frames(raw, snapshot=True)] == [(len(raw) // 2, lines), (len(raw), lines)]
