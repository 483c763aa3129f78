"""The mirror's local store: each member's resources exactly as received, their history, and the sync state."""

import contextlib
import dataclasses
import os
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from mirror.fhir.compartment import patient_ids
from mirror.fhir.dates import FhirDateError, date_range
from mirror.store.errors import ReadOnlyStore, StoreCorrupt, StoreError
from mirror.store.files import (PRIVATE_FILE_MODE, STORE_FILE_NAME, FileSignature, append_durably, default_data_dir,
                                ensure_private_folder, keep_as_backup, narrow_mode,
                                remove_stale_temporaries, signature, write_atomically)
from mirror.store.ingest import IngestedResource, Received, ingest
from mirror.store.records import Change, PageResult, StoredResource, SyncRun, SyncState, as_timestamp, utc_now
from mirror.store.store_file import (FORMAT1_FILE_NAME, FRAME_HEADER_BYTES, DamagedFile, backup_path, frame,
                                     frames_from, record_line)
from mirror.store.tables import Tables, TypeKey, identity
from mirror.store.writer_lock import WriterLock

FINISHED_RUN_STATUSES = ("complete", "partial", "failed")
MOST_RUN_ERRORS = 100


class Store:
    """One store folder, held in memory; a writer holds the lock, `commit_interval=0` writes on every call."""

    def __init__(self, data_dir: Path | str | None = None, *, read_only: bool = False, commit_interval: float = 1.0):
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        self.path = folder / STORE_FILE_NAME
        self.read_only = read_only
        self._commit_interval = commit_interval
        self._lock = threading.RLock()
        self._writer_lock: WriterLock | None = None
        self._own_runs: set[str] = set()
        self._last_commit_end = time.monotonic()
        self._signature: FileSignature | None = None
        if not read_only:
            ensure_private_folder(folder)
            self._writer_lock = WriterLock(self.path)
        try:
            self._load()
            if not read_only:
                self._prepare_for_writing()
        except BaseException:
            self._release_writer_lock()
            raise

    def _load(self) -> None:
        """Read the whole file (format 1's when only that exists); a reader does this again after a compaction."""
        tables, self._staged = Tables(), dict[tuple, tuple[str, dict]]()
        self._format1 = False
        try:
            with open(self.path, "rb") as opened:
                raw = opened.read()
                read_signature = signature(opened.fileno())  # of the file read, not of what the path names now
        except FileNotFoundError:
            self._tables, self._signature, self._size, self._head = self._format1_tables(), None, 0, b""
            return
        try:
            self._size = tables.read(raw, snapshot=True, path=self.path)
        except DamagedFile as error:
            raise _corrupt(self.path, str(error)) from None
        self._tables, self._signature, self._head = tables, read_signature, raw[:FRAME_HEADER_BYTES]

    def _format1_tables(self) -> Tables:
        """The tables of a store written in format 1 (`mirror.json`), converted when a writer opens it."""
        tables, old = Tables(), self.path.with_name(FORMAT1_FILE_NAME)
        try:
            tables.read_format1(old.read_bytes())
        except FileNotFoundError:
            return tables
        except DamagedFile as error:
            raise StoreCorrupt(f"{old} (a store of an older format) cannot be read: {error}. It was left untouched; "
                               f"move it aside and run `mirror sync` to fetch your records again.", None) from None
        self._format1 = True
        return tables

    def _prepare_for_writing(self) -> None:
        remove_stale_temporaries(self.path)
        assert self._writer_lock is not None  # taken before a writer prepares
        for path in (self.path, backup_path(self.path), self._writer_lock.path):
            if path.exists():
                narrow_mode(path, PRIVATE_FILE_MODE)
        if self._signature is None:
            self._compact()  # a new store exists at once for its readers; format 1's is converted, and kept aside
            if self._format1:  # its backup is kept too; its lock is left from the writer of format 1
                for old in (FORMAT1_FILE_NAME, f"{FORMAT1_FILE_NAME}.1"):
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(self.path.with_name(old), self.path.with_name(f"{old}.format1"))
                self.path.with_name(f"{FORMAT1_FILE_NAME}.lock").unlink(missing_ok=True)
        elif self._signature[1] > self._size:
            os.truncate(self.path, self._size)  # a commit a crash cut short

    def flush(self) -> bool:
        """Write everything staged now; True when there was something to write."""
        with self._lock:
            return self._commit()

    def close(self) -> None:
        """Flush (a writer), then give up the writer lock. Closing twice is harmless."""
        with self._lock:
            try:
                if not self.read_only and self._writer_lock is not None:
                    self._commit()
            finally:
                self._release_writer_lock()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def generation(self) -> int:
        """How many commits the file has seen; it changes with every write."""
        with self._reading():
            return self._tables.generation

    def _release_writer_lock(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    def begin_run(self, source: str) -> str:
        """Start a run of `source`; running runs this Store did not start were cut short, so mark them interrupted."""
        _check_source(source)
        with self._writing():
            for run in list(self._tables.sync_runs.values()):
                if run["status"] == "running" and run["run_id"] not in self._own_runs:
                    self._put("sync_runs", {**run, "status": "interrupted"})
            run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
            self._put("sync_runs", {
                "run_id": run_id, "source": source, "started_at": utc_now(), "ended_at": None,
                "status": "running", "new": 0, "changed": 0, "unchanged": 0, "removed": 0, "errors": [],
            })
            self._own_runs.add(run_id)
            self._commit_if_due()
            return run_id

    def finish_run(self, run_id: str, *, status: str = "complete", errors: Iterable[str] = (),
                   notes: Iterable[str] = ()) -> SyncRun:
        """Record how a run ended, with its errors and notes, and write everything to disk now."""
        if status not in FINISHED_RUN_STATUSES:
            raise StoreError(f"A run ends as one of {', '.join(FINISHED_RUN_STATUSES)}, not {status!r}.")
        messages = [str(message) for message in errors][:MOST_RUN_ERRORS]
        remarks = [str(note) for note in notes][:MOST_RUN_ERRORS]
        with self._writing():
            run = {**self._run(run_id), "ended_at": utc_now(), "status": status, "errors": messages, "notes": remarks}
            self._put("sync_runs", run)
            self._own_runs.discard(run_id)
            self._commit()
            return _sync_run(run)

    def discard_staged(self) -> None:
        """Forget what a failed write staged, so a smaller write (the end of the run) may still get through."""
        with self._writing():
            self._load()

    def commit_page(self, source: str, resources: Iterable[Received], *, run_id: str, request_url: str | None = None,
                    fetched_at: str | None = None, sync_state: SyncState | None = None) -> PageResult:
        """Store one page and the sync state after it as one unit; a bad resource raises and keeps nothing."""
        self._check_writable()
        _check_source(source)
        received: dict[tuple[str, str], tuple[IngestedResource, dict]] = {}
        for index, resource in enumerate(resources):
            ingested, parsed = ingest(resource, index)
            received[(ingested.resource_type, ingested.id)] = ingested, parsed
        with self._writing():
            run, fetched_at = self._run(run_id), fetched_at or utc_now()
            counts = {"new": 0, "changed": 0, "unchanged": 0}
            new_versions = []
            for ingested, parsed in received.values():
                current = self._current(source, ingested.resource_type, ingested.id)
                if (current is not None and current["content_hash"] == ingested.content_hash
                        and current["removed_at"] is None):
                    counts["unchanged"] += 1
                    continue
                if current is not None:
                    self._put("history", {**current, "superseded_at": fetched_at})
                self._put("resources", {
                    "source": source, "resource_type": ingested.resource_type, "id": ingested.id, "text": ingested.text,
                    "content_hash": ingested.content_hash, "version": 1 if current is None else current["version"] + 1,
                    "last_updated": ingested.last_updated, "patient_ids": tuple(sorted(patient_ids(parsed))),
                    "findings": None, "request_url": request_url, "fetched_at": fetched_at, "run_id": run_id,
                    "removed_at": None, "removed_run_id": None,
                })
                counts["new" if current is None else "changed"] += 1
                new_versions.append((ingested.resource_type, ingested.id, ingested.content_hash))
            written = self._end_call(source, run, sync_state, **counts)
        return PageResult(**counts, written=written, new_versions=tuple(new_versions))

    def record_findings(self, source: str, findings: Iterable[tuple[str, str, str, list[str]]]) -> int:
        """Record (type, id, hash, findings) for content still current; returns how many."""
        recorded = 0
        with self._writing():
            for resource_type, resource_id, content_hash, found in findings:
                current = self._current(source, resource_type, resource_id)
                if current is not None and current["content_hash"] == content_hash:
                    self._put("resources", {**current, "findings": tuple(str(finding) for finding in found)})
                    recorded += 1
            if recorded:
                self._commit_if_due()
            return recorded

    def unvalidated(self, source: str) -> list[StoredResource]:
        """The current, not removed resources of `source` whose content has not been validated yet."""
        with self._reading():
            return [StoredResource.from_document(document)
                    for (type_source, _), held in self._tables.resources.items() if type_source == source
                    for document in held.values() if document["findings"] is None and document["removed_at"] is None]

    def mark_removed(self, source: str, resource_type: str, ids: Iterable[str], *, run_id: str,
                     sync_state: SyncState | None = None) -> int:
        """Tombstone resources the source no longer has (their text and history stay); returns how many."""
        with self._writing():
            run = self._run(run_id)
            removed_at, removed = utc_now(), 0
            for resource_id in sorted(set(ids)):
                current = self._current(source, resource_type, resource_id)
                if current is not None and current["removed_at"] is None:
                    self._put("resources", {**current, "removed_at": removed_at, "removed_run_id": run_id})
                    removed += 1
            self._end_call(source, run, sync_state, removed=removed)
            return removed

    def _end_call(self, source: str, run: dict, state: SyncState | None, **counts: int) -> bool:
        """Stage the run's counts with the sync state that follows the call's data, so one commit holds all three."""
        if state is not None:
            self._put("sync_state", {"source": source, **dataclasses.asdict(state), "run_id": run["run_id"],
                                     "updated_at": utc_now()})
        self._put("sync_runs", {**run, **{name: run[name] + count for name, count in counts.items()}})
        return self._commit_if_due()

    def _put(self, table: str, document: dict) -> None:
        """Change the tables in memory, and stage the document for the next commit."""
        self._tables.apply(table, document)
        self._staged[identity(table, document)] = (table, document)

    def _current(self, source: str, resource_type: str, resource_id: str) -> dict | None:
        return self._tables.resources.get((source, resource_type), {}).get(resource_id)

    def _run(self, run_id: str) -> dict:
        run = self._tables.sync_runs.get(run_id)
        if run is None:
            raise StoreError(f"There is no sync run {run_id!r}; start one with begin_run.")
        return run

    def _commit_if_due(self) -> bool:
        if self._commit_interval > 0 and time.monotonic() - self._last_commit_end < self._commit_interval:
            return False
        return self._commit()

    def _commit(self) -> bool:
        """Append what is staged as one frame, or, when the commits would outweigh the snapshot, compact instead."""
        if not self._staged:
            return False
        lines = [record_line(table, document) for table, document in self._staged.values()]
        size, tables = sum(map(len, lines)), self._tables
        before = tables.generation, tables.snapshot_size, tables.journal_size
        tables.generation += 1
        try:
            if tables.journal_size + size > tables.snapshot_size:
                self._compact()
            else:
                data = frame(lines)
                append_durably(self.path, data, self._size)
                self._size += len(data)
                tables.journal_size += size
        except BaseException:  # the file is as it was, and so is what the next commit measures against
            tables.generation, tables.snapshot_size, tables.journal_size = before
            raise
        self._staged.clear()
        self._last_commit_end = time.monotonic()
        return True

    def _compact(self) -> None:
        """Replace the file with one snapshot of what is held, keeping the file replaced as the backup."""
        data = frame(self._tables.snapshot_lines(utc_now()))
        write_atomically(self.path, data, backup_path(self.path))
        self._size = len(data)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        self._check_writable()
        with self._lock:
            yield

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStore(f"{self.path} was opened for reading only.")
        if self._writer_lock is None:
            raise StoreError(f"{self.path} was closed.")

    def get(self, source: str, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version of a resource (a tombstoned one too: check `.removed`), or None."""
        with self._reading():
            current = self._current(source, resource_type, resource_id)
            return None if current is None else StoredResource.from_document(current)

    def search(self, resource_type: str, *, source: str | None = None, patient_id: str | None = None,
               updated_from: datetime | None = None, updated_to: datetime | None = None,
               include_removed: bool = False) -> list[StoredResource]:
        """Candidates for a FHIR search (compartment, `meta.lastUpdated` in [from, to)); the API applies the rest."""
        with self._reading():
            return [StoredResource.from_document(document) for type_key in self._type_keys(resource_type, source)
                    for document in self._tables.resources[type_key].values()
                    if (include_removed or document["removed_at"] is None)
                    and (patient_id is None or patient_id in document["patient_ids"])
                    and _updated_in(document["last_updated"], updated_from, updated_to)]

    def history(self, source: str, resource_type: str, resource_id: str) -> list[StoredResource]:
        """Every version held of a resource, newest (the current one) first; empty when unknown."""
        with self._reading():
            current = self._current(source, resource_type, resource_id)
            if current is None:
                return []
            older = reversed(self._tables.history.get((source, resource_type, resource_id), []))
            return [StoredResource.from_document(document) for document in (current, *older)]

    def changes(self, *, since: datetime | str | None = None, run_id: str | None = None,
                source: str | None = None) -> list[Change]:
        """Each resource new, changed or removed after `since` or in `run_id`, once, as its latest such change."""
        since_stamp = as_timestamp(since) if since is not None else None
        with self._reading():
            found: list[tuple[str, Change]] = []
            for (type_source, _), held in self._tables.resources.items():
                if source is not None and type_source != source:
                    continue
                for document in held.values():
                    removed_at = document["removed_at"]
                    if removed_at is not None and _matches(removed_at, document["removed_run_id"], since_stamp, run_id):
                        kind, at = "removed", removed_at
                    elif _matches(document["fetched_at"], document["run_id"], since_stamp, run_id):
                        kind, at = ("new" if document["version"] == 1 else "changed"), document["fetched_at"]
                    else:
                        continue
                    found.append((at, Change(kind, StoredResource.from_document(document))))
            found.sort(key=lambda item: item[0])
            return [change for _, change in found]

    def sources(self) -> list[str]:
        """The sources (plans) this store holds resources from, sorted."""
        with self._reading():
            return sorted({source for source, _ in self._tables.resources})

    def counts(self, source: str | None = None) -> dict[str, int]:
        """How many resources of each type are held (tombstones not counted), for one source or all."""
        with self._reading():
            totals: dict[str, int] = {}
            for (type_source, resource_type), held in self._tables.resources.items():
                if source is None or type_source == source:
                    present = sum(1 for document in held.values() if document["removed_at"] is None)
                    totals[resource_type] = totals.get(resource_type, 0) + present
            return {resource_type: count for resource_type, count in sorted(totals.items()) if count}

    def types(self, source: str) -> list[str]:
        """The resource types stored from `source` (tombstones included), sorted, without a look at each one."""
        with self._reading():
            return sorted(resource_type for type_source, resource_type in self._tables.resources if type_source == source)

    def ids(self, source: str, resource_type: str, searched_from: str | None = None) -> set[str]:
        """The ids held (not tombstoned) that a full sync compares against; with `searched_from`, not those read by id."""
        with self._reading():
            held = self._tables.resources.get((source, resource_type), {})
            return {resource_id for resource_id, document in held.items() if document["removed_at"] is None
                    and (searched_from is None or document["request_url"] != f"{searched_from}/{resource_type}/{resource_id}")}

    def sync_state(self, source: str, resource_type: str) -> SyncState | None:
        with self._reading():
            state = self._tables.sync_state.get((source, resource_type))
            return None if state is None else _sync_state(state)

    def sync_states(self, source: str) -> list[SyncState]:
        """The sync state of every type of `source`, by type name."""
        with self._reading():
            return [_sync_state(state) for (state_source, _), state in sorted(self._tables.sync_state.items())
                    if state_source == source]

    def runs(self, source: str | None = None) -> list[SyncRun]:
        """Sync runs, newest first, for one source or all."""
        with self._reading():
            runs = [_sync_run(run) for run in self._tables.sync_runs.values() if source is None or run["source"] == source]
            return sorted(runs, key=lambda run: run.started_at, reverse=True)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            if self.read_only:
                self._follow()
            yield

    def _follow(self) -> None:
        """Read what the writer appended, or the whole file when its snapshot's frame header changed (a compaction)."""
        now = signature(self.path)
        if now == self._signature:
            return
        self._signature = None  # until this read succeeds, the next one starts from the whole file again
        try:
            with open(self.path, "rb") as opened:
                appended_to = signature(opened.fileno())
                same_snapshot = (appended_to is not None and appended_to[1] >= self._size
                                 and opened.read(FRAME_HEADER_BYTES) == self._head)
                opened.seek(self._size)
                raw = opened.read() if same_snapshot else b""
        except FileNotFoundError:
            same_snapshot = False
        if not same_snapshot:
            self._load()
            return
        try:
            self._size += self._tables.read(raw, snapshot=False, path=self.path)
        except DamagedFile as error:
            raise _corrupt(self.path, str(error)) from None
        self._signature = appended_to

    def _type_keys(self, resource_type: str, source: str | None) -> list[TypeKey]:
        if source is not None:
            return [(source, resource_type)] if (source, resource_type) in self._tables.resources else []
        return sorted(key for key in self._tables.resources if key[1] == resource_type)


def _check_source(source: object) -> None:
    if not isinstance(source, str) or not source.strip():
        raise StoreError("A source (the plan's name) is required to store resources.")


def _updated_in(last_updated: str | None, start: datetime | None, end: datetime | None) -> bool:
    """Whether a `meta.lastUpdated` value starts in [start, end); one a payer sent unreadable never does."""
    if start is None and end is None:
        return True
    try:
        at = date_range(last_updated).start if last_updated is not None else None
    except FhirDateError:
        return False
    return at is not None and (start is None or at >= start) and (end is None or at < end)


def _matches(at: str, by_run: str | None, since: str | None, run_id: str | None) -> bool:
    return (since is None or at > since) and (run_id is None or by_run == run_id)


def _sync_state(document: dict) -> SyncState:
    # .get: older checkpoints lack full_pass, seen and listed_at.
    return SyncState(**{field.name: document.get(field.name) for field in dataclasses.fields(SyncState)})  # type: ignore[arg-type]


def _sync_run(document: dict) -> SyncRun:
    return SyncRun(**{**document, "errors": tuple(document["errors"]), "notes": tuple(document.get("notes", ()))})


def has_store(folder: Path) -> bool:
    """Whether `folder` holds a store, of this format or of format 1 (which readers read as it is)."""
    return (folder / STORE_FILE_NAME).exists() or (folder / FORMAT1_FILE_NAME).exists()


def is_readable_store(path: Path) -> bool:
    """Whether `path` reads as a store (used before pointing a user at it)."""
    try:
        Tables().read(path.read_bytes(), snapshot=True, path=path)
    except (OSError, StoreError, DamagedFile):
        return False
    return True


def _salvage(path: Path) -> tuple[Tables, int] | None:
    """The tables restore keeps (snapshot, commits before the damage) and how many commits it drops, or None."""
    try:
        raw = path.read_bytes()
        Tables().read(raw, snapshot=True, path=path)
    except DamagedFile as error:
        if error.whole_bytes == 0:
            return None
        tables = Tables()
        tables.read(raw[:error.whole_bytes], snapshot=True, path=path)
        return tables, frames_from(raw, error.whole_bytes)
    except (OSError, StoreError):
        pass
    return None


def _corrupt(path: Path, reason: str) -> StoreCorrupt:
    """The error for a store file that cannot be read, with what `mirror restore` would keep."""
    refused = f"{path} cannot be read: {reason}. It was left untouched and nothing will be written to it."
    backup, salvaged = backup_path(path), _salvage(path)
    if salvaged is not None:
        return StoreCorrupt(f"{refused} Its snapshot and the commits before the damaged one are sound. To keep them, "
                            f"run `mirror restore` (it keeps {path.name} aside as a damaged copy and drops the last "
                            f"{_commits(salvaged[1])}), then run `mirror sync` to fetch them again.", None)
    if is_readable_store(backup):
        return StoreCorrupt(f"{refused} The previous generation, {backup}, is readable. To restore it, run `mirror "
                            f"restore` (it keeps {path.name} aside as a damaged copy and puts {backup.name} in its "
                            "place), then run `mirror sync` to fetch what changed since.", str(backup))
    state = "is damaged too" if backup.exists() else "does not exist"
    return StoreCorrupt(f"{refused} Its backup, {backup}, {state}. Move {path.name} aside and run `mirror sync` to "
                        "fetch your records again.", None)


def _commits(count: int) -> str:
    return f"{count} commit{'' if count == 1 else 's'}"


def restore(data_dir: Path | str | None = None) -> tuple[Path, str]:
    """Replace a damaged store with its sound part, else its backup; returns where the damaged file was kept."""
    path = (Path(data_dir) if data_dir is not None else default_data_dir()) / STORE_FILE_NAME
    backup = backup_path(path)
    lock = WriterLock(path)
    try:
        salvaged = _salvage(path)
        if salvaged is None and not backup.exists():
            raise StoreError(f"There is no backup generation ({backup}) to restore.")
        if salvaged is None and not is_readable_store(backup):
            raise StoreError(f"The backup generation, {backup}, is damaged too; nothing was changed. Move "
                             f"{STORE_FILE_NAME} aside and run `mirror sync` to fetch your records again.")
        damaged = path.with_name(f"{STORE_FILE_NAME}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
        if path.exists():
            keep_as_backup(path, damaged)
        if salvaged is None:
            write_atomically(path, backup.read_bytes())
            return damaged, f"put its backup {backup} back"
        tables, dropped = salvaged
        write_atomically(path, frame(tables.snapshot_lines(utc_now())))
        return damaged, f"kept its snapshot and the commits before the damaged one, dropped the last {_commits(dropped)}"
    finally:
        lock.release()
