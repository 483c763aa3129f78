"""`mirror sync` and `mirror status` end to end against the real mock payer on a loopback port.

Connect with the member's login, sync, and compare the store with the member's records on the mock, byte for byte;
then with each of the mock's faults switched on (SY-1, SY-2, SY-4, SY-5, SY-6, IN-J3), an interrupted sync killed at
random moments (SY-7), day-two data (incremental, then --full removals), and the command line.

RUN_SLOW=1 kills the sync twenty times instead of three.
"""

import functools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from mirror.cli import main
from mirror.fhir.raw_json import parse_keeping_entry_texts
from mirror.oauth import MockLogin, connect, load_connection
from mirror.plans import PlanConfig, mock_endpoints
from mirror.store import STORE_FILE_NAME, Store
from mirror.sync.engine import sync_plans
from mirror.sync.options import SyncOptions
from mirror.sync.retry import RetryPolicy
from mockpayer.app import create_app
from mockpayer.plans import BUNDLED_PLANS_DIR
from mirror.http.wsgi_server import start_in_thread

SLOW = os.environ.get("RUN_SLOW") == "1"
REPOSITORY = Path(__file__).resolve().parents[2]
SECRET = "mock-secret-not-for-production"  # the mock's published test secret
MEMBER = MockLogin("member1", "pass-member1")
QUICK_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05)


class Payer:
    """The mock serving `fixtures`, with the member's records as the mock holds them."""

    def __init__(self, fixtures: Path = BUNDLED_PLANS_DIR):
        self.app = create_app(fixtures)
        self.server = start_in_thread(self.app)
        self.url = self.server.url

    def records(self, system_id="demoplan", patient="demoplan-m1") -> dict:
        data = self.app.extensions["mockpayer"].resources[system_id].data
        return {key: data.resources[key].text for key in data.readable_by(patient)}

    def faults(self, **spec):
        answer = requests.post(f"{self.url}/_admin/faults", json={"system_id": "demoplan", **spec}, timeout=10)
        answer.raise_for_status()

    def stop(self):
        self.server.stop()


@pytest.fixture
def payer():
    running = Payer()
    yield running
    running.stop()


def sign_in(payer: Payer, data_dir: Path, name="demo") -> None:
    plan = PlanConfig(name, mock_endpoints(payer.url, "demoplan"), "demo-confidential-app",
                      auth_method="client_secret_post", client_secret=SECRET)
    connect(plan, data_dir, mock_login=MEMBER, show=lambda line: None)


def sync(data_dir: Path, **options):
    [report] = sync_plans(data_dir, ["demo"], SyncOptions(retry=QUICK_RETRIES, **options)).plans
    return report


def held(data_dir: Path, source="demo") -> dict:
    with Store(data_dir, read_only=True) as store:
        return {(kind, stored.id): stored.text for kind in store.counts(source)
                for stored in store.search(kind, source=source)}


@pytest.fixture
def connected(payer, data_dir):
    sign_in(payer, data_dir)
    return data_dir


# the clean run ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"use_everything": False, "page_size": 10}, {"page_size": 7}],
                         ids=["everything", "search-by-type", "everything-7-per-page"])
def test_sync_holds_exactly_the_member_records_byte_for_byte(payer, connected, options):
    """The store ends with exactly the member's resources as the mock holds them, and a second run changes
    nothing (SY-7: idempotent; SY-8: pages of any size)."""
    report = sync(connected, **options)
    assert report.status == "complete" and report.errors == []
    assert held(connected) == payer.records()
    assert sum(row.new for row in report.types.values()) == len(payer.records())
    assert all(row.invalid == 0 for row in report.types.values())
    with Store(connected, read_only=True) as store:  # each record validated, beside the downloads, and valid
        assert all(stored.findings == () for kind in store.counts("demo") for stored in store.search(kind, source="demo"))
    again = sync(connected, **options)
    assert again.status == "complete"
    assert all(row.new == row.changed == 0 for row in again.types.values())
    assert {walk.mode for walk in again.streams.values()} == {"incremental"}
    assert held(connected) == payer.records()


def test_a_full_sync_of_unchanged_data_changes_nothing(payer, connected):
    sync(connected)
    report = sync(connected, full=True)
    assert report.status == "complete" and report.removals_reconciled
    assert sum(row.unchanged for row in report.types.values()) == len(payer.records())
    assert all(row.new == row.changed == row.removed == 0 for row in report.types.values())


