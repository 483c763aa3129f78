"""The export of a synced demo member re-imports to the same resources (issue 6).

member1 connects to the mock and `mirror sync` brings their records home; `mirror export` writes them as the
`data/` of a new plan folder (demoplan's plan.json beside it; the mock loads NDJSON files and collection
Bundles); a second mock serves that folder, and a second sync of member1 from it fills a second store. Both
stores, and what the second mock serves member1, hold the same resources: byte for byte, except that NDJSON puts
a pretty-printed resource on one line, whose JSON values (decimals digit for digit) are then compared.
"""

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from mirror.cli import main
from mirror.http.wsgi_server import start_in_thread
from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, mock_endpoints
from mirror.store import Store
from mirror.sync.engine import sync_plans
from mirror.sync.options import SyncOptions
from mockpayer.app import create_app
from tests.mirror.stores import DEMO_PLAN, MEMBER1

DEMO_SECRET = "mock-secret-not-for-production"  # the mock's published test secret


def sync_member1(payer_url: str, data_dir: Path) -> None:
    plan = PlanConfig("demo", mock_endpoints(payer_url, "demoplan"), "demo-confidential-app",
                      auth_method="client_secret_post", client_secret=DEMO_SECRET)
    connect(plan, data_dir, mock_login=MockLogin("member1", "pass-member1"), show=lambda line: None)
    [report] = sync_plans(data_dir, ["demo"], SyncOptions()).plans
    assert report.status == "complete", report.errors


def held(data_dir: Path) -> dict[tuple[str, str], str]:
    with Store(data_dir, read_only=True) as store:
        return {(kind, stored.id): stored.text for kind in store.counts("demo")
                for stored in store.search(kind, source="demo")}


def same_resource(original: str, copy: str) -> bool:
    if "\n" not in original:
        return copy == original
    return json.loads(copy, parse_float=Decimal) == json.loads(original, parse_float=Decimal)


@pytest.mark.parametrize("export_format, target", [("ndjson", "data"), ("bundle", "data/member.json")])
def test_an_exported_member_reimports_to_the_same_resources(mock_payer, tmp_path, export_format, target):
    synced = tmp_path / "synced"
    sync_member1(mock_payer, synced)
    original = held(synced)
    assert ("Patient", MEMBER1) in original and len(original) > 100

    plan_folder = tmp_path / "plans" / "demoplan"
    plan_folder.mkdir(parents=True)
    shutil.copy(DEMO_PLAN / "plan.json", plan_folder / "plan.json")
    out = plan_folder / target
    assert main(["--data-dir", str(synced), "export", "--format", export_format, "--out", str(out)]) == 0

    reimported_app = create_app(tmp_path / "plans")
    loaded = reimported_app.extensions["mockpayer"].resources["demoplan"]
    assert loaded.problems == []
    served_to_member = {key: loaded.data.resources[key].text for key in loaded.data.readable_by(MEMBER1)}
    assert set(served_to_member) == set(original)
    assert all(same_resource(original[key], text) for key, text in served_to_member.items())

    server = start_in_thread(reimported_app)
    try:
        resynced = tmp_path / "resynced"
        sync_member1(server.url, resynced)
    finally:
        server.stop()
    copy = held(resynced)
    assert set(copy) == set(original)
    assert all(same_resource(original[key], copy[key]) for key in original)
    assert sum(copy[key] == text for key, text in original.items()) >= len(original) - 1  # one pretty-printed
