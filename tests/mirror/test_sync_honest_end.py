"""Honest status against the real mock: a sync stopped by a full disk exits 3 (partial) with the error in one
line and keeps what it wrote (SY-6: no silent partial success; ST-1: a failed write leaves the last good commit),
and referenced records the plan does not serve are named, in the report and in `mirror status --json`."""

import errno
import functools
import json
import os
import shutil
from pathlib import Path

import pytest

import mirror.store.database
import mirror.sync.engine
from mirror.cli import main
from mirror.http.wsgi_server import start_in_thread
from mirror.store import Store, StoreWriteFailed
from mockpayer.app import create_app
from mockpayer.plans import BUNDLED_PLANS_DIR
from tests.mirror.test_sync_mock import held, sign_in

GOOD_WRITES = 4  # store writes that reach the disk before it is full


def _disk_full_after(monkeypatch, good_writes: int, *, stays_full: bool) -> None:
    """Every commit after `good_writes` fails part way with ENOSPC, leaving half its frame in the file (only the
    first of them, unless the disk `stays_full`: the failed write, cut off, gave back the space the next needs)."""
    real = mirror.store.database.append_durably
    writes = []

    def append(path, data, at):
        writes.append(path)
        if len(writes) > good_writes and (stays_full or len(writes) == good_writes + 1):
            real(path, data[:len(data) // 2], at)
            raise StoreWriteFailed(f"Could not write {path}: {os.strerror(errno.ENOSPC)}. The store is unchanged.")
        real(path, data, at)

    monkeypatch.setattr(mirror.store.database, "append_durably", append)
    # every page is written at once, so that some are on disk before it fills
    monkeypatch.setattr(mirror.sync.engine, "Store", functools.partial(Store, commit_interval=0))


@pytest.fixture
def payer():
    server = start_in_thread(create_app(BUNDLED_PLANS_DIR))
    yield server
    server.stop()


def test_a_full_disk_ends_the_sync_partial_exit_3_and_keeps_what_was_written(payer, data_dir, monkeypatch, capsys):
    """SY-6 and README's exit table: disk full is 3 (partial) with the error in one line, not 1 (could not
    start); the pages written before stay, `mirror status` shows the run partial with the error, and the next
    sync (disk freed) resumes and completes."""
    sign_in(payer, data_dir)
    _disk_full_after(monkeypatch, GOOD_WRITES, stays_full=False)
    assert main(["--data-dir", str(data_dir), "sync", "--page-size", "5"]) == 3
    captured = capsys.readouterr()
    assert captured.err == ""
    [error] = [line for line in captured.out.splitlines() if "error:" in line]
    assert "No space left on device" in error and "next sync resumes" in error
    kept = held(data_dir)
    assert kept  # the pages written before the disk filled
    assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
    [status] = json.loads(capsys.readouterr().out)
    assert status["last_sync"]["status"] == "partial"
    assert any("No space left on device" in line for line in status["last_sync"]["errors"])
    assert status["resumes"]
    monkeypatch.undo()
    assert main(["--data-dir", str(data_dir), "sync"]) == 0
    capsys.readouterr()
    assert set(kept) < set(held(data_dir))


def test_a_disk_that_stays_full_still_exits_3_and_keeps_what_was_written(payer, data_dir, monkeypatch, capsys):
    """SY-6: even when not even the run's end can be written, the exit is 3 with the error, the report says the
    end was not recorded, and what was written stays."""
    sign_in(payer, data_dir)
    _disk_full_after(monkeypatch, GOOD_WRITES, stays_full=True)
    assert main(["--data-dir", str(data_dir), "sync", "--page-size", "5", "--json"]) == 3
    [plan] = json.loads(capsys.readouterr().out)["plans"]
    assert plan["status"] == "partial" and "No space left on device" in plan["errors"][0]
    assert any("could not be recorded" in note for note in plan["notes"])
    monkeypatch.undo()
    assert held(data_dir)


def _plan_missing_practitioners(folder: Path, missing: int) -> None:
    """The demo plan, with one EOB referencing `missing` Practitioners that no file holds."""
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", folder / "demoplan")
    eob_file = next(path for path in sorted((folder / "demoplan").rglob("*.json"))
                    if '"ExplanationOfBenefit"' in path.read_text())
    document = json.loads(eob_file.read_text())
    entries = document.get("entry") if document.get("resourceType") == "Bundle" else None
    eob = next(entry["resource"] for entry in entries if entry["resource"]["resourceType"] == "ExplanationOfBenefit") \
        if entries else document
    eob["careTeam"] = [{"sequence": number + 1, "provider": {"reference": f"Practitioner/nobody-{number:02d}"}}
                       for number in range(missing)]
    eob_file.write_text(json.dumps(document))


@pytest.mark.parametrize("missing", [1, 23])
def test_missing_referenced_records_are_named(tmp_path, data_dir, capsys, missing):
    """FHIR R4 references: a Practitioner an EOB references that the plan does not serve (404) is named as
    Type/id in the report (text and --json) and in `mirror status --json`; past 20, the rest are counted."""
    _plan_missing_practitioners(tmp_path / "plans", missing)
    server = start_in_thread(create_app(tmp_path / "plans"))
    try:
        sign_in(server, data_dir)
        assert main(["--data-dir", str(data_dir), "sync", "--json"]) == 0
        [plan] = json.loads(capsys.readouterr().out)["plans"]
        names = [f"Practitioner/nobody-{number:02d}" for number in range(missing)]
        assert plan["unresolved_references"] == missing and plan["unresolved"] == names[:20]
        [note] = [note for note in plan["notes"] if "not available from the plan" in note]
        expected = ", ".join(names[:20]) + (f" and {missing - 20} more" if missing > 20 else "")
        assert note == f"{missing} referenced resources are not available from the plan: {expected}"
        assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
        [status] = json.loads(capsys.readouterr().out)
        assert note in status["last_sync"]["notes"]
        assert main(["--data-dir", str(data_dir), "sync", "--full"]) == 0
        assert f"note: {note}" in capsys.readouterr().out
    finally:
        server.stop()
