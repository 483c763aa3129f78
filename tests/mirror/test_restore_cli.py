"""`mirror restore` as a member runs it: a damaged store is refused with a message naming the command, and
the command puts the previous good generation (the backup) back, keeping the damaged file (ST-6)."""

import os
import subprocess
import sys
from pathlib import Path

from mirror.store import Store, is_readable_store
from mirror.store.writer_lock import WriterLock
from tests.mirror.stores import MEMBER1, fill, member_records

REPOSITORY = Path(__file__).resolve().parents[2]
EXTRA = {"resourceType": "Patient", "id": "only-in-the-newest-generation"}


def _mirror(data_dir, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), *arguments],
                          capture_output=True, text=True, cwd=REPOSITORY, timeout=60)


def _filled_store(data_dir) -> None:
    """member1's records, then a large record from another plan whose commit compacts the file (the file it
    replaces, the backup, holds member1's records), then one more record appended after that (the backup lacks it)."""
    fill(data_dir, "demo", member_records().values())
    fill(data_dir, "padding", [{"resourceType": "Basic", "id": "large", "text": {"div": os.urandom(2_000_000).hex()}}])
    assert is_readable_store(data_dir / "mirror.jsonl.zst.1")
    with Store(data_dir, commit_interval=0) as store:
        run_id = store.begin_run("demo")
        store.commit_page("demo", [EXTRA], run_id=run_id)


def _damaged_store(data_dir) -> bytes:
    """A filled store cut in half, inside its snapshot."""
    _filled_store(data_dir)
    live = data_dir / "mirror.jsonl.zst"
    damaged = live.read_bytes()[: live.stat().st_size // 2]
    live.write_bytes(damaged)
    return damaged


def test_a_damaged_store_names_mirror_restore_which_puts_the_backup_back(data_dir):
    damaged = _damaged_store(data_dir)
    refused = _mirror(data_dir, "status")
    assert refused.returncode == 1
    assert "`mirror restore`" in refused.stderr and str(data_dir / "mirror.jsonl.zst.1") in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr

    restored = _mirror(data_dir, "restore")
    assert restored.returncode == 0, restored.stderr
    assert len(restored.stdout.strip().splitlines()) == 1 and "restored" in restored.stdout
    kept = sorted(data_dir.glob("mirror.jsonl.zst.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged and str(kept[0]) in restored.stdout

    with Store(data_dir, read_only=True) as store:
        held = {(kind, stored.id): stored.text for kind in store.counts("demo")
                for stored in store.search(kind, source="demo")}
    assert held == member_records()
    assert ("Patient", EXTRA["id"]) not in held and ("Patient", MEMBER1) in held
    assert _mirror(data_dir, "status").returncode == 0


def test_restore_refuses_while_a_writer_holds_the_store(data_dir):
    damaged = _damaged_store(data_dir)
    lock = WriterLock(data_dir / "mirror.jsonl.zst")
    try:
        refused = _mirror(data_dir, "restore")
    finally:
        lock.release()
    assert refused.returncode == 1 and "being written by" in refused.stderr
    assert (data_dir / "mirror.jsonl.zst").read_bytes() == damaged and not list(data_dir.glob("mirror.jsonl.zst.damaged-*"))


def test_restore_leaves_a_readable_store_alone(data_dir):
    _filled_store(data_dir)
    before = (data_dir / "mirror.jsonl.zst").read_bytes()
    refused = _mirror(data_dir, "restore")
    assert refused.returncode == 1 and "is readable; nothing was restored" in refused.stderr
    assert (data_dir / "mirror.jsonl.zst").read_bytes() == before
