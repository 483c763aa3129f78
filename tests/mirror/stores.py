"""Stores for the API and export tests, filled the way a sync fills them.

A sync of demoplan's member1 stores exactly the member's records as the mock holds them, byte for byte
(test_sync_mock checks that); `member_records` is that set, so view tests get a synced member's store in
milliseconds without running the mock. Flow tests that need a real sync run `mirror sync` against the mock.
"""

from collections.abc import Iterable
from pathlib import Path

import orjson

from mirror.store import Store
from mockpayer.plans import BUNDLED_PLANS_DIR
from mockpayer.resources import load_plan_resources

DEMO_PLAN = BUNDLED_PLANS_DIR / "demoplan"
MEMBER1 = "demoplan-m1"
MEMBER2 = "demoplan-m2"


def member_records(patient: str = MEMBER1) -> dict[tuple[str, str], str]:
    """(type, id) -> text of what a sync of this demoplan member holds."""
    data = load_plan_resources(DEMO_PLAN).data
    return {key: data.resources[key].text for key in data.readable_by(patient)}


def fill(data_dir: Path, source: str, texts: Iterable[str | bytes | dict]) -> None:
    """Store `texts` from `source` in one run, on disk at once (validation off: these are known R4)."""
    with Store(data_dir, commit_interval=0) as store:
        run_id = store.begin_run(source)
        store.commit_page(source, list(texts), run_id=run_id)
        store.finish_run(run_id)


def remove(data_dir: Path, source: str, resource_type: str, *ids: str) -> None:
    """Tombstone resources, as a full sync does when the plan no longer has them."""
    with Store(data_dir, commit_interval=0) as store:
        run_id = store.begin_run(source)
        store.mark_removed(source, resource_type, ids, run_id=run_id)
        store.finish_run(run_id)


def observations(count: int, patient: str = "p1", prefix: str = "obs") -> list[bytes]:
    """`count` small Observations of one patient, with distinct lastUpdated and effective dates."""
    return [orjson.dumps({
        "resourceType": "Observation", "id": f"{prefix}-{number}", "status": "final",
        "meta": {"lastUpdated": f"2024-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}Z"},
        "code": {"text": "heart rate"}, "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"20{10 + number % 15}-0{1 + number % 9}-1{number % 10}",
    }) for number in range(count)]