def test_a_narrower_grant_skips_the_missing_types(payer, data_dir):
    """CL-6: the member grants fewer scopes; the sync takes what it may and reports the rest as skipped."""
    plan = PlanConfig("demo", mock_endpoints(payer.url, "demoplan"), "demo-confidential-app",
                      "patient/ExplanationOfBenefit.read patient/Coverage.read launch/patient offline_access",
                      "client_secret_post", SECRET)
    connect(plan, data_dir, mock_login=MEMBER, show=lambda line: None)
    report = sync(data_dir)
    assert report.status == "complete"
    assert report.types["Observation"].status == "skipped"
    assert report.types["Observation"].reason == "not in the granted scope"
    expected = {key: text for key, text in payer.records().items() if key[0] in ("ExplanationOfBenefit", "Coverage")}
    assert {key: text for key, text in held(data_dir).items() if key in expected} == expected
    assert {key[0] for key in held(data_dir)} <= {"ExplanationOfBenefit", "Coverage"}


def test_a_granular_grant_syncs_what_it_sees_and_tombstones_nothing_else(payer, connected):
    """SMART v2 granular scope: after a whole sync, a member who reconnects for pharmacy claims only gets those
    refreshed; a full sync then leaves the other claims alone, since the token cannot tell gone from unseen."""
    sync(connected)
    before = held(connected)
    plan = PlanConfig("demo", mock_endpoints(payer.url, "demoplan"), "demo-confidential-app",
                      "patient/ExplanationOfBenefit.rs?type=http://terminology.hl7.org/CodeSystem/claim-type|pharmacy "
                      "launch/patient offline_access", "client_secret_post", SECRET)
    connect(plan, connected, mock_login=MEMBER, show=lambda line: None)
    report = sync(connected, full=True)
    assert report.status == "complete" and report.removals_reconciled
    pharmacy = [key for key, text in payer.records().items() if key[0] == "ExplanationOfBenefit"
                and json.loads(text)["type"]["coding"][0]["code"] == "pharmacy"]
    assert 0 < len(pharmacy) < len([key for key in before if key[0] == "ExplanationOfBenefit"])
    assert report.types["ExplanationOfBenefit"].unchanged == len(pharmacy)
    assert report.types["ExplanationOfBenefit"].removed == 0
    assert report.types["Coverage"].status == "skipped"
    assert held(connected) == before


# with the mock's faults ---------------------------------------------------------------------------------------

CLEAN = "clean"  # ends with the same store as a clean run
PARTIAL_THEN_RESUMED = "partial"  # ends partial with the error shown; with the fault gone, the next run completes

