"""Load benchmark of `mockpayer serve`: many members at once against one worker process and two (issue 27).

QA teams load-test their apps against a payer: many members signing in and paging their claims at once. One
process of the mock cannot use a second core; `--workers 2 --state redis://...` runs two that share their state
in Redis. This measures whether that pays: on one generated plan, N simulated members, each on its own thread,
each repeating until time is up what an app does for a member:

- sign in through the mock's pages (mirror/http/mock_login.py: login, the second step if any, consent);
- exchange the code for tokens;
- page through the member's ExplanationOfBenefits, 50 to a page, following `next`;
- refresh the token.

Every HTTP request is one sample: its latency, and an error when it fails or answers 4xx/5xx (a 302 of the
sign-in pages is their answer). The members' threads run in a pool of client processes (`--clients`), so that
the load generator's own interpreter lock is not the limit; they share the machine's cores with the mock and
Redis, and the CPU seconds each side used are printed (the mock's and Redis's while measured, the clients' from
their start, warm-up included), so a reader can see which one ran out.

Setups, each started fresh as its own process on the same plan, with a warm-up whose requests are not counted:
1 worker with its state in process (today's default, the reference), 1 worker with `--state redis://`, and
2 workers with `--state redis://`. Target (issue 27): 2 workers at least 1.3x the requests per second of 1
worker, both with Redis, with zero errors. Redis is Debian's redis-server, started by the same code as the
suite's fixture (tests/redis_server.py), in a temporary folder deleted afterwards, like the plan.

    .venv/bin/python bench/mock_load.py [--members 50] [--claims 200] [--clients 2] [--seconds 20] [--warm-up 3]
"""

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import redis
import requests

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))  # this checkout's code, and the suite's redis-server starter

from mirror.http.mock_login import MockLoginError, complete_mock_login  # noqa: E402
from mockpayer.generate import write_plan  # noqa: E402
from mockpayer.plans import load_plan  # noqa: E402
from tests.redis_server import REDIS_SERVER, running_redis  # noqa: E402

SYSTEM_ID = "loadplan"
PAGE_SIZE = 50
TARGET = 1.3
SCOPE = "patient/*.read launch/patient offline_access"
START_SECONDS = 120
# The next page's URL, read from the head of the page, where the mock writes the Bundle's links before its
# entries: parsing every page of 50 claims would double this client's CPU per request (bench/README.md).
NEXT_LINK = re.compile(rb'\{"relation":"next","url":"([^"]+)"\}')
LINKS_WITHIN = 4096


@dataclass(frozen=True)
class Member:
    username: str
    password: str
    mfa: str | None
    patient_id: str


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    redirect_uri: str


class TimedSession(requests.Session):
    """A session that records each request as a sample: (started, seconds, ok)."""

    def __init__(self, samples: list):
        super().__init__()
        self.samples = samples
        self.trust_env = False  # no proxy settings read from the environment on every request: client CPU

    def request(self, method, url, *args, **kwargs):
        started = time.perf_counter()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException:
            self.samples.append((started, time.perf_counter() - started, False))
            raise
        self.samples.append((started, time.perf_counter() - started, response.status_code < 400))
        return response


def member_visit(root: str, member: Member, client: Client, samples: list) -> None:
    """One member's visit as an app makes it; raises on the first step that fails."""
    session = TimedSession(samples)
    query = urlencode({"client_id": client.client_id, "redirect_uri": client.redirect_uri, "scope": SCOPE,
                       "state": "load"})
    location = complete_mock_login(session, f"{root}/oauth2/authorize/{SYSTEM_ID}?{query}", member.username,
                                   member.password, mfa_code=member.mfa)
    code = parse_qs(urlsplit(location).query)["code"][0]
    credentials = {"client_id": client.client_id, "client_secret": client.secret}
    tokens = _token(session, root, {"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": client.redirect_uri, **credentials})
    page_url: str | None = (f"{root}/{SYSTEM_ID}/r4/ExplanationOfBenefit?"
                            f"{urlencode({'patient': member.patient_id, '_count': PAGE_SIZE})}")
    while page_url:
        response = session.get(page_url, headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=60)
        response.raise_for_status()
        found = NEXT_LINK.search(response.content, 0, LINKS_WITHIN)
        page_url = found[1].decode() if found else None
    _token(session, root, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **credentials})
    session.close()


def _token(session: requests.Session, root: str, form: dict) -> dict:
    response = session.post(f"{root}/oauth2/token", data=form, timeout=60)
    response.raise_for_status()
    return response.json()


