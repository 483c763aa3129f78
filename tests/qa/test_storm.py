"""QA: a fault storm from `mockpayer serve --faults FILE`, a real mock process on a loopback port, over a generated
member of 400 claims: plain `mirror sync` runs, with their default retries, end complete within three runs,
and the NDJSON export equals a clean run's, resource for resource (SY-1, SY-2, SY-4, SY-5, SY-6)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.qa.mirror_app import connect_demo, mirror, sync

STORM = {
    "seed": 23,
    "rate_limit": {"every": 7, "retry_after": 1},  # RFC 6585 §4 with Retry-After: 1
    "server_error": {"status": 503, "rate": 0.15},
    "expire_token": {"every": 11},  # RFC 6750 §3.1 invalid_token: refresh and ask again
    "truncate": {"rate": 0.08},  # cut mid-body
    "duplicates": {"entries": 3},  # offset paging over shifting data repeats entries
    "loop_next": {"page": 3},  # for good: page 3's next link leads back to itself
}


@pytest.fixture
def plans(tmp_path) -> Path:
    """A plan folder of one generated member with 400 claims and clinical records."""
    folder = tmp_path / "plans"
    subprocess.run([sys.executable, "-m", "mockpayer.cli", "generate", "--out", str(folder / "demoplan"), "--members", "1",
                    "--claims-per-member", "400", "--clinical", "--seed", "3"], check=True, capture_output=True)
    return folder


def serve(plans: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """`mockpayer serve` on a free loopback port: the process and its root URL, read from its own line."""
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--fixtures", str(plans), "--port", "0",
                                *options], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        found = re.match(r"mock payer serving at (http://\S+)", line)
        if found is not None:
            return process, found.group(1)
    raise AssertionError(f"mockpayer serve stopped: exit {process.wait()}")


def exported(data_dir: Path) -> dict[str, str]:
    """`mirror export --format ndjson`: every line, keyed by Type/id."""
    out = data_dir.parent / f"ndjson-{data_dir.name}"
    status, _, err = mirror(data_dir, "export", "--format", "ndjson", "--out", str(out))
    assert status == 0, err
    lines = {}
    for file in sorted(out.glob("*.ndjson")):
        for line in file.read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            lines[f"{resource['resourceType']}/{resource['id']}"] = line
    return lines


def synced(plans: Path, data_dir: Path, *options: str, runs: int) -> list[dict]:
    """Connect to a fresh mock started with `options`, then up to `runs` plain syncs until one is complete."""
    process, url = serve(plans, *options)
    try:
        connect_demo(data_dir, url)
        reports = []
        for _ in range(runs):
            status, report = sync(data_dir)
            reports.append(report)
            if status == 0:
                break
        return reports
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_a_storm_of_faults_ends_complete_within_three_runs_equal_to_a_clean_run(plans, tmp_path):
    faults = tmp_path / "storm.json"
    faults.write_text(json.dumps({"demoplan": STORM}))
    clean = synced(plans, tmp_path / "clean", runs=1)
    assert clean[-1]["status"] == "complete", clean[-1]["errors"]
    stormy = synced(plans, tmp_path / "stormy", "--faults", str(faults), runs=3)
    assert stormy[-1]["status"] == "complete", [report["errors"] for report in stormy]
    everything = stormy[0]["streams"]["$everything"]
    assert everything["status"] == "looping"  # the storm's loop was met, and listed around
    assert any(walk["slices"] for report in stormy for walk in report["streams"].values())
    expected = exported(tmp_path / "clean")
    assert len([key for key in expected if key.startswith("ExplanationOfBenefit/")]) >= 400
    assert exported(tmp_path / "stormy") == expected
