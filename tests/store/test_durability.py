"""The store's durability rules (requirements ST-1 to ST-8 and DR-1); ST-1's crash loop is in test_crash.py.

Every store here is a real file in a temporary folder; the second writer is a real second process.
"""

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest
import zstandard

from mirror.store import (
    InvalidResource,
    ParsedText,
    Store,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreVersionError,
    SyncState,
    restore,
)
from mirror.store import files, store_file

REPOSITORY = Path(__file__).resolve().parents[2]
STORE = "mirror.jsonl.zst"
DATA = Path(__file__).parent / "data"


def patient(patient_id="p1", **extra):
    return {"resourceType": "Patient", "id": patient_id, **extra}


def parsed_by_python(text):
    """The text with the parse Python's json makes of it, which lets lone surrogates through."""
    return ParsedText(text, json.loads(text))


def writer(folder, **options):
    return Store(folder, commit_interval=0, **options)


def stored_lines(folder: Path) -> list:
    """The store file's lines as any JSON parser reads them, once decompressed as `zstd -d` would."""
    content = zstandard.ZstdDecompressor().stream_reader((folder / STORE).read_bytes(), read_across_frames=True).read()
    return [orjson.loads(line) for line in content.splitlines()]


def frames_of(raw: bytes) -> list[list[bytes]]:
    return [list(lines) for _, lines in store_file.frames(raw, snapshot=True)]


def big_patient(patient_id: str) -> dict:
    """A patient whose commit outweighs a small store's snapshot, so that it compacts the file."""
    return patient(patient_id, text={"div": os.urandom(20_000).hex()})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ----- ST-4: one writer, and no lost update between threads


def test_st4_a_second_writer_process_is_refused_with_the_holders_pid(tmp_path):
    with writer(tmp_path):
        child = subprocess.run(
            [sys.executable, "-c",
             "import sys; from mirror.store import Store, StoreLocked\n"
             "try:\n    Store(sys.argv[1])\nexcept StoreLocked as error:\n    print(error.pid, error)\n"
             "else:\n    print('opened')",
             str(tmp_path)],
            capture_output=True, text=True, cwd=REPOSITORY, timeout=60,
        )
    assert child.returncode == 0, child.stderr
    pid, message = child.stdout.split(" ", 1)
    assert int(pid) == os.getpid()
    assert f"process {os.getpid()}" in message and "Wait for it to finish" in message


def test_st4_a_second_writer_in_the_same_process_is_refused_and_readers_are_not(tmp_path):
    with writer(tmp_path) as first:
        with pytest.raises(StoreLocked, match=f"process {os.getpid()}"):
            writer(tmp_path)
        Store(tmp_path, read_only=True)  # readers take no lock
        run = first.begin_run("plan")
        first.commit_page("plan", [patient()], run_id=run)  # and the writer still writes
    with writer(tmp_path):  # the lock is released on close
        pass


def test_st4_eight_threads_of_a_hundred_upserts_lose_no_update(tmp_path):
    with Store(tmp_path, commit_interval=0.01) as store:
        run = store.begin_run("plan")

        def upsert(thread: int) -> None:
            for number in range(100):
                # every thread replaces one shared resource, and adds one of its own
                shared = patient("shared", gender=f"t{thread}-n{number}")
                store.commit_page("plan", [shared, patient(f"t{thread}-n{number}")], run_id=run)

        threads = [threading.Thread(target=upsert, args=(thread,)) for thread in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        finished = store.finish_run(run)
    assert finished.new == 801 and finished.changed == 799
    reopened = Store(tmp_path, read_only=True)
    assert reopened.counts() == {"Patient": 801}
    assert len(reopened.history("plan", "Patient", "shared")) == 800


# ----- ST-5: non-JSON values never reach the file


@pytest.mark.parametrize("bad", [
    patient(multipleBirthInteger=float("nan")),
    patient(extension=[{"valueDecimal": float("inf")}]),
    '{"resourceType": "Patient", "id": "p1", "x": NaN}',
    '{"resourceType": "Patient", "id": "p1", "x": -Infinity}',
    '{"resourceType": "Patient", "id": "p1", "name": [{"family": "\\ud800"}]}',
    patient(name=[{"family": "\ud800"}]),
    '{"resourceType": "Patient", "id": "p1", "name": [{"family": "\ud800"}]}',
    parsed_by_python('{"resourceType": "Patient", "id": "p1", "name": [{"family": "\\ud800"}]}'),
    parsed_by_python('{"resourceType": "Patient", "id": "p1", "name": [{"family": "\ud800"}]}'),
], ids=["nan", "infinity", "NaN-text", "Infinity-text", "escaped-surrogate", "surrogate", "surrogate-text",
        "parsed-escaped-surrogate", "parsed-surrogate-text"])
def test_st5_nan_infinity_and_lone_surrogates_are_refused_and_the_file_stays_valid(tmp_path, bad):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient("kept")], run_id=run)
        before = store.path.read_bytes()
        with pytest.raises(InvalidResource):
            store.commit_page("plan", [bad], run_id=run)
        assert store.path.read_bytes() == before
    lines = stored_lines(tmp_path)  # strict JSON: no NaN, no surrogates
    assert {document["id"] for table, document in lines[1:] if table == "resources"} == {"kept"}


