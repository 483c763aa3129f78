"""The app under test, driven the way its users drive it: the `mirror` command (through its Python entry,
in this process, so that a run costs no interpreter start), and its export to see what it holds."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from mirror.cli import main

MEMBER_LOGIN = "member1:pass-member1"


def mirror(data_dir: Path, *arguments: str) -> tuple[int, str, str]:
    """`mirror --data-dir DATA_DIR ARGUMENTS...`: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["--data-dir", str(data_dir), *arguments])
    return status, out.getvalue(), err.getvalue()


def connect_demo(data_dir: Path, mock_url: str) -> None:
    status, _, err = mirror(data_dir, "connect", "demo", "--mock-url", mock_url, "--login", MEMBER_LOGIN)
    assert status == 0, err


def sync(data_dir: Path, *options: str) -> tuple[int, dict]:
    """`mirror sync --json`: (exit status, the demo plan's report)."""
    status, out, _ = mirror(data_dir, "sync", "--json", *options)
    [report] = json.loads(out)["plans"]
    return status, report


def held(data_dir: Path, *options: str) -> dict[str, dict]:
    """What the mirror holds, `{"Type/id": resource}`, read back through `mirror export --format bundle`."""
    out = data_dir.parent / f"export-{len(list(data_dir.parent.glob('export-*')))}.json"
    status, _, err = mirror(data_dir, "export", "--format", "bundle", "--out", str(out), *options)
    assert status == 0, err
    bundle = json.loads(out.read_text(encoding="utf-8"))
    return {f"{entry['resource']['resourceType']}/{entry['resource']['id']}": entry["resource"]
            for entry in bundle.get("entry", [])}


def parsed(records: dict[str, str]) -> dict[str, dict]:
    """The mock's `records(...)` texts as JSON, to compare with `held`."""
    return {key: json.loads(text) for key, text in records.items()}
