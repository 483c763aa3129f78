"""ST-1, atomic commit: a writer killed with SIGKILL at random moments never leaves a torn store.

A child process syncs pages into a real store file, committing every page with its checkpoint, and prints
each page number once its commit has returned; the parent kills it at a random moment, opens the file and
checks that it holds exactly the state after some page k (the resources and the history the pages imply,
and the checkpoint "resume at k + 1"), where k is the last page the child reported or the one it was
committing. The next child resumes from that checkpoint, as a real resumed sync would.

Each child is killed a random 0 to 250 ms after its first page, so kills land while it commits (most of its
time goes into writing and fsyncing). The default run kills 10 times. The slow test kills 100 times and
runs only when RUN_SLOW=1 is set:
`RUN_SLOW=1 .venv/bin/python -m pytest -m slow tests/store/test_crash.py`.
Set STORE_CRASH_SEED to replay a failing sequence of kill times.
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror.store import Store, StoreCorrupt

REPOSITORY = Path(__file__).resolve().parents[2]
# The child's whole program; the parent runs the same text to know what each page holds. It stays out of
# this module's imports (pytest alone is slow to import) so each child starts fast.
CHILD_PROGRAM = """
import sys

from mirror.store import Store, SyncState

IDS_IN_USE = 60
PADDING = "x" * 1000


def page(number):
    \"\"\"Page `number`: five Observations whose ids overlap earlier pages' and whose text names the page.\"\"\"
    return [
        '{"resourceType":"Observation","id":"o%d","status":"final","valueString":"page %d %s"}'
        % ((number * 7 + slot) % IDS_IN_USE, number, PADDING)
        for slot in range(5)
    ]


def write_pages_forever(data_dir):
    \"\"\"Resume from the checkpoint and commit page after page, reporting each, until killed.\"\"\"
    with Store(data_dir, commit_interval=0) as store:
        state = store.sync_state("plan", "Observation")
        number = 0 if state is None else int(state.next_url)
        run = store.begin_run("plan")
        while True:
            checkpoint = SyncState("Observation", next_url=str(number + 1))
            store.commit_page("plan", page(number), run_id=run, sync_state=checkpoint)
            print(number, flush=True)
            number += 1


if __name__ == "__main__":
    write_pages_forever(sys.argv[1])
"""
_child = {}
exec(CHILD_PROGRAM, _child)
page = _child["page"]


def expected_after(last_page: int) -> tuple[dict[str, str], int]:
    """The current text of every resource, and how many older versions history holds, after pages 0..last_page."""
    current: dict[str, str] = {}
    older_versions = 0
    for number in range(last_page + 1):
        for text in page(number):
            resource_id = text.split('"id":"', 1)[1].split('"', 1)[0]
            older_versions += resource_id in current
            current[resource_id] = text
    return current, older_versions


def committed_page(data_dir: Path) -> int:
    """Open the store as a fresh process would and return the last page in it, checking it is that whole state."""
    store = Store(data_dir, read_only=True)  # raises StoreCorrupt on a torn file
    state = store.sync_state("plan", "Observation")
    last_page = -1 if state is None else int(state.next_url) - 1
    current, older_versions = expected_after(last_page)
    stored = {resource.id: resource.text for resource in store.search("Observation")}
    assert stored == current, f"resources do not match the state after page {last_page}"
    history = sum(len(store.history("plan", "Observation", resource_id)) - 1 for resource_id in stored)
    assert history == older_versions, f"history does not match the state after page {last_page}"
    return last_page


def kill_at_random_moments(data_dir: Path, kills: int) -> None:
    seed = int(os.environ.get("STORE_CRASH_SEED", time.time_ns() % 2**32))
    moments = random.Random(seed)
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    last_page = -1
    for kill in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_PROGRAM, str(data_dir)],
            cwd=REPOSITORY, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        first_report = child.stdout.readline()  # wait until it is committing, however slow its start
        time.sleep(moments.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        output, errors = child.communicate(timeout=30)
        context = f"(kill {kill + 1} of {kills}, STORE_CRASH_SEED={seed})"
        assert child.returncode == -signal.SIGKILL, f"the child ended on its own {context}:\n{errors}"
        reported = [int(line) for line in (first_report + output).split()]
        try:
            committed = committed_page(data_dir)
        except StoreCorrupt as error:  # name the seed, so that the kills can be replayed
            pytest.fail(f"the store was torn {context}: {error}")
        # Everything reported committed is on disk; at most the page being committed when killed is extra.
        newest_reported = reported[-1] if reported else last_page
        assert newest_reported <= committed <= newest_reported + 1, f"{committed=} {newest_reported=} {context}"
        last_page = committed
    with Store(data_dir, commit_interval=0):  # a writer sweeps killed writers' temporary files
        assert not list(data_dir.glob(".*.tmp"))


def test_st1_sigkill_during_commits_never_tears_the_store_10_times(tmp_path):
    kill_at_random_moments(tmp_path, kills=10)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RUN_SLOW") != "1", reason="set RUN_SLOW=1 to run the 100-kill crash test")
def test_st1_sigkill_during_commits_never_tears_the_store_100_times(tmp_path):
    kill_at_random_moments(tmp_path, kills=100)
