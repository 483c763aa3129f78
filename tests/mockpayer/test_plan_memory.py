"""A generated plan, loaded as `mockpayer serve` loads it, holds at most 3x its size on disk (issue 27).

Measured from the process, not the clock: a fresh Python process reports its resident memory (VmRSS in
/proc/self/status) before and after loading the plan and answering a first request, so nothing another test
holds is counted. Resources are held as their text with only their index fields parsed (mockpayer/indexed.py);
held parsed, they took far more than the target.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mockpayer.generate import write_plan

REPOSITORY = Path(__file__).resolve().parents[2]
MOST_BYTES_PER_BYTE_ON_DISK = 3

MEASURE = """
import json, sys
from pathlib import Path

def resident():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

from mockpayer.app import create_app
from mockpayer.plans import load_plans

plans = Path(sys.argv[1])
before = resident()
app = create_app(plans, plans=load_plans(plans))
answer = app.test_client().get("/memplan/r4/metadata")
after = resident()
resources = app.extensions["mockpayer"].resources["memplan"]
print(json.dumps({"status": answer.status_code, "growth": after - before,
                  "resources": len(resources.data.resources) + len(resources.directory.resources)}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads memory from /proc (Linux)")
def test_a_loaded_plan_holds_at_most_three_times_its_size_on_disk(tmp_path):
    plan = tmp_path / "plans" / "memplan"
    write_plan(plan, system_id="memplan", name="Memory Plan", base_url="memplan.example", members=20,
               claims_per_member=100, seed=27)
    on_disk = sum(path.stat().st_size for folder in ("data", "directory") for path in (plan / folder).rglob("*.json"))
    done = subprocess.run([sys.executable, "-c", MEASURE, str(plan.parent)], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["status"] == 200 and measured["resources"] > 2000
    assert on_disk > 20 * 1024 * 1024
    assert measured["growth"] <= MOST_BYTES_PER_BYTE_ON_DISK * on_disk, (measured["growth"], on_disk)
