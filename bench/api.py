"""Benchmark of the mirror's FHIR API (`mirror serve`) over a store of 100,000 resources (issue 6).

For each request type it measures requests per second and p50/p95 latency, beside the same server's
hello-world route measured in the same run: read by id, a 50-resource search by patient, and the first
page of `$everything` for one member. Targets from the issue are printed with the ratios: read by id at least
50 % of hello-world throughput; a 50-resource search page within 4x a read (latency, p50).

The store: one generated plan (mockpayer.generate, 20 members of 60 claims, about 10 KB per claim) tiled
with new member ids until it holds the asked-for number of resources, written once with the store's own
batched commits (validation off: the data is known R4). The server is the product's `create_app` on waitress,
with one extra route (`/bench/hello`) added to this run's app instance only; it runs in its own process so that
the load generator (threads with keep-alive `http.client` connections, the lightest pure-Python client) does
not share its interpreter. Each measurement is bounded in time. Every file goes to a temporary folder that is
deleted afterwards.

    .venv/bin/python bench/api.py [--resources 100000] [--seconds 5] [--threads 4]
"""

import argparse
import http.client
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from mirror.api import create_app
from mirror.http.wsgi_server import serve_forever
from mirror.store import STORE_FILE_NAME, Store
from mockpayer.generate import write_plan
from mockpayer.resources import load_plan_resources

SOURCE = "benchplan"
MEMBERS_PER_TILE = 20
CLAIMS_PER_MEMBER = 60  # so that a patient search has a full page of 50
TILE_MARK = "bench-m"  # every member id, and every id derived from one, starts with this


def build_store(data_dir: Path, wanted: int) -> list[str]:
    """Fill a store with about `wanted` resources; returns the member (Patient) ids."""
    plan = data_dir.parent / "plan"
    write_plan(plan, system_id="bench", members=MEMBERS_PER_TILE, claims_per_member=CLAIMS_PER_MEMBER, seed=6)
    texts = [stored.text for stored in load_plan_resources(plan).data.resources.values()]
    per_member = [text for text in texts if TILE_MARK in text]
    shared = [text for text in texts if TILE_MARK not in text]
    tiles = max(1, -(-(wanted - len(shared)) // len(per_member)))
    started = time.perf_counter()
    with Store(data_dir) as store:
        run_id = store.begin_run(SOURCE)
        store.commit_page(SOURCE, shared, run_id=run_id)
        for tile in range(tiles):
            store.commit_page(SOURCE, [text.replace(TILE_MARK, f"bench-t{tile}-m") for text in per_member],
                              run_id=run_id)
            if tile % 10 == 9 or tile == tiles - 1:
                print(f"  stored {len(shared) + (tile + 1) * len(per_member):,} resources "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
        store.finish_run(run_id)
        members = sorted(stored.id for stored in store.search("Patient", source=SOURCE))
        total = sum(store.counts(SOURCE).values())
    size = (data_dir / STORE_FILE_NAME).stat().st_size
    print(f"  {total:,} resources, {len(members):,} members, store file {size / 2**20:.0f} MB", flush=True)
    return members


def serve(data_dir: Path, ports: multiprocessing.Queue) -> None:
    """The server process: the product's app over the store, plus this run's hello-world route."""
    app = create_app(data_dir)
    app.add_url_rule("/bench/hello", "hello", lambda: "hello")
    serve_forever(app, "127.0.0.1", 0, announce=lambda root: ports.put(int(root.rsplit(":", 1)[1])))


class Measurement:
    def __init__(self, name: str, latencies: list[float], seconds: float):
        self.name = name
        self.rate = len(latencies) / seconds
        ordered = sorted(latencies)
        self.p50 = statistics.median(ordered) * 1000
        self.p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000
        self.count = len(latencies)


def measure(name: str, port: int, path_for, seconds: float, threads: int) -> Measurement:
    """`threads` clients, each on one keep-alive connection, asking for `path_for(rng)` until time is up."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        rng = random.Random(f"{name}-{number}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.perf_counter() < deadline:
            path = path_for(rng)
            started = time.perf_counter()
            connection.request("GET", path, headers={"Accept": "application/fhir+json"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=client, args=(number,)) for number in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        sys.exit(f"{name}: {len(failures)} failed requests, e.g. {failures[0]}")
    return Measurement(name, latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        data_dir = Path(folder) / "data"
        print(f"building a store of {args.resources:,} resources", flush=True)
        members = build_store(data_dir, args.resources)
        eob_ids = [f"{member}-eob{claim}" for member in members[:200] for claim in range(1, CLAIMS_PER_MEMBER + 1)]

        ports: multiprocessing.Queue = multiprocessing.Queue()
        started = time.perf_counter()
        server = multiprocessing.Process(target=serve, args=(data_dir, ports), daemon=True)
        server.start()
        try:
            port = ports.get(timeout=600)
            print(f"server ready in {time.perf_counter() - started:.1f} s (opens the store read-only)", flush=True)
            scenarios = [
                ("hello-world", lambda rng: "/bench/hello"),
                ("read by id", lambda rng: f"/fhir/ExplanationOfBenefit/{rng.choice(eob_ids)}"),
                ("search by patient, 50", lambda rng: f"/fhir/ExplanationOfBenefit?patient={rng.choice(members)}"
                                                      "&_count=50"),
                ("$everything, 1st page", lambda rng: f"/fhir/Patient/{rng.choice(members)}/$everything"),
            ]
            for name, path_for in scenarios:  # warm up: imports, the lastUpdated index, first-use caches
                measure(name, port, path_for, 0.5, 1)
            results = {name: measure(name, port, path_for, args.seconds, args.threads)
                       for name, path_for in scenarios}
        finally:
            server.terminate()
            server.join()

    hello = results["hello-world"]
    read = results["read by id"]
    search = results["search by patient, 50"]
    print(f"\n{'':24}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'requests':>10}{'vs hello':>10}")
    for result in results.values():
        print(f"{result.name:24}{result.rate:9.0f}{result.p50:9.2f}{result.p95:9.2f}{result.count:10}"
              f"{result.rate / hello.rate:9.0%}")
    print(f"\nread by id / hello-world throughput: {read.rate / hello.rate:.0%} (target >= 50%)")
    print(f"search page (50) / read, p50 latency: {search.p50 / read.p50:.1f}x (target <= 4x); "
          f"throughput {read.rate / search.rate:.1f}x")


if __name__ == "__main__":
    main()
