"""`mockpayer serve --workers 2 --state redis://...`: two worker processes on one port act as one mock (issue 27).

A real `mockpayer serve` process with two gunicorn workers and a real redis-server. Which worker answers a
request is the kernel's choice, made when a connection is accepted; these tests open connections until they
hold one to each worker, found the way `ss -p` finds it (which process holds the server's end of the connection,
from /proc), so nothing is added to the mock's answers for the test. A keep-alive connection stays with its
worker, so each step below runs on the worker named for it: a code issued by one redeems on the other, a
refresh-token replay on one revokes the family on both, a fault set through `/_admin` counts one sequence of
requests whichever worker answers, and the clock moved once expires tokens on both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from mirror.http.mock_login import complete_mock_login
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, PayerDriver
from tests.mockpayer.test_admin_clock import serve, stop

PATIENT_READ = "/demoplan/r4/Patient/demoplan-m1"
pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="finds each worker's connections in /proc")


def worker_pids(master: int, count: int = 2) -> list[int]:
    """The arbiter's `count` workers, once it has forked them (it announces its URL just before)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
        if len(workers) == count:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"the arbiter has {len(workers)} workers, not {count}")


def serving_worker(client_socket, workers: list[int]) -> int:
    """The worker whose process holds the server's end of this client's loopback connection.

    Connected is not yet accepted: until a worker accepts it, the server's end is in the listening socket's
    queue, held by no process, so this waits for the accept."""
    client_port, server_port = client_socket.getsockname()[1], client_socket.getpeername()[1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        holders = {f"socket:[{inode}]" for inode in server_ends(server_port, client_port)}
        for pid in workers:
            for descriptor in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(descriptor) in holders:
                        return pid
                except OSError:  # a descriptor closed while listed
                    continue
        time.sleep(0.01)
    raise AssertionError(f"no worker accepted the connection from port {client_port} within 10 s")


def server_ends(server_port: int, client_port: int) -> list[str]:
    """The socket inodes of /proc/net/tcp's entries for the server's end of this connection."""
    ends = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == server_port and int(fields[2].split(":")[1], 16) == client_port:
            ends.append(fields[9])
    return ends


class WorkerSession(requests.Session):
    """A session on one keep-alive connection to one chosen worker; every request checks it stayed there."""

    def __init__(self, url: str, worker: int, workers: list[int]):
        super().__init__()
        self.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1))
        self._pool = self.get_adapter(url).poolmanager.connection_from_url(url)
        self.worker, self._workers = worker, workers
        for _ in range(200):  # the kernel picks a worker per connection: try again until it picks this one
            connection = self._pool._get_conn()
            connection.connect()
            if serving_worker(connection.sock, workers) == worker:
                self._pool._put_conn(connection)
                return
            connection.close()
            self._pool._put_conn(None)
        raise AssertionError(f"200 connections and none went to worker {worker}")

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        [connection] = list(self._pool.pool.queue)
        assert connection.sock is not None and serving_worker(connection.sock, self._workers) == self.worker
        return response


@pytest.fixture
def two_workers(redis_url):
    """A mock with two workers sharing Redis: its URL, and one session on each worker."""
    process, url = serve("--workers", "2", "--state", redis_url)
    try:
        workers = worker_pids(process.pid)
        yield url, [WorkerSession(url, worker, workers) for worker in workers]
    finally:
        stop(process)


def sign_in(session: requests.Session, url: str) -> str:
    """The member's pages, all on `session`'s worker; the code they redirect with."""
    location = complete_mock_login(session, PayerDriver(url, None, None).authorize_url(), "member1", "pass-member1")
    return parse_qs(urlsplit(location).query)["code"][0]


def token(session: requests.Session, url: str, **form) -> requests.Response:
    return session.post(f"{url}/oauth2/token", data=form, auth=DEMO_CONFIDENTIAL, timeout=10)


def exchange(session: requests.Session, url: str, code: str) -> requests.Response:
    return token(session, url, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)


