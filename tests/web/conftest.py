"""A demo member connected and synced for real from the mock by the `mirror` command, for the page tests, and the
command itself as those tests run it."""

import subprocess
import sys
from pathlib import Path

import pytest

from mirror.api import create_app
from mirror.http.wsgi_server import start_in_thread


def run_mirror(*args, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess:
    """`mirror --data-dir DIR ARGS...` in its own process, as a patient runs it; `check`: it must succeed."""
    result = subprocess.run([sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), *args],
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def synced(mock_payer, tmp_path) -> Path:
    """The data folder of member1 of the demo plan, connected and synced from the running mock."""
    data_dir = tmp_path / "data"
    run_mirror("connect", "demo", "--mock-url", mock_payer.url, "--login", "member1:pass-member1", data_dir=data_dir)
    run_mirror("sync", "demo", data_dir=data_dir)
    return data_dir


@pytest.fixture
def site(synced):
    """That member's records served the way `mirror serve` serves them: (root URL, data folder)."""
    server = start_in_thread(create_app(synced))
    yield server.url, synced
    server.stop()
