"""`mockpayer check` validates a big plan's files in worker processes, and reports what validating in line reports."""

import json

import pytest

from mockpayer import validation
from mockpayer.resources import load_plan_resources

INVALID = [{"resourceType": "Coverage", "id": "c1", "status": 7},
           {"resourceType": "Patient", "id": "p1", "gender": ["female"]}]


@pytest.fixture
def plan(tmp_path):
    folder = tmp_path / "plan"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "invalid.ndjson").write_text("\n".join(json.dumps(resource) for resource in INVALID))
    (folder / "data" / "bundle.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "id": "o1", "status": "final"}},
        {"resource": {"resourceType": "Organization", "id": "org1", "active": "yes"}}]}))
    return folder


def test_workers_report_what_validating_in_line_reports(plan, monkeypatch):
    in_line = [str(problem) for problem in load_plan_resources(plan, validate=True).problems]
    assert sum("fails R4 validation" in line for line in in_line) >= 3

    def refused(where, resource):
        raise AssertionError("validated in this process, not in a worker")

    monkeypatch.setattr(validation, "POOLED_FROM_BYTES", 0)
    monkeypatch.setattr(validation.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(validation, "in_line", refused)
    pooled = [str(problem) for problem in load_plan_resources(plan, validate=True).problems]
    assert pooled == in_line