# ----- ST-6: an unreadable store is never overwritten


def test_st6_a_corrupt_store_is_refused_and_the_backup_named_and_restorable(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient("p1")], run_id=run)
        store.commit_page("plan", [big_patient("big")], run_id=run)  # compacts: the file it replaces holds p1
        store.commit_page("plan", [patient("p2")], run_id=run)
    live, backup = tmp_path / STORE, tmp_path / f"{STORE}.1"
    damaged = live.read_bytes()[: live.stat().st_size // 2]  # the snapshot outweighs the commits after it
    live.write_bytes(damaged)
    for read_only in (False, True):
        with pytest.raises(StoreCorrupt) as refused:
            Store(tmp_path, read_only=read_only)
        assert str(backup) in str(refused.value) and refused.value.backup == str(backup)
        assert "run `mirror restore`" in str(refused.value)
    assert live.read_bytes() == damaged  # never overwritten
    moved_to, how = restore(tmp_path)
    assert "put its backup" in how
    assert moved_to.read_bytes() == damaged
    restored = Store(tmp_path, read_only=True)
    assert restored.get("plan", "Patient", "p1") is not None and restored.get("plan", "Patient", "p2") is None


def test_st6_restore_keeps_the_snapshot_and_the_commits_before_a_damaged_one(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [big_patient("big")], run_id=run)  # a snapshot the commits below do not outweigh
        for page in range(1, 6):
            store.commit_page("plan", [patient(f"p{page}")], run_id=run,
                              sync_state=SyncState("Patient", next_url=f"https://plan.example/Patient?page={page + 1}"))
    live = tmp_path / STORE
    raw = live.read_bytes()
    ends = [end for end, _ in store_file.frames(raw, snapshot=True)]
    assert len(ends) == 6  # the snapshot, then one commit per page
    flipped = bytearray(raw)
    flipped[ends[4] - 3] ^= 0x10  # a bit of page 4's commit, with pages 1 to 3 before it
    live.write_bytes(flipped)
    with pytest.raises(StoreCorrupt, match=r"fails its CRC-32.*run `mirror restore`.*drops the last 2 commits") as refused:
        Store(tmp_path, read_only=True)
    assert refused.value.backup is None
    moved_to, how = restore(tmp_path)
    assert moved_to.read_bytes() == bytes(flipped) and "dropped the last 2 commits" in how
    with writer(tmp_path) as store:
        assert {stored.id for stored in store.search("Patient")} == {"big", "p1", "p2", "p3"}
        # The checkpoint travelled with page 3, so the next sync asks for page 4 again.
        assert store.sync_state("plan", "Patient").next_url == "https://plan.example/Patient?page=4"
        store.commit_page("plan", [patient("p4")], run_id=store.begin_run("plan"))
    assert Store(tmp_path, read_only=True).get("plan", "Patient", "p4") is not None


def test_st6_without_a_readable_backup_the_message_says_to_sync_again(tmp_path):
    (tmp_path / STORE).write_bytes(store_file.frame([b'{"format": "payer-mirror-store", "tables": \n']))
    with pytest.raises(StoreCorrupt, match="does not exist.*mirror sync") as refused:
        writer(tmp_path)
    assert refused.value.backup is None
    (tmp_path / f"{STORE}.1").write_bytes(b"{}")
    with pytest.raises(StoreCorrupt, match="is damaged too"):
        writer(tmp_path)
    with pytest.raises(StoreError, match="damaged too"):
        restore(tmp_path)


def test_st6_each_compaction_keeps_the_file_it_replaced_as_the_backup(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient("p1")], run_id=run)
        store.commit_page("plan", [patient("p2")], run_id=run)
        before = store.path.read_bytes()
        held = {stored.id: stored.text for stored in store.search("Patient")}
        store.commit_page("plan", [big_patient("p3")], run_id=run)  # outweighs the snapshot: compacts
        assert (tmp_path / f"{STORE}.1").read_bytes() == before
        assert len(frames_of(store.path.read_bytes())) == 1 and store.get("plan", "Patient", "p3") is not None
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / STORE).write_bytes(before)
    assert {stored.id: stored.text for stored in Store(tmp_path / "backup", read_only=True).search("Patient")} == held


