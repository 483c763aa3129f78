"""`mirror status`: how each plan stands, and the "re-connect needed" mark a sync leaves.

How a plan stands: last sync, records held, token expiry, re-connect needed. A sync leaves the mark when the plan
refuses the saved sign-in (SY-4).

The mark is a small private file beside the plan's connection file, `connections/{NAME}.refused`, holding
when the refusal happened and a fingerprint of the refused tokens (a truncated SHA-256, which reveals
nothing of them). It stands while the connection file still holds those tokens: a `mirror connect` made
since replaces them and so supersedes the mark, and the next sync that gets through removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from mirror.oauth import CONNECTIONS_FOLDER, Connection, Token, list_connections, load_connection
from mirror.store import Store
from mirror.store.files import write_atomically
from mirror.store.records import utc_now
from mirror.store.writer_lock import writer_alive
from mirror.sync.report import COMPLETE, REFERENCES, RESUMABLE, RUNNING

INTERRUPTED = "interrupted"  # a run still marked running whose writer is no longer alive (killed, power cut)

REFUSED_SUFFIX = ".refused"
WALK_WORDS = {REFERENCES: "the records your records reference"}  # checkpoint keys in words; types read as they are


def mark_reconnect_needed(data_dir: Path, name: str) -> None:
    """Mark the sign-in saved now (rotations during the sync included) as refused."""
    mark = {"refused_at": utc_now(), "tokens": _fingerprint(load_connection(data_dir, name).token)}
    write_atomically(_mark_path(data_dir, name), json.dumps(mark).encode())


def clear_reconnect_mark(data_dir: Path, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _mark_path(data_dir, name).unlink()


def reconnect_needed(data_dir: Path, connection: Connection | None) -> bool:
    """True when a sync found the saved sign-in refused and it is still the one saved."""
    if connection is None:
        return False
    try:
        mark = json.loads(_mark_path(data_dir, connection.plan.name).read_bytes())
    except (FileNotFoundError, ValueError):
        return False
    return isinstance(mark, dict) and mark.get("tokens") == _fingerprint(connection.token)


def _mark_path(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / CONNECTIONS_FOLDER / f"{name}{REFUSED_SUFFIX}"


def _fingerprint(token: Token) -> str:
    return hashlib.sha256(f"{token.access_token}\n{token.refresh_token or ''}".encode()).hexdigest()[:16]


def plan_statuses(data_dir: Path, store: Store | None = None) -> list[dict]:
    """One entry per plan that is connected or has records, by name; tokens are never part of it.

    `store` is an open Store of `data_dir` (the served pages pass theirs); without one, one is opened here.
    """
    if store is None:
        with Store(data_dir, read_only=True) as opened:
            return plan_statuses(data_dir, opened)
    connections = {connection.plan.name: connection for connection in list_connections(data_dir)}
    names = sorted(set(connections) | set(store.sources()) | {run.source for run in store.runs()})
    return [_plan_status(data_dir, store, name, connections.get(name)) for name in names]


def _plan_status(data_dir: Path, store: Store, name: str, connection: Connection | None) -> dict:
    runs = store.runs(name)
    last = runs[0] if runs else None
    last_complete = next((run for run in runs if run.status == COMPLETE), None)
    token = connection.token if connection is not None else None
    return {
        "name": name,
        "connected": connection is not None,
        "fhir_base": connection.plan.endpoints.fhir_base if connection else None,
        "patient": token.patient if token else None,
        "last_sync": None if last is None else {
            "run_id": last.run_id, "started_at": last.started_at, "ended_at": last.ended_at,
            "status": _run_status(store, last.status),
            "new": last.new, "changed": last.changed, "unchanged": last.unchanged, "removed": last.removed,
            "errors": list(last.errors), "notes": list(last.notes),
        },
        "last_complete_sync": last_complete.ended_at if last_complete else None,
        "counts": store.counts(name),
        "resumes": [state.resource_type for state in store.sync_states(name) if state.status in RESUMABLE],
        "access_token_expires_at": epoch_instant(token.expires_at) if token else None,
        "has_refresh_token": bool(token and token.refresh_token),
        "reconnect_needed": reconnect_needed(data_dir, connection),
    }


def _run_status(store: Store, status: str) -> str:
    if status == RUNNING and not writer_alive(store.path):
        return INTERRUPTED
    return status


def render_status(statuses: list[dict]) -> str:
    if not statuses:
        return "No plans connected yet; try: mirror connect demo --login member1:pass-member1"
    return "\n\n".join(_render_one(status) for status in statuses)


def _render_one(status: dict) -> str:
    name = status["name"]
    where = f"{status['fhir_base']}, Patient/{status['patient'] or '?'}" if status["connected"] else "not connected"
    lines = [f"{name}: {where}"]
    last = status["last_sync"]
    if last is None:
        lines.append("  last sync: never")
    else:
        lines.append(f"  last sync: {last['status']}, started {last['started_at']}, ended {last['ended_at'] or '-'} "
                     f"(new {last['new']}, changed {last['changed']}, unchanged {last['unchanged']}, "
                     f"removed {last['removed']})")
        lines.extend(f"    error: {error}" for error in last["errors"][:5])
        lines.extend(f"    note: {note}" for note in last["notes"][:5])
    lines.append(f"  last complete sync: {status['last_complete_sync'] or 'never'}")
    counts = status["counts"]
    lines.append("  records: " + (", ".join(f"{kind} {count}" for kind, count in counts.items()) or "none"))
    if status["resumes"]:
        lines.append(f"  next sync resumes: {', '.join(WALK_WORDS.get(key, key) for key in status['resumes'])}")
    if status["connected"]:
        refresh = "a refresh token is saved" if status["has_refresh_token"] else "no refresh token"
        if status["reconnect_needed"] and status["has_refresh_token"]:
            refresh += ", which the plan refused"
        lines.append(f"  access token expires: {status['access_token_expires_at'] or 'unknown'}; {refresh}")
    if status["reconnect_needed"]:
        lines.append(f"  RE-CONNECT NEEDED: the plan refused the saved sign-in; run: mirror connect {name} ...")
    return "\n".join(lines)


def epoch_instant(epoch_seconds: int | None) -> str | None:
    """Epoch seconds (a token's expiry) as an ISO 8601 instant in UTC."""
    return None if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat(
        timespec="seconds")
