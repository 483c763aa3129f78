"""Every `mirror` and `mockpayer` command writing into a pipe whose reader has gone (`mirror status | head -3`)
stops quietly: no BrokenPipeError traceback, no "Exception ignored" at exit, and the exit status a shell gives
a command its reader left (128 + SIGPIPE)."""

import socket
import subprocess
import sys

import pytest

from mirror.http.closed_pipe import CLOSED_PIPE


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def into_a_closed_pipe(module: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS...` whose stdout is a pipe closed before it writes: the reader went away."""
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    process.stdout.close()  # nobody will read
    _, errors = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, None, errors)


def assert_quiet(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr
    assert result.returncode == CLOSED_PIPE, result.stderr


@pytest.mark.parametrize("args", [
    ["status"], ["status", "--json"], ["connections"], ["connections", "--json"],
    ["serve", "--port", "0"],
], ids=" ".join)
def test_mirror_commands_into_a_closed_pipe_stop_quietly(tmp_path, args):
    assert_quiet(into_a_closed_pipe("mirror.cli", "--data-dir", str(tmp_path), *args))


@pytest.mark.parametrize("args", [
    ["plans"], ["plans", "--json"], ["check"], ["serve", "--port", "0"],
], ids=" ".join)
def test_mockpayer_commands_into_a_closed_pipe_stop_quietly(args):
    assert_quiet(into_a_closed_pipe("mockpayer.cli", *args))


def test_mockpayer_generate_into_a_closed_pipe_stops_quietly_after_writing(tmp_path):
    assert_quiet(into_a_closed_pipe("mockpayer.cli", "generate", "--out", str(tmp_path / "plan"), "--members", "1",
                                    "--claims-per-member", "2"))
    assert (tmp_path / "plan" / "plan.json").is_file()


def test_sync_connections_export_and_status_of_a_real_sync_into_a_closed_pipe(mock_payer, tmp_path):
    """`mirror sync | head`: the sync still stores everything before its report meets the closed pipe."""
    data = ["--data-dir", str(tmp_path / "data")]
    connect = subprocess.run([sys.executable, "-m", "mirror.cli", *data, "connect", "demo", "--mock-url", mock_payer.url,
                              "--login", "member1:pass-member1"], capture_output=True, text=True, timeout=120)
    assert connect.returncode == 0, connect.stderr
    assert_quiet(into_a_closed_pipe("mirror.cli", *data, "sync"))
    for args in (["status"], ["connections"], ["claims"], ["export", "--format", "bundle", "--out", str(tmp_path / "b.json")]):
        assert_quiet(into_a_closed_pipe("mirror.cli", *data, *args))
    assert (tmp_path / "b.json").stat().st_size > 0


def test_the_demo_into_a_closed_pipe_stops_its_mock_quietly(tmp_path):
    port, mock_port = _free_port(), _free_port()
    assert_quiet(into_a_closed_pipe("mirror.cli", "demo", "--port", port, "--mock-port", mock_port))
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(mock_port))) != 0  # the mock it started is down