FAULTS = {
    "429 burst": ({"rate_limit": {"from": 2, "to": 5, "retry_after": 0}}, CLEAN),
    "429 with an HTTP-date": ({"rate_limit": {"every": 3, "retry_after": 0, "retry_after_format": "http-date"}}, CLEAN),
    "503 twice on page 3": ({"server_error": {"page": 3, "times": 2, "status": 503}}, CLEAN),
    "502 on every 4th request, once each": ({"server_error": {"every": 4, "status": 502, "times": 3}}, CLEAN),
    "500 on page 3 for good": ({"server_error": {"page": 3, "status": 500}}, PARTIAL_THEN_RESUMED),
    "token expiry every 4 requests": ({"expire_token": {"every": 4}}, CLEAN),
    "latency": ({"latency": {"seconds": [0.0, 0.05]}}, CLEAN),
    "duplicates across pages": ({"duplicates": {"entries": 3}}, CLEAN),
    "next loops to itself": ({"loop_next": {"page": 2, "times": 1}}, CLEAN),
    "next loops to page 1": ({"loop_next": {"page": 4, "back_to": "first", "times": 1}}, CLEAN),
    "truncated page": ({"truncate": {"page": 3, "times": 1}}, CLEAN),
    "truncated page for good": ({"truncate": {"page": 3}}, PARTIAL_THEN_RESUMED),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_ends_with_the_clean_store_or_a_documented_partial(payer, connected, fault):
    spec, expected = FAULTS[fault]
    payer.faults(**spec)
    report = sync(connected, page_size=10)
    if expected == CLEAN:
        assert report.status == "complete", report.errors
        assert held(connected) == payer.records()
        return
    assert report.status == "partial" and report.errors
    assert report.streams["$everything"].status == "incomplete"
    records = payer.records()
    assert all(records[key] == text for key, text in held(connected).items())  # nothing foreign, nothing torn
    payer.faults()  # the fault is gone
    again = sync(connected, page_size=10)
    assert again.status == "complete", again.errors
    assert held(connected) == records


def test_a_truncated_body_is_asked_for_again_like_a_503(payer, connected, capsys, quick_cli_retries):
    """SY-1, SY-6: `mirror sync` through one truncated page (cut mid-body, Content-Length to match) completes,
    exit 0, with every record: the page is asked for again within the run, not left for the next one."""
    payer.faults(truncate={"page": 2, "times": 1})
    assert main(["--data-dir", str(connected), "sync", "--json", "--page-size", "10"]) == 0
    report = json.loads(capsys.readouterr().out)["plans"][0]
    assert report["status"] == "complete" and not report["errors"]
    assert held(connected) == payer.records()


def test_a_resumed_walk_keeps_its_progress_when_its_first_page_comes_back_truncated(payer, connected):
    """SY-6, SY-7: the run resuming at page 3 gets that page truncated once: it asks again, goes on from
    there, and neither the first two pages nor the run that stored them are touched again."""
    payer.faults(server_error={"page": 3, "status": 500})
    first = sync(connected, page_size=10)
    assert first.status == "partial" and first.pages == 2
    stored_first = held(connected)
    payer.faults(truncate={"page": 3, "times": 1})
    clean_pages = -(-len(payer.records()) // 10)
    resumed = sync(connected, page_size=10)
    assert resumed.status == "complete", resumed.errors
    walk = resumed.streams["$everything"]
    assert walk.mode == "resumed" and walk.pages == clean_pages - 2  # page 3 onwards, none twice
    assert held(connected) == payer.records()
    with Store(connected, read_only=True) as store:
        assert all(store.get("demo", kind, record_id).run_id == first.run_id for kind, record_id in stored_first)
    # metadata, page 3 twice, the pages after it; then removals: the walk's ids (never listed yet), page by page
    assert walk.removals == "listed" and resumed.requests == 1 + 2 + (walk.pages - 1) + clean_pages


def test_a_loop_in_everything_falls_back_to_one_search_per_type_in_the_same_run(payer, connected):
    """SY-5: `$everything`'s next link loops for good: the same run lists the records by one search per type and
    ends complete; later runs search by type without asking `$everything` again, until a --full sync does."""
    payer.faults(loop_next={"page": 2})
    report = sync(connected, page_size=10)
    assert report.status == "complete", report.errors
    assert report.streams["$everything"].status == "looping"
    assert report.streams["ExplanationOfBenefit"].status == "complete"
    assert any("$everything" in note and "searched each type instead" in note for note in report.notes)
    assert held(connected) == payer.records()
    assert {row.status for row in report.types.values()} == {"complete"}
    again = sync(connected, page_size=10)
    assert again.status == "complete", again.errors
    assert again.streams["$everything"].mode == "searched by type" and again.pages < report.pages
    payer.faults()
    full = sync(connected, full=True)
    assert full.status == "complete" and full.removals_reconciled
    assert full.streams["$everything"].status == "complete" and "ExplanationOfBenefit" not in full.streams
    assert held(connected) == payer.records()


def test_a_search_whose_paging_loops_is_listed_in_slices_by_last_updated(payer, connected):
    """SY-5: next loops for good on page 3 of every search: `$everything` falls back to the searches by type,
    the longer of which are listed in slices by `_lastUpdated` (repeated parameters are AND, FHIR R4 search
    3.1.1.4.2), checked against the plan's count: complete in one run, every record held."""
    payer.faults(loop_next={"page": 3})
    report = sync(connected, page_size=4)
    assert report.status == "complete", report.errors
    sliced = {key: walk.slices for key, walk in report.streams.items() if walk.slices}
    assert "ExplanationOfBenefit" in sliced and all(count > 1 for count in sliced.values())
    assert any(note.startswith("ExplanationOfBenefit:") and "slices by _lastUpdated" in note for note in report.notes)
    assert report.streams["ExplanationOfBenefit"].removals == "walked whole"  # its slices added up: no listing
    assert held(connected) == payer.records()
    with Store(connected, read_only=True) as store:
        state = store.sync_state("demo", "ExplanationOfBenefit")
    assert state.status == "complete" and state.next_url is None


def test_a_run_cut_short_among_slices_starts_the_search_over(payer, connected):
    """SY-7: a checkpoint written among the slices points at the search's first page (which slices are in is not
    saved), so the next run walks the whole search again rather than finishing one slice and calling it done."""
    payer.faults(loop_next={"page": 3}, server_error={"status": 500, "from": 40})
    report = sync(connected, page_size=4)
    assert report.status == "partial"
    with Store(connected, read_only=True) as store:
        states = {state.resource_type: state for state in store.sync_states("demo")}
    [broken] = [key for key, walk in report.streams.items() if "_lastUpdated=" in (walk.error or "")]
    assert states[broken].status == "incomplete" and "_lastUpdated" not in states[broken].next_url
    assert report.streams[broken].mode == "full" and states[broken].next_url.endswith("&_count=4")
    payer.faults(loop_next={"page": 3})
    again = sync(connected, page_size=4)
    assert again.status == "complete", again.errors
    assert held(connected) == payer.records()


def test_a_permanent_5xx_keeps_the_pages_before_it(payer, connected):
    """SY-6: page 3 of 11 fails for good: partial, pages 1 and 2 stored, the page URL in the error."""
    payer.faults(server_error={"page": 3, "status": 500})
    report = sync(connected, page_size=10)
    assert report.status == "partial" and report.pages == 2
    first_two_pages = sorted(payer.records())[:20]  # $everything pages in type and id order
    assert set(first_two_pages) <= set(held(connected))
    assert all(payer.records()[key] == text for key, text in held(connected).items())
    [error] = report.errors
    assert "$everything" in error and "/demoplan/r4/Patient/demoplan-m1/$everything?" in error
    assert "HTTP 500 after 5 attempts" in error


def test_refreshed_tokens_are_saved_before_use(payer, connected):
    """RT-4, SY-4: after syncing through expiring tokens, the saved (rotated) refresh token still works."""
    before = load_connection(connected, "demo").token
    payer.faults(expire_token={"every": 3})
    assert sync(connected, page_size=10).status == "complete"
    after = load_connection(connected, "demo").token
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token
    payer.faults(expire_token={"every": 1, "times": 1})
    assert sync(connected, full=True).status == "complete"


def test_a_revoked_refresh_token_needs_a_reconnect_and_keeps_what_was_synced(payer, connected, capsys):
    """SY-4: the payer revokes the refresh token, the access token expires mid-sync: stop, mark the plan
    "re-connect needed", keep the pages stored; `mirror connect` again and the sync completes."""
    payer.faults(revoke_refresh={}, expire_token={"from": 4, "times": 1})
    report = sync(connected, page_size=10)
    assert report.status == "partial" and report.reconnect_needed and report.pages == 3
    assert set(sorted(payer.records())[:30]) <= set(held(connected))
    assert main(["--data-dir", str(connected), "status", "--json"]) == 0
    [status] = json.loads(capsys.readouterr().out)
    assert status["reconnect_needed"] and status["last_sync"]["status"] == "partial"
    payer.faults()
    sign_in(payer, connected)
    assert sync(connected, page_size=10).status == "complete"
    assert held(connected) == payer.records()
    main(["--data-dir", str(connected), "status", "--json"])
    [status] = json.loads(capsys.readouterr().out)
    assert not status["reconnect_needed"] and status["last_sync"]["status"] == "complete"


# day two: incremental, then --full ---------------------------------------------------------------------------


def _day_two(plan_folder: Path) -> None:
    """member1's records as single files, with one claim changed, one new and one gone, the new and changed
    ones updated now; every other resource keeps its exact text."""
    bundle_path = plan_folder / "data" / "member-1.json"
    parsed = parse_keeping_entry_texts(bundle_path.read_text(encoding="utf-8"))
    bundle_path.unlink()
    folder = plan_folder / "data" / "member-1"
    folder.mkdir()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    claims = [n for n, entry in enumerate(parsed.document["entry"])
              if entry["resource"]["resourceType"] == "ExplanationOfBenefit"]
    changed, gone, template = claims[0], claims[1], claims[2]
    for number, (entry, text) in enumerate(zip(parsed.document["entry"], parsed.entry_texts, strict=True)):
        if number == gone:
            continue
        if number == changed:
            text = _updated(text.replace('"status":"active"', '"status":"cancelled"', 1), now)
        (folder / f"{number:04}.json").write_text(text, encoding="utf-8")
        if number == template:
            new_id = entry["resource"]["id"] + "-day2"
            new_text = _updated(text.replace(f'"id":"{entry["resource"]["id"]}"', f'"id":"{new_id}"', 1), now)
            (folder / "9999.json").write_text(new_text, encoding="utf-8")


def _updated(text: str, now: str) -> str:
    updated, count = re.subn(r'"lastUpdated":"[^"]*"', f'"lastUpdated":"{now}"', text, count=1)
    assert count == 1
    return updated


def _synced_on_day_one_then_day_two(tmp_path: Path, data_dir: Path, **options) -> tuple[dict, Payer]:
    """The member's records as synced on day one (with sync `options`), and the mock serving day two, signed in
    to again (a new mock knows none of the old tokens, and listens on another port)."""
    fixtures = tmp_path / "plans"
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", fixtures / "demoplan")
    day_one = Payer(fixtures)
    try:
        sign_in(day_one, data_dir)
        assert sync(data_dir, **options).status == "complete"
        before = day_one.records()
    finally:
        day_one.stop()
    _day_two(fixtures / "demoplan")
    day_two = Payer(fixtures)
    try:
        sign_in(day_two, data_dir)
    except BaseException:
        day_two.stop()
        raise
    return before, day_two


def test_a_removal_is_found_by_listing_ids_in_slices_when_the_listing_loops(tmp_path, data_dir):
    """SY-5: day two removes a claim; the search's count disagrees, and listing its ids loops for good on page 3:
    the ids are listed in slices by `_lastUpdated`, which add up to the plan's count, and the claim is removed."""
    searches = {"page_size": 4, "use_everything": False}
    before, day_two = _synced_on_day_one_then_day_two(tmp_path, data_dir, **searches)
    try:
        day_two.faults(loop_next={"page": 3})
        [gone] = [key for key in before if key not in day_two.records()]
        report = sync(data_dir, **searches)
        assert report.status == "complete", report.errors
        walk = report.streams["ExplanationOfBenefit"]
        assert walk.mode == "incremental" and walk.removals == "listed" and not walk.slices
        assert report.types["ExplanationOfBenefit"].removed == 1
        with Store(data_dir, read_only=True) as store:
            assert store.get("demo", *gone).removed
        assert held(data_dir) == day_two.records()
    finally:
        day_two.stop()


def test_day_two_brings_exactly_the_changes(tmp_path, data_dir):
    """SY-7: an incremental sync (_since the plan's clock) brings the new and the changed claim, and its walk's
    count finds the claim that is gone and tombstones it; --full then has nothing left to remove."""
    before, day_two = _synced_on_day_one_then_day_two(tmp_path, data_dir)
    try:
        after = day_two.records()
        new = {key for key in after if key not in before}
        changed = {key for key in after if key in before and after[key] != before[key]}
        gone = {key for key in before if key not in after}
        assert len(new) == len(changed) == 1 and ("ExplanationOfBenefit", next(iter(gone))[1]) in gone

        incremental = sync(data_dir)
        assert incremental.status == "complete" and incremental.streams["$everything"].mode == "incremental"
        with Store(data_dir, read_only=True) as store:
            changes = {(change.kind, change.resource.resource_type, change.resource.id)
                       for change in store.changes(run_id=incremental.run_id)}
        assert changes == ({("new", *key) for key in new} | {("changed", *key) for key in changed}
                           | {("removed", *key) for key in gone})
        assert incremental.types["ExplanationOfBenefit"].new == 1
        assert incremental.types["ExplanationOfBenefit"].changed == 1
        assert incremental.streams["$everything"].removals == "listed"

        full = sync(data_dir, full=True)
        assert full.status == "complete" and full.removals_reconciled
        with Store(data_dir, read_only=True) as store:
            changes = {(change.kind, change.resource.resource_type, change.resource.id)
                       for change in store.changes(run_id=full.run_id)}
        assert changes == set()
        assert held(data_dir) == after
    finally:
        day_two.stop()


class _CtrlCAfter:
    """A progress display whose user presses Ctrl-C once `pages` pages of the run are committed."""

    def __init__(self, pages: int):
        self.pages = pages

    def page(self, plan, walk, pages, received):
        if pages >= self.pages:
            raise KeyboardInterrupt

    def done(self):
        pass


def test_a_full_sync_cut_short_is_finished_by_the_next_run(tmp_path, data_dir):
    """SY-7 for --full: a full sync interrupted part-way keeps, in its checkpoint, the ids it has received;
    the next run (a plain `mirror sync`) resumes from that page instead of starting over, and still
    tombstones exactly the claim the plan no longer has, which needs every id received by both runs."""
    before, day_two = _synced_on_day_one_then_day_two(tmp_path, data_dir)
    try:
        after = day_two.records()
        gone = {key for key in before if key not in after}
        with pytest.raises(KeyboardInterrupt):
            sync_plans(data_dir, ["demo"], SyncOptions(full=True, page_size=4, retry=QUICK_RETRIES), _CtrlCAfter(3))
        with Store(data_dir, read_only=True) as store:
            checkpoint = store.sync_state("demo", "$everything")
            assert checkpoint.status == "running" and checkpoint.full_pass is not None
            assert sum(map(len, checkpoint.seen.values())) == 12  # three pages of four
            assert not any(stored.removed for kind in store.counts("demo") for stored in store.search(kind, source="demo"))

        resumed = sync(data_dir, page_size=4)
        assert resumed.status == "complete" and resumed.removals_reconciled
        assert resumed.streams["$everything"].mode == "resumed"
        assert any("continuing the full sync" in note for note in resumed.notes)
        with Store(data_dir, read_only=True) as store:
            removed = {(change.resource.resource_type, change.resource.id)
                       for change in store.changes(run_id=resumed.run_id) if change.kind == "removed"}
            assert removed == gone
            assert all(state.full_pass is None and state.seen is None for state in store.sync_states("demo"))
        assert held(data_dir) == after

        again = sync(data_dir, page_size=4)  # the full sync is over: back to incremental runs
        assert again.streams["$everything"].mode == "incremental" and not again.removals_reconciled
    finally:
        day_two.stop()


# interrupted: SIGKILL at random moments, then resume ---------------------------------------------------------


def _mirror(data_dir: Path, *arguments) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), *arguments],
                            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _checkpointed(data_dir: Path) -> bool:
    if not (data_dir / STORE_FILE_NAME).exists():
        return False
    with Store(data_dir, read_only=True) as store:
        state = store.sync_state("demo", "$everything")
    return state is not None and state.status == "running"