def client_process(root: str, members: list[Member], client: Client, until: float) -> tuple[list, list[str], float]:
    """In a client process: one thread per member, visiting until `until` (wall clock); samples, failures, CPU s."""
    samples: list = []
    failures: list[str] = []
    cpu = time.process_time()

    def visits(member: Member) -> None:
        while time.time() < until:
            try:
                member_visit(root, member, client, samples)
            except (requests.RequestException, MockLoginError, KeyError, ValueError) as error:  # a figure of the run
                failures.append(f"{type(error).__name__}: {error}"[:200])

    threads = [threading.Thread(target=visits, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Samples carry perf_counter times, which mean nothing in another process: made wall-clock here.
    offset = time.time() - time.perf_counter()
    return [(started + offset, seconds, ok) for started, seconds, ok in samples], failures, time.process_time() - cpu


@dataclass
class Result:
    name: str
    rate: float
    p50: float
    p95: float
    requests: int
    errors: int
    failures: list[str]
    server_cpu: float | None
    redis_cpu: float | None
    client_cpu: float


def measure(name: str, command: list[str], pool: ProcessPoolExecutor, clients: int, members: list[Member],
            client: Client, warm_up: float, seconds: float, redis_url: str | None) -> Result:
    server, root = start_mock(command)
    try:
        begin = time.time() + warm_up
        end = begin + seconds
        shares = [members[index::clients] for index in range(clients)]
        futures = [pool.submit(client_process, root, share, client, end) for share in shares if share]
        time.sleep(max(0.0, begin - time.time()))
        cpu_before, redis_before = process_tree_cpu(server.pid), redis_cpu(redis_url)
        time.sleep(max(0.0, end - time.time()))
        cpu_after, redis_after = process_tree_cpu(server.pid), redis_cpu(redis_url)
        done = [future.result() for future in futures]
    finally:
        stop_mock(server)
    counted = [(seconds, ok) for part in done for started, seconds, ok in part[0] if begin <= started < end]
    latencies = sorted(seconds for seconds, _ in counted)
    return Result(name, len(counted) / seconds, _percentile(latencies, 50), _percentile(latencies, 95), len(counted),
                  sum(not ok for _, ok in counted), [failure for part in done for failure in part[1]],
                  _difference(cpu_after, cpu_before), _difference(redis_after, redis_before),
                  sum(part[2] for part in done))


def start_mock(command: list[str]) -> tuple[subprocess.Popen, str]:
    """`mockpayer serve ... --port 0` as its own process; its root URL once it announces it."""
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    server = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", "0", *command],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    deadline = time.monotonic() + START_SECONDS
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith("mock payer serving at "):
            threading.Thread(target=server.stdout.read, daemon=True).start()  # the tour that follows, unread
            return server, line.split()[4]
        if time.monotonic() > deadline:
            break
    server.kill()
    sys.exit(f"bench/mock_load.py: `mockpayer serve {' '.join(command)}` did not start")


def stop_mock(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def process_tree_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) used so far by a process and its children, from /proc (None elsewhere)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for process in [str(pid), *children]:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
        return total / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def redis_cpu(url: str | None) -> float | None:
    if url is None:
        return None
    with redis.Redis.from_url(url) as client:
        info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _percentile(ordered: list[float], percent: int) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, len(ordered) * percent // 100)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50, help="members of the plan, each a simulated client")
    parser.add_argument("--claims", type=int, default=200, help="claims per member")
    parser.add_argument("--clients", type=int, default=2, help="client processes the members' threads run in")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per setup")
    parser.add_argument("--warm-up", type=float, default=3, help="seconds per setup before measuring")
    args = parser.parse_args()
    if REDIS_SERVER is None:
        sys.exit("bench/mock_load.py needs Debian's redis-server (`apt-get install redis-server`)")

    with tempfile.TemporaryDirectory(prefix="mock-load-") as folder:
        plans = Path(folder) / "plans"
        summary = write_plan(plans / SYSTEM_ID, system_id=SYSTEM_ID, name="Load Plan", base_url="loadplan.example",
                             members=args.members, claims_per_member=args.claims, seed=27)
        plan = load_plan(plans / SYSTEM_ID)
        members = [Member(m.username, m.password, m.mfa, m.patient_id) for m in plan.members.values()]
        confidential = next(c for c in plan.clients.values() if c.client_secret)
        client = Client(confidential.client_id, confidential.client_secret, confidential.redirect_uris[0])
        print(f"plan: {args.members} members x {args.claims} claims ({sum(summary.resources.values()):,} resources, "
              f"{summary.bytes / 2**20:.0f} MB); {len(members)} simulated members in {args.clients} client processes; "
              f"{args.seconds:g} s measured per setup after {args.warm_up:g} s of warm-up; {os.cpu_count()} cores",
              flush=True)
        fixtures = ["--fixtures", str(plans)]
        results = []
        spawn = multiprocessing.get_context("spawn")
        with running_redis(Path(folder)) as redis_url, ProcessPoolExecutor(args.clients, mp_context=spawn) as pool:
            setups = [("1 worker, state in process", fixtures, None),
                      ("1 worker, --state redis", [*fixtures, "--state", redis_url], redis_url),
                      ("2 workers, --state redis", [*fixtures, "--state", redis_url, "--workers", "2"], redis_url)]
            for name, command, state in setups:
                if state is not None:
                    with redis.Redis.from_url(state) as shared:
                        shared.flushall()
                results.append(measure(name, command, pool, args.clients, members, client, args.warm_up,
                                       args.seconds, state))
                print_row(results[-1], header=len(results) == 1)
    print_verdict(results[1], results[2])


def print_row(result: Result, header: bool) -> None:
    if header:
        print(f"\n{'':28}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'requests':>10}{'errors':>8}"
              f"{'server CPU s':>14}{'redis CPU s':>13}{'client CPU s':>14}")
    print(f"{result.name:28}{result.rate:8.0f}{result.p50:9.1f}{result.p95:9.1f}{result.requests:10}{result.errors:8}"
          f"{_seconds(result.server_cpu):>14}{_seconds(result.redis_cpu):>13}{result.client_cpu:14.1f}", flush=True)
    if result.failures:
        print(f"  {len(result.failures)} failed visits, e.g. " + "; ".join(sorted(set(result.failures))[:3]))


def print_verdict(one: Result, two: Result) -> None:
    ratio = two.rate / one.rate if one.rate else float("nan")
    errors = one.errors + two.errors + len(one.failures) + len(two.failures)
    met = "met" if ratio >= TARGET and errors == 0 else "NOT met"
    print(f"\n2 workers / 1 worker (both --state redis): {ratio:.2f}x requests/s, {errors} errors and failed visits "
          f"(target >= {TARGET}x with zero errors): {met}")


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
