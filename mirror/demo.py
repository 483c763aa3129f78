"""`mirror demo`: the whole system on this machine in one command, for a first look.

The mock payer, a connection as its demo member, a sync, then `mirror serve`, with a short tour of what to open and
try; Ctrl-C stops it all.

The mock runs as its own process (`python -m mockpayer.cli serve`), because the mirror never imports the mock,
in a session of its own, so that a terminal's Ctrl-C reaches the demo alone and the demo stops the mock in
order. The demo's records go to a temporary folder, deleted when it stops, never to the member's real data
folder; `--data-dir` keeps them somewhere instead.
"""

from __future__ import annotations

import contextlib
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mirror.http.hosts import LOOPBACK
from mirror.http.wsgi_server import port_is_free
from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, preset
from mirror.sync.options import SyncOptions
from mirror.sync.progress import progress_for

DEFAULT_MOCK_PORT = 9000
DEMO_PLAN = "demo"
DEMO_MEMBER = MockLogin("member1", "pass-member1")
MOCK_START_SECONDS = 30
MOCK_STOP_SECONDS = 10


class DemoError(RuntimeError):
    """The demo could not start; the message says what to do."""


@contextlib.contextmanager
def demo_data_dir(chosen: Path | None) -> Iterator[Path]:
    """`chosen`, kept afterwards; else a private temporary folder, deleted when the block ends."""
    if chosen is not None:
        yield chosen
        return
    folder = Path(tempfile.mkdtemp(prefix="mirror-demo-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running_mock(port: int, show: Callable[[str], None]) -> Iterator[str]:
    """So that the demo talks only to the mock payer it started itself.

    `mockpayer serve` on 127.0.0.1:`port` in a child process (on any free port when `port` is taken, and
    `show` says which); yields the root URL the child reports once it listens, so that the demo talks to the
    mock it started and never to a server someone else runs on the port, and stops it when the block ends,
    however it ends."""
    asked = port if port_is_free(port) else 0
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--host", LOOPBACK, "--port", str(asked)],
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        root = _reported_root(process)
        if asked != port:
            show(f"Port {port} is in use, so the mock payer runs at {root} instead.")
        _wait_until_answering(process, f"{root}/demoplan/r4/metadata")
        yield root
    finally:
        process.terminate()
        try:
            process.wait(MOCK_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _reported_root(process: subprocess.Popen) -> str:
    """So that the demo learns the mock's root URL without the mock's output ever blocking it.

    The root URL from the mock's line "mock payer serving at ROOT", printed once it listens (after its load
    report); the rest of what it prints is read and dropped, so its pipe never fills."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + MOCK_START_SECONDS
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            raise DemoError(f"the mock payer did not start within {MOCK_START_SECONDS} s") from None
        found = re.match(r"mock payer serving at (http://\S+)", line)
        if found is not None:
            return found.group(1)
        if not line:  # the mock stopped before it listened
            process.wait(MOCK_STOP_SECONDS)
            raise DemoError(f"the mock payer stopped at start (exit status {process.returncode}); "
                            "try another --mock-port")


def _read_lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put("")  # the end: the mock stopped


def _wait_until_answering(process: subprocess.Popen, url: str) -> None:
    import requests

    deadline = time.monotonic() + MOCK_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the mock payer stopped at start (exit status {process.returncode})")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise DemoError(f"the mock payer did not answer at {url} within {MOCK_START_SECONDS} s")


def connect_and_sync(mock_url: str, data_dir: Path, show: Callable[[str], None]) -> None:
    """Connects as the demo member through the mock's sign-in pages and brings the records home."""
    known = preset(DEMO_PLAN)
    plan = PlanConfig(DEMO_PLAN, known.on_mock(mock_url), known.client_id, known.scope,
                      "client_secret_post", known.client_secret)
    connection = connect(plan, data_dir, mock_login=DEMO_MEMBER, show=show)
    show(f"Connected to the mock's {known.system_id} as {DEMO_MEMBER.username} (Patient/{connection.token.patient}).")
    from mirror.sync.engine import sync_plans  # the engine and its HTTP stack, for the commands that sync

    report = sync_plans(data_dir, [DEMO_PLAN], SyncOptions(), progress_for(sys.stderr))
    show(report.table())


def tour(root: str, mock_url: str, data_dir: Path, kept: bool) -> str:
    """What to open and what to try, once everything runs."""
    mirror = _mirror_command(data_dir)
    places = [(f"{root}/", "your records, as pages a patient reads"),
              (f"{root}/fhir", "the same records as a read-only FHIR API (examples above)"),
              (f"{mock_url}/demoplan/r4", "the mock plan's own FHIR API (member1 / pass-member1)")]
    width = max(len(url) for url, _ in places)
    lines = [
        "",
        "payer-mirror demo: a mock health plan, and member1's records mirrored from it  (Ctrl-C stops everything)",
        *(f"  {url:<{width}}  {what}" for url, what in places),
        "Try, in another terminal:",
        f"  curl -s '{root}/fhir/ExplanationOfBenefit?_count=2'",
        f"  {mirror} status",
        f"  curl -s -X POST {mock_url}/_admin/advance && {mirror} sync    # the plan's next day: new, "
        "changed and removed claims",
        f"  {mirror} export --format ndjson --out my-records",
        f"The demo's records are in {data_dir}" + ("." if kept else "; they are deleted when the demo stops."),
    ]
    return "\n".join(lines)


def _mirror_command(data_dir: Path) -> str:
    script = Path(sys.executable).with_name("mirror")
    return f"{script if script.exists() else 'mirror'} --data-dir {data_dir}"