def test_a_killed_sync_resumes_and_ends_with_the_same_store(payer, connected):
    """SY-7: SIGKILL the sync at random moments (the first time just after a checkpoint is on disk), run it
    again, and the final store is the member's records exactly; the resumed run starts from its checkpoint."""
    payer.faults(latency={"seconds": [0.02, 0.05]})
    rng = random.Random(5)
    kills = 20 if SLOW else 3
    for attempt in range(kills):
        process = _mirror(connected, "sync", "--page-size", "4")
        if attempt == 0:
            deadline = time.monotonic() + 30
            while not _checkpointed(connected) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            time.sleep(rng.uniform(0.3, 1.8))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if attempt == 0:
            assert process.returncode == -signal.SIGKILL, "the sync ended before it could be killed"
            with Store(connected, read_only=True) as store:
                checkpoint = store.sync_state("demo", "$everything")
            assert checkpoint.status == "running" and "_page_token=" in checkpoint.next_url  # survived the kill
    finished = _mirror(connected, "sync", "--page-size", "4", "--json")
    out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    report = json.loads(out)["plans"][0]
    assert report["status"] == "complete"
    assert held(connected) == payer.records()
    with Store(connected, read_only=True) as store:
        statuses = [run.status for run in store.runs("demo")]
    assert statuses[0] == "complete" and "interrupted" in statuses


