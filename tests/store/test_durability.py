"""The store's durability rules (requirements ST-2 to ST-8 and DR-1); ST-1's crash test is in test_crash.py.

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

from mirror.store import (
    InvalidResource,
    ParsedText,
    Store,
    StoreCorrupt,
    StoreError,
    StoreLocked,
    StoreVersionError,
    restore_backup,
)
from mirror.store import files, storages
from mirror.store.compression import decompressed

REPOSITORY = Path(__file__).resolve().parents[2]


def patient(patient_id="p1", **extra):
    return {"resourceType": "Patient", "id": patient_id, **extra}


def parsed_by_python(text):
    """The text with the parse Python's json makes of it, which lets lone surrogates through."""
    return ParsedText(text, json.loads(text))


def writer(folder, **options):
    return Store(folder, commit_interval=0, **options)


def stored_envelope(folder: Path) -> dict:
    """The store file as any JSON parser reads it, once decompressed."""
    return orjson.loads(decompressed((folder / "mirror.json").read_bytes()))


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
    document = stored_envelope(tmp_path)  # strict JSON: no NaN, no surrogates
    assert len(document["tables"]["resources"]) == 1


# ----- ST-6: an unreadable store is never overwritten


def test_st6_a_corrupt_store_is_refused_and_the_backup_named_and_restorable(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient("p1")], run_id=run)
        store.commit_page("plan", [patient("p2")], run_id=run)
    live, backup = tmp_path / "mirror.json", tmp_path / "mirror.json.1"
    damaged = live.read_bytes()[: live.stat().st_size // 2]
    live.write_bytes(damaged)
    for read_only in (False, True):
        with pytest.raises(StoreCorrupt) as refused:
            Store(tmp_path, read_only=read_only)
        assert str(backup) in str(refused.value) and refused.value.backup == str(backup)
        assert "run `mirror restore`" in str(refused.value)
    assert live.read_bytes() == damaged  # never overwritten
    moved_to = restore_backup(tmp_path)
    assert moved_to.read_bytes() == damaged
    restored = Store(tmp_path, read_only=True)
    assert restored.get("plan", "Patient", "p1") is not None and restored.get("plan", "Patient", "p2") is None


def test_st6_without_a_readable_backup_the_message_says_to_sync_again(tmp_path):
    (tmp_path / "mirror.json").write_bytes(b'{"format": "payer-mirror-store", "tables": ')
    with pytest.raises(StoreCorrupt, match="does not exist.*mirror sync") as refused:
        writer(tmp_path)
    assert refused.value.backup is None
    (tmp_path / "mirror.json.1").write_bytes(b"{}")
    with pytest.raises(StoreCorrupt, match="is damaged too"):
        writer(tmp_path)
    with pytest.raises(StoreError, match="damaged too"):
        restore_backup(tmp_path)


def test_st6_each_commit_keeps_the_previous_generation(tmp_path):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient("p1")], run_id=run)
        previous = store.path.read_bytes()
        store.commit_page("plan", [patient("p2")], run_id=run)
        assert (tmp_path / "mirror.json.1").read_bytes() == previous


# ----- ST-8: format version and migration


def test_st8_the_format_version_is_recorded_and_newer_formats_refused(tmp_path):
    with writer(tmp_path):
        pass
    envelope = stored_envelope(tmp_path)
    assert (envelope["format"], envelope["version"]) == ("payer-mirror-store", storages.FORMAT_VERSION)
    envelope["version"] = storages.FORMAT_VERSION + 1
    (tmp_path / "mirror.json").write_bytes(orjson.dumps(envelope))
    with pytest.raises(StoreVersionError, match="newer payer-mirror"):
        writer(tmp_path)


def test_st8_an_old_format_is_migrated_into_a_new_file_and_the_original_kept(tmp_path, monkeypatch):
    with writer(tmp_path) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [patient()], run_id=run)
    original = (tmp_path / "mirror.json").read_bytes()

    def add_note(tables: dict) -> dict:
        for document in tables["resources"].values():
            document["findings"] = ["migrated"]
        return tables

    monkeypatch.setattr(storages, "FORMAT_VERSION", storages.FORMAT_VERSION + 1)
    monkeypatch.setitem(storages.MIGRATIONS, storages.FORMAT_VERSION - 1, add_note)
    with writer(tmp_path) as store:
        assert store.get("plan", "Patient", "p1").findings == ("migrated",)
    kept = tmp_path / f"mirror.json.format{storages.FORMAT_VERSION - 1}"
    assert kept.read_bytes() == original
    assert stored_envelope(tmp_path)["version"] == storages.FORMAT_VERSION


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
        if Path(target).name == "mirror.json" and len(failures) < 2:
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
        before = store.path.read_bytes()

        def held(source, target):
            raise PermissionError(13, "Access is denied")

        monkeypatch.setattr(files, "REPLACE_RETRY_DELAYS", (0.001,))
        monkeypatch.setattr(files.os, "replace", held)
        with pytest.raises(StoreError, match="antivirus"):
            store.commit_page("plan", [patient()], run_id=run)
        monkeypatch.undo()
        assert store.path.read_bytes() == before
        assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


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
    for name in ("mirror.json", "mirror.json.1", "mirror.json.lock"):
        assert mode(folder / name) == 0o600, name


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_dr1_modes_found_too_open_are_narrowed_with_a_warning(tmp_path, caplog):
    with writer(tmp_path):
        pass
    tmp_path.chmod(0o755)
    for name in ("mirror.json", "mirror.json.lock"):
        (tmp_path / name).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mirror.store.files"), writer(tmp_path):
        pass
    assert mode(tmp_path) == 0o700
    assert mode(tmp_path / "mirror.json") == mode(tmp_path / "mirror.json.lock") == 0o600
    assert "readable by others" in caplog.text


def test_default_data_dir_honours_mirror_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRROR_DATA_DIR", str(tmp_path / "here"))
    assert files.default_data_dir() == tmp_path / "here"
    monkeypatch.delenv("MIRROR_DATA_DIR")
    assert files.default_data_dir().name == "payer-mirror"
