"""Background R4 validation (mirror/sync/validation.py) with real worker processes: findings come back for
each content, a dead worker stops validation without losing what came back, and workers never outlive a
killed sync."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from mirror.sync.validation import BackgroundValidation

REPOSITORY = Path(__file__).resolve().parents[2]
PATIENT = {"resourceType": "Patient", "id": "p1"}
OBSERVATION = {"resourceType": "Observation", "id": "o1"}  # status and code are required


def content(resource: dict, number: int) -> tuple[tuple[str, str, str], str]:
    return (resource["resourceType"], resource["id"], f"hash-{number}"), orjson.dumps(resource).decode()


def test_findings_come_back_for_each_content():
    validation = BackgroundValidation(workers=1)
    try:
        validation.submit([content(PATIENT, 1), content(OBSERVATION, 2)] * 30)  # two tasks
        found = validation.ready() + validation.rest()
    finally:
        validation.close()
    assert len(found) == 60 and validation.failure is None
    by_hash = {content_hash: findings for _, _, content_hash, findings in found}
    assert by_hash["hash-1"] == []
    assert "code: Field required" in by_hash["hash-2"]
    assert validation.rest() == []


def test_submitting_waits_for_old_batches_when_validation_falls_behind():
    """Memory stays bounded: with room for one batch in flight, submitting five waits for the first four."""
    validation = BackgroundValidation(workers=1)
    validation.IN_FLIGHT_BYTES = 1
    try:
        validation.submit([content(PATIENT, number) for number in range(250)])  # five batches
        assert len(validation.ready()) >= 200
        assert len(validation.rest()) <= 50
    finally:
        validation.close()


def test_a_text_the_validator_cannot_read_is_a_finding_not_a_failure():
    validation = BackgroundValidation(workers=1)
    try:
        validation.submit([(("Patient", "p1", "hash-1"), "{not json"), content(PATIENT, 2)])
        found = validation.rest()
    finally:
        validation.close()
    assert validation.failure is None
    assert found == [("Patient", "p1", "hash-1", ["could not be validated (JSONDecodeError)"]),
                     ("Patient", "p1", "hash-2", [])]


def test_a_worker_that_dies_stops_validation_and_says_so():
    validation = BackgroundValidation(workers=1)
    try:
        validation.submit([content(PATIENT, 1)])
        assert len(validation.rest()) == 1
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.5)
        validation.submit([content(OBSERVATION, number) for number in range(200)])
        assert validation.rest() == []
    finally:
        validation.close()
    assert validation.failure.startswith("R4 validation stopped (BrokenProcessPool")
    validation.submit([content(PATIENT, 3)])  # a stopped validation takes no more work
    assert validation.rest() == []


def test_a_worker_that_hangs_stops_validation_and_says_so():
    """The sync waits for its findings at the end: a worker stuck on some record must not hold it for good."""
    validation = BackgroundValidation(workers=1)
    try:
        validation.submit([content(PATIENT, 1)])
        assert len(validation.rest()) == 1  # the worker is up (with the usual patience: a busy machine is slow)
        validation.STALL_SECONDS = 1
        [worker] = validation._pool._processes.values()  # this pool's own, not another test's lingering one
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            validation.submit([content(OBSERVATION, number) for number in range(200)])
            assert validation.rest() == []  # it returns: the stuck worker does not hold the sync for good
        finally:
            os.kill(worker.pid, signal.SIGKILL)
    finally:
        validation.close()
    assert validation.failure == "R4 validation stopped (TimeoutError: a batch of 50 records took over 1 s)"


KILLED_SYNC = """
import multiprocessing, sys, time
from mirror.sync.validation import BackgroundValidation
validation = BackgroundValidation(workers=2)
validation.submit([(("Patient", str(n), str(n)), '{"resourceType":"Patient","id":"p"}') for n in range(5000)])
while len(multiprocessing.active_children()) < 2:
    time.sleep(0.05)
print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads process states from /proc")
def test_workers_exit_when_the_sync_that_started_them_is_killed():
    """A killed sync's pool cannot shut its workers down; they notice their parent is gone and exit."""
    sync = subprocess.Popen([sys.executable, "-c", KILLED_SYNC], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in sync.stdout.readline().split()]
    assert len(workers) >= 2
    sync.send_signal(signal.SIGKILL)
    sync.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that is gone (init reaps those)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


MAIN_SCRIPT = """
import multiprocessing, os, sys
with open(sys.argv[1], "a") as runs:  # a line each time this script's top level runs
    runs.write(f"{os.getpid()}\\n")
from mirror.sync.validation import BackgroundValidation

if __name__ == "__main__":
    validation = BackgroundValidation(workers=2)
    validation.start()
    validation.submit([(("Patient", "p1", "h1"), '{"resourceType":"Patient","id":"p1"}')])
    print(os.getpid(), len(multiprocessing.active_children()), validation.rest(), flush=True)
    validation.close()
"""


def test_started_workers_never_run_the_sync_main_script(tmp_path):
    """A spawned worker would run the script that started the sync first (the `mirror` command's imports all
    of mirror, a second of a core): shown no main script, the workers run only the validator."""
    script, runs = tmp_path / "main_script.py", tmp_path / "runs.txt"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(runs)], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pid, workers, findings = done.stdout.split(" ", 2)
    assert int(workers) == 2 and findings.strip() == "[('Patient', 'p1', 'h1', [])]"
    assert runs.read_text().split() == [pid]
