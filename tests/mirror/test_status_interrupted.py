"""Honest status after a `kill -9`: a sync still marked running whose writer (the store lock's holder) is no
longer alive shows as "interrupted" in `mirror status`, `--json` and the home page, not "running"."""

import json
import signal
import subprocess
import sys
from pathlib import Path

from mirror.api import create_app
from mirror.cli import main
from mirror.store import Store

REPOSITORY = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from pathlib import Path
from mirror.store import Store
store = Store(sys.argv[1])
store.begin_run("demo")
store.flush()
print("running", flush=True)
sys.stdin.read()
"""


def test_a_sync_whose_writer_was_killed_shows_interrupted(tmp_path, capsys):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPOSITORY)
    try:
        assert writer.stdout.readline() == "running\n"
        assert main(["--data-dir", str(tmp_path), "status", "--json"]) == 0
        [alive] = json.loads(capsys.readouterr().out)
        assert alive["last_sync"]["status"] == "running"  # its writer still runs
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert main(["--data-dir", str(tmp_path), "status", "--json"]) == 0
    [killed] = json.loads(capsys.readouterr().out)
    assert killed["last_sync"]["status"] == "interrupted"
    assert main(["--data-dir", str(tmp_path), "status"]) == 0
    assert "last sync: interrupted" in capsys.readouterr().out
    with Store(tmp_path, read_only=True) as store:
        home = create_app(store).test_client().get("/").get_data(as_text=True)
    assert "status-interrupted" in home and "status-running" not in home