def test_st1_a_commit_cut_short_by_a_crash_is_left_out_and_cut_off_by_the_next_writer(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [big_patient("p1")], run_id=run)
        store.commit_page("plan", [patient("p2")], run_id=run)
        whole = store.path.read_bytes()
        store.commit_page("plan", [patient("p3")], run_id=run)
    live = tmp_path / STORE
    last_commit = live.read_bytes()[len(whole):]
    for torn in (last_commit[:10], last_commit[:-1], last_commit[:-5] + b"\0" * 5, b"\0" * 4096):
        live.write_bytes(whole + torn)
        reader = Store(tmp_path, read_only=True)
        assert reader.get("plan", "Patient", "p2") is not None and reader.get("plan", "Patient", "p3") is None
    with writer(tmp_path):
        assert live.read_bytes() == whole
    live.write_bytes(whole + b"not a frame, and longer than a frame header")
    with pytest.raises(StoreCorrupt, match="no frame begins at byte"):
        Store(tmp_path, read_only=True)


# ----- ST-8: format version and migration


def test_st8_the_format_version_is_recorded_and_newer_formats_refused(tmp_path):
    with writer(tmp_path):
        pass
    header = stored_lines(tmp_path)[0]
    assert (header["format"], header["version"]) == ("payer-mirror-store", store_file.FORMAT_VERSION)
    header["version"] = store_file.FORMAT_VERSION + 1
    (tmp_path / STORE).write_bytes(store_file.frame([orjson.dumps(header) + b"\n"]))
    with pytest.raises(StoreVersionError, match="newer payer-mirror"):
        writer(tmp_path)


@pytest.mark.parametrize("compressed", [True, False], ids=["zstd-frames", "plain-json"])
def test_st8_a_format_1_store_is_converted_once_and_its_file_kept(tmp_path, compressed):
    """tests/store/data/format1-mirror.json was written by the store of format 1 (`mirror.json`)."""
    original = (DATA / "format1-mirror.json").read_bytes()
    if not compressed:  # as format 1 wrote it before it was compressed, or as `zstd -d` leaves it
        original = zstandard.ZstdDecompressor().stream_reader(original, read_across_frames=True).read()
    (tmp_path / "mirror.json").write_bytes(original)
    (tmp_path / "mirror.json.1").write_bytes(original)  # format 1's backup, and the lock its writer left
    (tmp_path / "mirror.json.lock").write_bytes(b"12345")
    reader = Store(tmp_path, read_only=True)  # a reader reads it as it is, and writes nothing
    assert not (tmp_path / STORE).exists()
    with writer(tmp_path) as store:
        assert store.sources() == ["plan-a", "plan-b"] == reader.sources()
        assert store.counts("plan-a") == {"ExplanationOfBenefit": 1, "Patient": 1}
        patient_text = store.get("plan-a", "Patient", "p1").text
        assert "Ng\u00e9" in patient_text and '"2024-01-02T03:04:05.1234567Z"' in patient_text
        [current, older] = store.history("plan-a", "ExplanationOfBenefit", "e1")
        assert (current.version, current.findings, older.version) == (2, ("status: required",), 1)
        assert '"value":100.50' in older.text and older.superseded_at == current.fetched_at
        assert store.get("plan-a", "Observation", "o1").removed
        assert store.sync_state("plan-a", "ExplanationOfBenefit").next_url == "https://plan.example/fhir/EOB?page=2"
        assert [(run.source, run.status) for run in store.runs()] == [("plan-b", "complete"), ("plan-a", "partial")]
        assert [stored.id for stored in store.unvalidated("plan-b")] == ["p1"]
        run = store.begin_run("plan-b")
        store.commit_page("plan-b", [patient("p2")], run_id=run)
    assert (tmp_path / "mirror.json.format1").read_bytes() == original and not (tmp_path / "mirror.json").exists()
    assert (tmp_path / "mirror.json.1.format1").read_bytes() == original
    assert not {"mirror.json.1", "mirror.json.lock"} & {path.name for path in tmp_path.iterdir()}
    assert Store(tmp_path, read_only=True).counts("plan-b") == {"Patient": 2}
    (tmp_path / "mirror.json").write_bytes(b"{}")  # a format 1 file is read only when there is no other
    assert Store(tmp_path, read_only=True).counts("plan-b") == {"Patient": 2}