def read(session: requests.Session, url: str, access_token: str) -> int:
    return session.get(url + PATIENT_READ, headers={"Authorization": f"Bearer {access_token}"}, timeout=10).status_code


def test_more_than_one_worker_needs_redis_state():
    refused = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--workers", "2", "--port", "0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "--workers 2 needs --state redis://" in refused.stderr


def test_a_port_in_use_is_one_line_and_status_2(redis_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--workers", "2", "--state",
                                  redis_url, "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "mock payer serving" not in refused.stdout
    assert refused.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1 port {port}" in refused.stderr


def test_a_code_issued_by_one_worker_redeems_on_the_other(two_workers):
    url, (first, second) = two_workers
    code = sign_in(first, url)
    tokens = exchange(second, url, code)
    assert tokens.status_code == 200, tokens.text
    assert read(first, url, tokens.json()["access_token"]) == read(second, url, tokens.json()["access_token"]) == 200
    assert exchange(first, url, code).json()["error"] == "invalid_grant"  # spent, on the worker that issued it too


def test_a_refresh_token_replayed_on_one_worker_revokes_the_family_on_both(two_workers):
    url, (first, second) = two_workers
    tokens = exchange(first, url, sign_in(first, url)).json()
    refreshed = token(first, url, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert read(second, url, refreshed["access_token"]) == 200

    replayed = token(second, url, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert read(first, url, refreshed["access_token"]) == read(second, url, refreshed["access_token"]) == 401
    again = token(first, url, grant_type="refresh_token", refresh_token=refreshed["refresh_token"])
    assert again.json()["error"] == "invalid_grant"


def test_a_fault_set_through_admin_fires_on_both_workers_with_one_count(two_workers):
    """Every third request to the member API fails, counted once across both workers: the third fails on the
    first worker and the sixth on the second (counted per worker, the fourth and the sixth would)."""
    url, (first, second) = two_workers
    access_token = exchange(first, url, sign_in(first, url)).json()["access_token"]
    assert first.post(f"{url}/_admin/faults", json={"system_id": "demoplan", "server_error": {"every": 3, "status": 503}},
                      timeout=10).status_code == 200
    answers = [read(session, url, access_token) for session in (first, second, first, first, second, second)]
    assert answers == [200, 200, 503, 200, 200, 503]


def test_the_clock_moved_once_expires_tokens_on_both_workers(two_workers):
    url, (first, second) = two_workers
    tokens = exchange(second, url, sign_in(first, url)).json()
    assert read(first, url, tokens["access_token"]) == read(second, url, tokens["access_token"]) == 200
    moved = second.post(f"{url}/_admin/clock", json={"advance": tokens["expires_in"] + 1}, timeout=10)
    assert moved.status_code == 200
    assert first.get(f"{url}/_admin/clock", timeout=10).json()["offset_seconds"] == tokens["expires_in"] + 1
    assert read(first, url, tokens["access_token"]) == read(second, url, tokens["access_token"]) == 401


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_every_worker(redis_url, stop_signal):
    """The mock announces itself as one process does, answers only its own host names, logs no code or token, and
    one signal to it ends every worker, cleanly."""
    process, url = serve("--workers", "2", "--state", redis_url)
    workers = worker_pids(process.pid)
    assert requests.get(url + "/demoplan/r4/metadata", timeout=10).status_code == 200
    rebound = requests.get(url + "/demoplan/r4/metadata", headers={"Host": "attacker.example"}, timeout=10)
    assert rebound.status_code == 400  # DNS rebinding: a loopback mock answers loopback names only
    with requests.Session() as browser:
        code = sign_in(browser, url)
        tokens = exchange(browser, url, code).json()
    process.send_signal(stop_signal)
    assert process.wait(timeout=30) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    printed = process.stdout.read() + process.stderr.read()
    assert "Traceback" not in printed and "demoplan" in printed  # the tour of the plans, as one process prints it
    for secret in (code, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in printed
