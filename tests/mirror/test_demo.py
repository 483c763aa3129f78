"""`mirror demo` (what `make demo` runs) as a subprocess: it starts the mock, connects, syncs and serves, prints
a tour whose URLs answer, and on Ctrl-C (SIGINT), SIGTERM or SIGHUP stops everything: both ports free again,
temporary data gone."""

import contextlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

REPOSITORY = Path(__file__).resolve().parents[2]
TOUR_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nobody listens there, and a server could bind it again (SO_REUSEADDR, as servers bind)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def drain(lines: queue.Queue) -> str:
    drained = []
    while True:
        try:
            drained.append(lines.get(timeout=0.5))
        except queue.Empty:
            return "".join(drained)


def lines_of(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def start_demo(port: int, mock_port: int, errors) -> subprocess.Popen:
    """`mirror demo` on these ports in its own process, its output read by the test, its errors into `errors`."""
    return subprocess.Popen([sys.executable, "-m", "mirror.cli", "demo", "--port", str(port), "--mock-port",
                             str(mock_port)], cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=errors, text=True)


def tour_of(demo: subprocess.Popen, lines: queue.Queue, stderr: Path) -> str:
    """What the running demo printed up to the end of its tour (the line naming its records' folder)."""
    printed: list[str] = []
    deadline = time.monotonic() + TOUR_SECONDS
    while not any("deleted when the demo stops" in line for line in printed):
        assert time.monotonic() < deadline and demo.poll() is None, stderr.read_text()
        with contextlib.suppress(queue.Empty):
            printed.append(lines.get(timeout=1))
    return "".join(printed)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "term", "hangup"])
def test_the_demo_serves_its_tour_and_stops_everything_on_ctrl_c_or_termination(tmp_path, stop):
    port, mock_port = free_port(), free_port()
    with (tmp_path / "stderr").open("w") as errors:
        demo = start_demo(port, mock_port, errors)
        try:
            lines = lines_of(demo.stdout)
            tour = tour_of(demo, lines, tmp_path / "stderr")
            [patient_url] = re.findall(r"http://127\.0\.0\.1:\d+/fhir/Patient/[\w.-]+(?=\n)", tour)
            assert patient_url.startswith(f"http://127.0.0.1:{port}/fhir/")
            patient = requests.get(patient_url, headers={"Accept": "application/fhir+json"}, timeout=10)
            assert patient.status_code == 200 and patient.json()["id"] == "demoplan-m1"
            assert requests.get(f"http://127.0.0.1:{mock_port}/demoplan/r4/metadata", timeout=10).status_code == 200
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200  # the patient pages
            [data_dir] = re.findall(r"The demo's records are in (\S+);", tour)
            assert Path(data_dir).is_dir()

            demo.send_signal(stop)
            assert demo.wait(timeout=30) == 0
        finally:
            if demo.poll() is None:
                demo.kill()
    assert "Demo stopped" in drain(lines)
    assert "Traceback" not in (tmp_path / "stderr").read_text()
    assert port_is_free(port) and port_is_free(mock_port)
    assert not Path(data_dir).exists()


def held_port() -> socket.socket:
    """A listening socket on a free loopback port: someone else's server, as far as the demo can tell."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    holder.setblocking(False)
    return holder


def test_the_demo_on_busy_ports_picks_free_ones_says_which_and_never_connects_to_the_other_server(tmp_path):
    """Another demo (or anything) holds both ports: this demo serves elsewhere, says so in one line per port,
    and never opens a connection to the holders."""
    with held_port() as serve_holder, held_port() as mock_holder:
        port, mock_port = serve_holder.getsockname()[1], mock_holder.getsockname()[1]
        with (tmp_path / "stderr").open("w") as errors:
            demo = start_demo(port, mock_port, errors)
            try:
                lines = lines_of(demo.stdout)
                tour = tour_of(demo, lines, tmp_path / "stderr")
                demo.send_signal(signal.SIGINT)
                assert demo.wait(timeout=30) == 0
            finally:
                if demo.poll() is None:
                    demo.kill()
        for holder in (serve_holder, mock_holder):
            with pytest.raises(BlockingIOError):
                holder.accept()  # nobody connected to the other person's servers
    said = (tmp_path / "stderr").read_text()
    [mock_url] = re.findall(rf"Port {mock_port} is in use, so the mock payer runs at (http://127\.0\.0\.1:\d+) instead\.", said)
    [root] = re.findall(rf"Port {port} is in use, so the demo serves at (http://127\.0\.0\.1:\d+) instead\.", said)
    assert mock_url != f"http://127.0.0.1:{mock_port}" and root != f"http://127.0.0.1:{port}"
    assert f"{root}/fhir" in tour and f"{mock_url}/demoplan/r4" in tour and "Traceback" not in said


@pytest.mark.parametrize("command", [["mirror.cli", "--data-dir", "{tmp}", "serve"], ["mockpayer.cli", "serve"]],
                         ids=["mirror serve", "mockpayer serve"])
def test_serving_on_a_port_that_cannot_be_had_is_one_line(tmp_path, command):
    with held_port() as holder:
        port = holder.getsockname()[1]
        args = [part.format(tmp=tmp_path) for part in command]
        result = subprocess.run([sys.executable, "-m", *args, "--port", str(port)], cwd=REPOSITORY,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.endswith(f"cannot listen on 127.0.0.1 port {port}: Address already in use; choose another with --port")