@pytest.mark.parametrize("content", [b'{"format": "payer-mirror-store", "version": 1, "tables": {',
                                     b'{"format": "payer-mirror-store", "version": 1, "tables": {"resources": {"1": {}}}}'])
def test_st6_a_damaged_format_1_store_is_refused_and_left_alone(tmp_path, content):
    (tmp_path / "mirror.json").write_bytes(content)
    with pytest.raises(StoreCorrupt, match=r"mirror\.json \(a store of an older format\) cannot be read.*mirror sync"):
        writer(tmp_path)
    assert not (tmp_path / STORE).exists() and (tmp_path / "mirror.json").read_bytes() == content


# ----- ST-2 and ST-3: platform details of the atomic commit


def test_st2_darwin_flushes_the_drive_cache_with_f_fullfsync(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(files.sys, "platform", "darwin")
    monkeypatch.setattr(files.fcntl, "F_FULLFSYNC", 51, raising=False)
    monkeypatch.setattr(files.fcntl, "fcntl", lambda fd, command: calls.append(command))
    monkeypatch.setattr(files.os, "fsync", lambda fd: pytest.fail("plain fsync used on darwin"))
    files.write_atomically(tmp_path / "file", b"{}")
    assert calls and set(calls) == {51}


def test_st3_a_transiently_held_file_is_replaced_after_retries(tmp_path, monkeypatch):
    real_replace, failures = os.replace, []

    def flaky_replace(source, target):
        if Path(target).name == STORE and len(failures) < 2:
            failures.append(target)
            raise PermissionError(13, "Access is denied")
        real_replace(source, target)

    monkeypatch.setattr(files, "REPLACE_RETRY_DELAYS", (0.001,) * 3)
    monkeypatch.setattr(files.os, "replace", flaky_replace)
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient()], run_id=run)
    assert len(failures) == 2
    assert Store(tmp_path, read_only=True).get("plan", "Patient", "p1") is not None


def test_st3_a_file_held_for_good_fails_loudly_and_changes_nothing(tmp_path, monkeypatch):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")

        def held(source, target):
            raise PermissionError(13, "Access is denied")

        monkeypatch.setattr(files, "REPLACE_RETRY_DELAYS", (0.001,))
        monkeypatch.setattr(files.os, "replace", held)
        with pytest.raises(StoreError, match="antivirus"):
            store.commit_page("plan", [big_patient("p1")], run_id=run)  # appended, then not compacted
        monkeypatch.undo()
        assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    assert Store(tmp_path, read_only=True).get("plan", "Patient", "p1") is not None


# ----- DR-1: private folder and files


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_dr1_folder_is_0700_and_files_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        folder = tmp_path / "new" / "data"
        with writer(folder) as store:
            run = store.begin_run("plan")
            store.commit_page("plan", [patient("p1")], run_id=run)
            store.commit_page("plan", [patient("p2")], run_id=run)
    finally:
        os.umask(previous)
    assert mode(folder) == 0o700
    for name in (STORE, f"{STORE}.1", f"{STORE}.lock"):
        assert mode(folder / name) == 0o600, name


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_dr1_modes_found_too_open_are_narrowed_with_a_warning(tmp_path, caplog):
    with writer(tmp_path):
        pass
    tmp_path.chmod(0o755)
    for name in (STORE, f"{STORE}.lock"):
        (tmp_path / name).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mirror.store.files"), writer(tmp_path):
        pass
    assert mode(tmp_path) == 0o700
    assert mode(tmp_path / STORE) == mode(tmp_path / f"{STORE}.lock") == 0o600
    assert "readable by others" in caplog.text


def test_default_data_dir_honours_mirror_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRROR_DATA_DIR", str(tmp_path / "here"))
    assert files.default_data_dir() == tmp_path / "here"
    monkeypatch.delenv("MIRROR_DATA_DIR")
    assert files.default_data_dir().name == "payer-mirror"