def test_a_terminated_sync_stops_as_on_ctrl_c_and_the_next_one_resumes(payer, connected):
    """SIGTERM (a service manager, `kill`) ends a sync as Ctrl-C does: exit 130 with one line and no
    traceback, what it stored kept; the next sync resumes and ends with the member's records exactly."""
    payer.faults(latency={"seconds": [0.02, 0.05]})
    process = _mirror(connected, "sync", "--page-size", "4")
    deadline = time.monotonic() + 30
    while not _checkpointed(connected) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip().splitlines()[-1] == "mirror: interrupted", err
    assert "Traceback" not in err
    resumed = _mirror(connected, "sync", "--page-size", "4", "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out)["plans"][0]["streams"]["$everything"]["mode"] == "resumed"
    assert held(connected) == payer.records()


def test_the_command_puts_back_the_signal_handlers_it_found_and_runs_off_the_main_thread(tmp_path, capsys):
    """`main` in a caller's process (a test, a program embedding it) leaves its signal handlers as they were."""
    before = signal.getsignal(signal.SIGTERM)
    assert main(["--data-dir", str(tmp_path), "status"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
    codes = []
    worker = threading.Thread(target=lambda: codes.append(main(["--data-dir", str(tmp_path), "status"])))
    worker.start()
    worker.join(timeout=60)
    assert codes == [0]


# the command line ------------------------------------------------------------------------------------------


def test_sync_and_status_on_the_command_line(payer, connected, capsys):
    """Exit 0 for a complete sync with the summary table; `status` shows the plan; tokens appear nowhere."""
    assert main(["--data-dir", str(connected), "sync"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("demo: complete in ")
    # the demo member's 20 claims and 3 prior authorizations (ExplanationOfBenefit with use = preauthorization)
    assert re.search(r"ExplanationOfBenefit\s+23\s+0\s+0\s+0\s+0\s+complete", table)
    assert main(["--data-dir", str(connected), "status"]) == 0
    status = capsys.readouterr().out
    assert "last sync: complete" in status and "ExplanationOfBenefit 23" in status and "refresh token is saved" in status
    token = load_connection(connected, "demo").token
    assert token.access_token not in table + status and token.refresh_token not in table + status


@pytest.fixture
def quick_cli_retries(monkeypatch):
    """`mirror sync` on the command line with the quick back-off of the engine tests (the same attempts)."""
    monkeypatch.setattr("mirror.cli.SyncOptions", functools.partial(SyncOptions, retry=QUICK_RETRIES))


def test_exit_codes_for_partial_and_failed(payer, connected, capsys, quick_cli_retries):
    """SY-6: 3 when something is missing (and the error is shown), 4 when nothing could be synced."""
    payer.faults(truncate={"page": 2})
    assert main(["--data-dir", str(connected), "sync", "--json", "--page-size", "10"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "partial" and report["exit_code"] == 3
    [error] = report["plans"][0]["errors"]
    assert "$everything?" in error and "not a JSON object" in error and error.endswith("after 5 attempts")
    payer.faults(revoke_refresh={}, expire_token={"from": 1, "times": 1})
    assert main(["--data-dir", str(connected), "sync"]) == 4
    out = capsys.readouterr().out
    assert out.startswith("demo: failed") and "RE-CONNECT NEEDED" in out
    assert main(["--data-dir", str(connected), "status"]) == 0
    status = capsys.readouterr().out
    assert "a refresh token is saved, which the plan refused" in status and "RE-CONNECT NEEDED" in status
    assert "next sync resumes: $everything, the records your records reference" in status  # no "$references"


def test_syncing_a_plan_that_is_not_connected_is_one_line(data_dir, capsys):
    assert main(["--data-dir", str(data_dir), "sync", "nowhere"]) == 1
    assert capsys.readouterr().err.strip() == "mirror: nowhere is not connected; run: mirror connect nowhere ..."


def test_sync_with_no_plan_connected_could_not_start_exit_1(data_dir, capsys):
    """The README's exit table: 1, the sync could not start (no plan connected), not 0 for nothing done."""
    assert main(["--data-dir", str(data_dir), "sync"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("mirror: no plans connected yet") and captured.out == ""
    assert not (data_dir / STORE_FILE_NAME).exists()  # nothing was opened or written
