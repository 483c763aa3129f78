"""A data folder holding only a store of format 1 (`mirror.json`) is read as it is by every command that reads."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
FORMAT1 = REPOSITORY / "tests" / "store" / "data" / "format1-mirror.json"


def _mirror(data_dir, *arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), *arguments],
                          capture_output=True, text=True, cwd=REPOSITORY, timeout=60)


def test_readers_find_a_folder_holding_only_a_format_1_store(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(FORMAT1, data_dir / "mirror.json")
    claims = _mirror(data_dir, "claims", "--json")
    assert claims.returncode == 0, claims.stderr
    assert "no records are stored" not in claims.stderr
    status = _mirror(data_dir, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert {plan["name"] for plan in json.loads(status.stdout)} == {"plan-a", "plan-b"}
    exported = _mirror(data_dir, "export", "--format", "ndjson", "--out", str(tmp_path / "out"), "--source", "plan-a")
    assert exported.returncode == 0, exported.stderr
    assert any(path.is_file() for path in (tmp_path / "out").rglob("*"))
    assert sorted(path.name for path in data_dir.iterdir()) == ["mirror.json"]  # readers write nothing
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = _mirror(empty, "claims")
    assert refused.returncode == 1 and "no records are stored" in refused.stderr
