"""The mirror's local store: a member's resources as received, their history, and the sync state, on TinyDB.

TinyDB is the database (tables, document ids, operations); this module adds what a health record mirror
needs on top, through TinyDB's own hooks: an atomic orjson Storage (storages.py), a Middleware that makes
several table operations one commit (middlewares.py) and a Table that writes in place (tables.py). The sync
engine and the served API use the Store's methods and never touch TinyDB.

What it keeps, per (source, resourceType, id), since two plans can both hold a different `Patient/1`: the resource's
JSON text exactly as received (one string, not nested dicts: TinyDB costs many times a resource's text in RAM when
it holds it as dicts, and only the text's length as a string), its provenance, and the few fields its indexes need.
Replacing a resource replaces it (TinyDB's own upsert merges, so stale elements would survive), change is detected
by content hash, the previous content goes to a history table, and a resource the source no longer has is
tombstoned, never deleted.

Reads come from in-memory indexes, built when a read first needs them (a table stays compressed until
then). One process writes (an OS lock, ST-4); any number read, never blocking the writer, and a reading Store
reloads when the file changes (checked at each read, or, for a store so large that a reload takes a while,
after twice what the last reload and the read that made it took). Within a process one lock serialises the
store, so threads cannot lose each other's updates.

Writes are batched (ST-7): a commit rewrites the whole file, so committing every page of a long sync would
cost O(N^2). `commit_page` therefore writes when `commit_interval` seconds have passed since the last write,
stretched to four times the last write's duration so that writing never takes more than a fifth of a sync's
time however large the store grows; the rest stays staged in memory, together with the sync state that
describes it, until the next due write, `flush` or `close`. A crash loses the staged pages and their
checkpoint together, so the resumed sync fetches them again.
"""

import bisect
import secrets
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import orjson
from tinydb import TinyDB

from mirror.fhir.compartment import patient_ids
from mirror.fhir.dates import FhirDateError, date_range
from mirror.store.errors import ReadOnlyStore, StoreError
from mirror.store.files import (
    PRIVATE_FILE_MODE,
    STORE_FILE_NAME,
    default_data_dir,
    ensure_private_folder,
    keep_as_backup,
    narrow_mode,
    remove_stale_temporaries,
    signature,
    write_atomically,
)
from mirror.store.ingest import IngestedResource, Received, ingest
from mirror.store.middlewares import StagedWritesMiddleware
from mirror.store.records import (
    Change,
    PageResult,
    StoredResource,
    SyncRun,
    SyncState,
    as_timestamp,
    utc_now,
)
from mirror.store.storages import AtomicJSONStorage, backup_path, is_readable_store
from mirror.store.tables import InPlaceTable
from mirror.store.writer_lock import WriterLock

RESOURCES, HISTORY, SYNC_STATE, SYNC_RUNS = "resources", "history", "sync_state", "sync_runs"
COMMIT_COST_FACTOR = 4.0
FINISHED_RUN_STATUSES = ("complete", "partial", "failed")
MOST_RUN_ERRORS = 100

Key = tuple[str, str, str]  # (source, resourceType, id)
TypeKey = tuple[str, str]  # (source, resourceType)


class _MirrorTinyDB(TinyDB):
    table_class = InPlaceTable


class Store:
    """The store in `data_dir` (default: `default_data_dir()`), opened for writing unless `read_only`.

    A writer holds the single-writer lock until `close`; use it as a context manager.
    `commit_interval=0` writes on every call (tests, and callers that need each call durable at once).
    New content is stored unvalidated (findings None); R4 validation costs milliseconds per resource, so the
    sync runs it beside its downloads and records the findings with `record_findings`.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        read_only: bool = False,
        commit_interval: float = 1.0,
    ):
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        self.path = folder / STORE_FILE_NAME
        self.read_only = read_only
        self._commit_interval = commit_interval
        self._lock = threading.RLock()
        self._writer_lock: WriterLock | None = None
        self._own_runs: set[str] = set()
        self._last_commit_end = time.monotonic()
        self._last_commit_seconds = 0.0
        self._next_change_check = 0.0
        if not read_only:
            ensure_private_folder(folder)
            self._writer_lock = WriterLock(self.path.with_name(f"{STORE_FILE_NAME}.lock"))
            self._writer_lock.acquire(self.path)
        try:
            self._db = _MirrorTinyDB(self.path, read_only, storage=StagedWritesMiddleware(AtomicJSONStorage))
            self._staging: StagedWritesMiddleware = cast(StagedWritesMiddleware, self._db.storage)
            self._storage: AtomicJSONStorage = self._staging.storage
            self._tables = {name: self._db.table(name, cache_size=0) for name in (RESOURCES, HISTORY, SYNC_STATE, SYNC_RUNS)}
            self._load()
            if not read_only:
                self._prepare_for_writing()
        except BaseException:
            self._release_writer_lock()
            raise

    # ----- opening and closing

    def _prepare_for_writing(self) -> None:
        remove_stale_temporaries(self.path)
        assert self._writer_lock is not None  # taken before a writer prepares
        for path in (self.path, backup_path(self.path), self._writer_lock.path):
            if path.exists():
                narrow_mode(path, PRIVATE_FILE_MODE)
        old_format = self._storage.migrated_from
        if old_format is not None:
            # ST-8: the migrated store is a new file, written atomically; the original stays beside it.
            keep_as_backup(self.path, self.path.with_name(f"{STORE_FILE_NAME}.format{old_format}"))
        if old_format is not None or self._storage.disk_signature is None:
            # A new store is created at once, so that readers find it and its format is on record.
            self._staging.write(self._staging.read())
            self._commit()

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
            return self._storage.generation

    @property
    def backup_path(self) -> Path:
        return backup_path(self.path)

    def _release_writer_lock(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None

    # ----- writing

    def begin_run(self, source: str) -> str:
        """Record the start of a sync of `source` and return its run id, which every write of the run names.

        Runs still marked running that this Store did not start were cut short (only the lock holder can
        run a sync, and it holds the lock now): they are marked interrupted.
        """
        _check_source(source)
        with self._writing():
            runs = self._tables[SYNC_RUNS]
            stale = [doc_id for doc_id, run in self._documents(SYNC_RUNS).items()
                     if run["status"] == "running" and run["run_id"] not in self._own_runs]
            if stale:
                runs.update({"status": "interrupted"}, doc_ids=[int(doc_id) for doc_id in stale])
            run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
            [doc_id] = runs.insert_multiple([{
                "run_id": run_id, "source": source, "started_at": utc_now(), "ended_at": None,
                "status": "running", "new": 0, "changed": 0, "unchanged": 0, "removed": 0, "errors": [],
            }])
            self._run_doc_ids[run_id] = doc_id
            self._own_runs.add(run_id)
            self._commit_if_due()
            return run_id

    def finish_run(self, run_id: str, *, status: str = "complete", errors: Iterable[str] = (),
                   notes: Iterable[str] = ()) -> SyncRun:
        """Record how a run ended (complete, partial or failed), with its errors and notes, and write everything
        to disk now."""
        if status not in FINISHED_RUN_STATUSES:
            raise StoreError(f"A run ends as one of {', '.join(FINISHED_RUN_STATUSES)}, not {status!r}.")
        messages = [str(message) for message in errors][:MOST_RUN_ERRORS]
        remarks = [str(note) for note in notes][:MOST_RUN_ERRORS]
        with self._writing():
            doc_id = self._run_doc_id(run_id)

            def finish(run: MutableMapping) -> None:
                run.update(ended_at=utc_now(), status=status, errors=messages, notes=remarks)

            self._tables[SYNC_RUNS].update(finish, doc_ids=[doc_id])
            self._own_runs.discard(run_id)
            self._commit()
            return _sync_run(self._documents(SYNC_RUNS)[str(doc_id)])

    def discard_staged(self) -> None:
        """Forget what is staged and not yet written, since a write failed (a full disk): the Store is again what
        its file holds, so that a smaller write, such as the end of the run, may still get through."""
        with self._writing():
            self._load()

    def commit_page(
        self,
        source: str,
        resources: Iterable[Received],
        *,
        run_id: str,
        request_url: str | None = None,
        fetched_at: str | None = None,
        sync_state: SyncState | None = None,
    ) -> PageResult:
        """Store one page of resources from `source` and the sync state that follows it, as one unit.

        Each resource is JSON text as received (str or bytes, kept byte for byte) or a parsed dict (see
        ingest.py). New content is stored, content equal to the stored version is left alone, different
        content replaces the stored version and pushes it into history, whatever `meta.lastUpdated` says.
        A resource received twice in one page counts once; the later copy wins. If any resource cannot be
        stored (not JSON, NaN, no valid id) InvalidResource says which, and nothing from the call is kept.

        The page and its sync state are staged together and written when a write is due (see the module
        docstring); `PageResult.written` says whether this call wrote. `flush` writes at once.
        """
        self._check_writable()
        _check_source(source)
        received: dict[tuple[str, str], IngestedResource] = {}
        patients: dict[str, tuple[str, ...]] = {}  # content hash -> patient ids, for new content only
        for index, resource in enumerate(resources):
            ingested, parsed = ingest(resource, index)
            received[(ingested.resource_type, ingested.id)] = ingested
            if self._becomes_new_version(source, ingested):
                patients[ingested.content_hash] = tuple(sorted(patient_ids(parsed)))
        with self._writing():
            run_doc_id = self._run_doc_id(run_id)
            fetched_at = fetched_at or utc_now()
            counts, new_versions = self._apply_page(source, received.values(), patients, run_id, request_url, fetched_at)
            if sync_state is not None:
                self._put_sync_state(source, sync_state, run_id)
            self._add_to_run(run_doc_id, **counts)
            written = self._commit_if_due()
        return PageResult(**counts, written=written, new_versions=new_versions)

    def record_findings(self, source: str, findings: Iterable[tuple[str, str, str, list[str]]]) -> int:
        """Record R4 validation findings, given as (resourceType, id, content hash, findings); returns how many.

        Findings are for the content they were made from: those for content that has been replaced since
        are dropped. Written with the next due write, like a page.
        """
        findings = list(findings)
        if not findings:
            return 0
        with self._writing():
            stored = self._documents(RESOURCES)
            current: dict[int, tuple[str, ...]] = {}
            for resource_type, resource_id, content_hash, found in findings:
                doc_id = self._index.by_type.get((source, resource_type), {}).get(resource_id)
                if doc_id is not None and stored[str(doc_id)]["content_hash"] == content_hash:
                    current[doc_id] = tuple(str(finding) for finding in found)

            def record(document: MutableMapping) -> None:
                document["findings"] = current[self._index.by_type[(source, document["resource_type"])][document["id"]]]

            self._tables[RESOURCES].update(record, doc_ids=list(current))
            self._index.unvalidated.get(source, set()).difference_update(current)
            self._commit_if_due()
            return len(current)

    def unvalidated(self, source: str) -> list[StoredResource]:
        """The current, not removed resources of `source` whose content has not been validated yet.

        Every sync asks, first thing. When the file says there are none (its header's notes, which each write
        brings up to date), the resources are not read for it: a sync that brings nothing new reads none."""
        with self._reading():
            counts = self._storage.notes.get("unvalidated")
            if self._resource_index is None and isinstance(counts, dict) and not counts.get(source):
                return []
            stored = self._documents(RESOURCES)
            waiting = sorted(self._index.unvalidated.get(source, set()) - self._index.removed)
            return [StoredResource.from_document(stored[str(doc_id)]) for doc_id in waiting]

    def mark_removed(
        self, source: str, resource_type: str, ids: Iterable[str], *, run_id: str, sync_state: SyncState | None = None
    ) -> int:
        """Tombstone resources the source no longer has (their text and history stay); returns how many.

        Ids not stored, or already removed, are skipped. A tombstoned resource that comes back later is
        stored again as a new version.
        """
        with self._writing():
            run_doc_id = self._run_doc_id(run_id)
            index = self._index.by_type.get((source, resource_type), {})
            targets = [index[resource_id] for resource_id in set(ids)
                       if resource_id in index and index[resource_id] not in self._index.removed]
            removed_at = utc_now()

            def tombstone(document: MutableMapping) -> None:
                document.update(removed_at=removed_at, removed_run_id=run_id)

            self._tables[RESOURCES].update(tombstone, doc_ids=targets)
            self._index.removed.update(targets)
            if sync_state is not None:
                self._put_sync_state(source, sync_state, run_id)
            self._add_to_run(run_doc_id, removed=len(targets))
            self._commit_if_due()
            return len(targets)

    def _becomes_new_version(self, source: str, resource: IngestedResource) -> bool:
        """Whether storing `resource` makes a new version (new content, or back after removal).

        Only then are its index fields derived, outside the lock, so readers in this process are not held up,
        and re-syncing unchanged data stays cheap.
        """
        with self._lock:
            doc_id = self._index.by_type.get((source, resource.resource_type), {}).get(resource.id)
            if doc_id is None:
                return True
            current = self._documents(RESOURCES)[str(doc_id)]
            return current["content_hash"] != resource.content_hash or current["removed_at"] is not None

    def _apply_page(
        self,
        source: str,
        received: Collection[IngestedResource],
        patients: dict[str, tuple[str, ...]],
        run_id: str,
        request_url: str | None,
        fetched_at: str,
    ) -> tuple[dict[str, int], tuple[tuple[str, str, str], ...]]:
        if not received:  # a checkpoint alone: the resources need not even be read
            return {"new": 0, "changed": 0, "unchanged": 0}, ()
        stored = self._documents(RESOURCES)
        inserts: list[dict] = []
        replacements: dict[Key, dict] = {}
        superseded: list[dict] = []
        unchanged = 0
        for resource in received:
            doc_id = self._index.by_type.get((source, resource.resource_type), {}).get(resource.id)
            current = stored[str(doc_id)] if doc_id is not None else None
            if current is not None and current["content_hash"] == resource.content_hash and current["removed_at"] is None:
                unchanged += 1
                continue
            if resource.content_hash not in patients:  # another thread changed this resource meanwhile: rare
                patients[resource.content_hash] = tuple(sorted(patient_ids(orjson.loads(resource.text))))
            document = {
                "source": source,
                "resource_type": resource.resource_type,
                "id": resource.id,
                "text": resource.text,
                "content_hash": resource.content_hash,
                "version": 1 if current is None else current["version"] + 1,
                "last_updated": resource.last_updated,
                "patient_ids": patients[resource.content_hash],
                "findings": None,
                "request_url": request_url,
                "fetched_at": fetched_at,
                "run_id": run_id,
                "removed_at": None,
                "removed_run_id": None,
            }
            if current is None:
                inserts.append(document)
            else:
                superseded.append({**current, "superseded_at": fetched_at})
                replacements[(source, resource.resource_type, resource.id)] = document

        def replace(document: MutableMapping) -> None:
            new_content = replacements[(document["source"], document["resource_type"], document["id"])]
            self._index.drop_patients(document)
            document.clear()
            document.update(new_content)

        resources = self._tables[RESOURCES]
        replaced_ids = [self._index.by_type[(source, key[1])][key[2]] for key in replacements]
        resources.update(replace, doc_ids=replaced_ids)
        new_ids = resources.insert_multiple(inserts)
        for doc_id in (*replaced_ids, *new_ids):
            self._index.add(doc_id, stored[str(doc_id)])
        if superseded:
            history_index = self._history_index  # built from the history read before these join it
            for doc_id, document in zip(self._tables[HISTORY].insert_multiple(superseded), superseded, strict=True):
                history_index.setdefault(_key(document), []).append(doc_id)
        new_versions = tuple((document["resource_type"], document["id"], document["content_hash"])
                             for document in (*inserts, *replacements.values()))
        return {"new": len(inserts), "changed": len(replacements), "unchanged": unchanged}, new_versions

    def _put_sync_state(self, source: str, state: SyncState, run_id: str) -> None:
        document = {
            "source": source,
            "resource_type": state.resource_type,
            "next_url": state.next_url,
            "high_water": state.high_water,
            "status": state.status,
            "full_pass": state.full_pass,
            "seen": state.seen,
            "listed_at": state.listed_at,
            "run_id": run_id,
            "updated_at": utc_now(),
        }
        table = self._tables[SYNC_STATE]
        doc_id = self._sync_state_ids.get((source, state.resource_type))
        if doc_id is None:
            [doc_id] = table.insert_multiple([document])
            self._sync_state_ids[(source, state.resource_type)] = doc_id
        else:
            def replace(stored: MutableMapping) -> None:
                stored.clear()
                stored.update(document)

            table.update(replace, doc_ids=[doc_id])

    def _add_to_run(self, doc_id: int, **counts: int) -> None:
        def add(run: MutableMapping) -> None:
            for name, count in counts.items():
                run[name] += count

        self._tables[SYNC_RUNS].update(add, doc_ids=[doc_id])

    def _run_doc_id(self, run_id: str) -> int:
        doc_id = self._run_doc_ids.get(run_id)
        if doc_id is None:
            raise StoreError(f"There is no sync run {run_id!r}; start one with begin_run.")
        return doc_id

    def _commit_if_due(self) -> bool:
        if self._commit_interval > 0:
            waited = time.monotonic() - self._last_commit_end
            if waited < max(self._commit_interval, COMMIT_COST_FACTOR * self._last_commit_seconds):
                return False
        return self._commit()

    def _commit(self) -> bool:
        started = time.monotonic()
        if self._resource_index is not None:
            self._storage.notes = {"unvalidated": self._resource_index.unvalidated_counts()}
        written = self._staging.commit()
        if written:
            self._last_commit_end = time.monotonic()
            self._last_commit_seconds = self._last_commit_end - started
        return written

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

    # ----- reading

    def get(self, source: str, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version of a resource (a tombstoned one too: check `.removed`), or None."""
        with self._reading():
            doc_id = self._index.by_type.get((source, resource_type), {}).get(resource_id)
            if doc_id is None:
                return None
            return StoredResource.from_document(self._documents(RESOURCES)[str(doc_id)])

    def search(
        self,
        resource_type: str,
        *,
        source: str | None = None,
        patient_id: str | None = None,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
        include_removed: bool = False,
    ) -> list[StoredResource]:
        """Candidates for a FHIR search, from the indexes, in storage order; the API applies the rest.

        `patient_id` keeps the resources in that Patient's compartment; `updated_from` (inclusive) and
        `updated_to` (exclusive), aware datetimes, keep those whose `meta.lastUpdated` instant starts in
        that span (a resource without a readable one is then left out).
        """
        with self._reading():
            doc_ids: list[int] = []
            for type_key in self._type_keys(resource_type, source):
                if patient_id is not None:
                    candidates = list(self._index.by_patient.get((*type_key, patient_id), ()))
                else:
                    candidates = list(self._index.by_type[type_key].values())
                if updated_from is not None or updated_to is not None:
                    candidates = self._updated_between(type_key, candidates, updated_from, updated_to)
                doc_ids.extend(candidates)
            if not include_removed:
                doc_ids = [doc_id for doc_id in doc_ids if doc_id not in self._index.removed]
            stored = self._documents(RESOURCES)
            return [StoredResource.from_document(stored[str(doc_id)]) for doc_id in doc_ids]

    def history(self, source: str, resource_type: str, resource_id: str) -> list[StoredResource]:
        """Every version held of a resource, newest (the current one) first; empty when unknown."""
        with self._reading():
            doc_id = self._index.by_type.get((source, resource_type), {}).get(resource_id)
            if doc_id is None:
                return []
            history = self._documents(HISTORY)
            older = [history[str(old)] for old in reversed(self._history_index.get((source, resource_type, resource_id), []))]
            return [StoredResource.from_document(document)
                    for document in (self._documents(RESOURCES)[str(doc_id)], *older)]

    def changes(
        self, *, since: datetime | str | None = None, run_id: str | None = None, source: str | None = None
    ) -> list[Change]:
        """What is new, changed or removed after `since` (a datetime or FHIR instant) or in run `run_id`.

        Each resource appears once, with its current version, as its latest change that matches (a resource
        that arrived in the run and left later is `new` for that run); ordered by when the change happened.
        """
        since_stamp = as_timestamp(since) if since is not None else None
        with self._reading():
            found: list[tuple[str, Change]] = []
            for document in self._documents(RESOURCES).values():
                if source is not None and document["source"] != source:
                    continue
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
            return sorted({source for source, _ in self._index.by_type})

    def counts(self, source: str | None = None) -> dict[str, int]:
        """How many resources of each type are held (tombstones not counted), for one source or all."""
        with self._reading():
            totals: dict[str, int] = {}
            for (type_source, resource_type), index in self._index.by_type.items():
                if source is None or type_source == source:
                    present = sum(1 for doc_id in index.values() if doc_id not in self._index.removed)
                    totals[resource_type] = totals.get(resource_type, 0) + present
            return {resource_type: count for resource_type, count in sorted(totals.items()) if count}

    def types(self, source: str) -> list[str]:
        """The resource types stored from `source` (tombstones included), sorted; unlike `counts`, it costs
        nothing per resource, so the served API can ask on every request."""
        with self._reading():
            return sorted(resource_type for type_source, resource_type in self._index.by_type if type_source == source)

    def ids(self, source: str, resource_type: str) -> set[str]:
        """The ids held (not tombstoned) for one type from one source: what a full sync compares against."""
        with self._reading():
            index = self._index.by_type.get((source, resource_type), {})
            return {resource_id for resource_id, doc_id in index.items() if doc_id not in self._index.removed}

    def searched_ids(self, source: str, resource_type: str, base: str) -> set[str]:
        """The ids held for one type from one source that a search brought, not a read of `{base}/{type}/{id}`
        (a referenced record): what a plain sync compares with the ids a walk lists."""
        with self._reading():
            index = self._index.by_type.get((source, resource_type), {})
            stored = self._documents(RESOURCES)
            return {resource_id for resource_id, doc_id in index.items() if doc_id not in self._index.removed
                    and stored[str(doc_id)]["request_url"] != f"{base}/{resource_type}/{resource_id}"}

    def sync_state(self, source: str, resource_type: str) -> SyncState | None:
        with self._reading():
            doc_id = self._sync_state_ids.get((source, resource_type))
            return None if doc_id is None else _sync_state(self._documents(SYNC_STATE)[str(doc_id)])

    def sync_states(self, source: str) -> list[SyncState]:
        """The sync state of every type of `source`, by type name."""
        with self._reading():
            states = self._documents(SYNC_STATE)
            return [_sync_state(states[str(doc_id)])
                    for (state_source, _), doc_id in sorted(self._sync_state_ids.items()) if state_source == source]

    def runs(self, source: str | None = None) -> list[SyncRun]:
        """Sync runs, newest first, for one source or all."""
        with self._reading():
            runs = [_sync_run(run) for run in self._documents(SYNC_RUNS).values()
                    if source is None or run["source"] == source]
            return sorted(runs, key=lambda run: run.started_at, reverse=True)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            reloaded_at = None
            if (self.read_only and time.monotonic() >= self._next_change_check
                    and signature(self.path) != self._storage.disk_signature):
                reloaded_at = time.monotonic()
                self._load()
            yield
            if reloaded_at is not None:
                # A reload costs O(file size), paid mostly by the read that follows it (the tables it reads).
                # Waiting twice that before looking again keeps a reader of a large store, which a sync
                # rewrites every few seconds, answering most of the time; a small store is checked at every read.
                self._next_change_check = time.monotonic() + 2 * (time.monotonic() - reloaded_at)

    def _type_keys(self, resource_type: str, source: str | None) -> list[TypeKey]:
        if source is not None:
            return [(source, resource_type)] if (source, resource_type) in self._index.by_type else []
        return sorted(key for key in self._index.by_type if key[1] == resource_type)

    def _updated_between(
        self, type_key: TypeKey, candidates: list[int], start: datetime | None, end: datetime | None
    ) -> list[int]:
        order = self._index.updated_order.get(type_key)
        if order is None:
            # Built on the first such search after a change: most syncs never need it, and it costs a
            # date parse per resource.
            stored = self._documents(RESOURCES)
            instants = ((_instant(stored[str(doc_id)]["last_updated"]), doc_id)
                        for doc_id in self._index.by_type[type_key].values())
            order = sorted((instant, doc_id) for instant, doc_id in instants if instant is not None)
            self._index.updated_order[type_key] = order
        low = 0 if start is None else bisect.bisect_left(order, (start,))
        high = len(order) if end is None else bisect.bisect_left(order, (end,))
        in_span = {doc_id for _, doc_id in order[low:high]}
        return [doc_id for doc_id in candidates if doc_id in in_span]

    # ----- indexes

    def _documents(self, table: str) -> dict[str, dict]:
        """TinyDB's in-memory table, keyed by document id as a string; read it, never change it here."""
        return self._staging.documents(table)

    def _load(self) -> None:
        """Read the file; a reading Store does this again when the file changes. The resource and history
        indexes are built when first used: the file leaves those tables compressed until then (frame_cache.py),
        and a sync that brings nothing new reads neither."""
        tables = self._staging.reload()
        for name in self._tables:  # in this order in a new file; an unread table stays unread
            tables.setdefault(name, {})
        self._resource_index: _ResourceIndex | None = None
        self._history_ids: dict[Key, list[int]] | None = None
        self._sync_state_ids = {(state["source"], state["resource_type"]): int(doc_id)
                                for doc_id, state in self._documents(SYNC_STATE).items()}
        self._run_doc_ids = {run["run_id"]: int(doc_id) for doc_id, run in self._documents(SYNC_RUNS).items()}

    @property
    def _index(self) -> "_ResourceIndex":
        if self._resource_index is None:
            self._resource_index = _ResourceIndex(self._documents(RESOURCES))
        return self._resource_index

    @property
    def _history_index(self) -> dict[Key, list[int]]:
        if self._history_ids is None:
            self._history_ids = {}
            for doc_id, document in self._documents(HISTORY).items():
                _untrackable(document)
                self._history_ids.setdefault(_key(document), []).append(int(doc_id))
            for ids in self._history_ids.values():
                ids.sort()
        return self._history_ids


class _ResourceIndex:
    """What reads find resources by, built from the resources table and kept up to date by every write."""

    def __init__(self, documents: dict[str, dict]):
        self.by_type: dict[TypeKey, dict[str, int]] = {}
        self.by_patient: dict[Key, dict[int, None]] = {}
        self.updated_order: dict[TypeKey, list[tuple[datetime, int]]] = {}
        self.removed: set[int] = set()
        self.unvalidated: dict[str, set[int]] = {}  # source -> documents whose content awaits its findings
        for doc_id, document in documents.items():
            _untrackable(document)
            self.add(int(doc_id), document)
            if document["removed_at"] is not None:
                self.removed.add(int(doc_id))

    def add(self, doc_id: int, document: dict) -> None:
        source, resource_type = document["source"], document["resource_type"]
        self.by_type.setdefault((source, resource_type), {})[document["id"]] = doc_id
        for patient in document["patient_ids"]:
            self.by_patient.setdefault((source, resource_type, patient), {})[doc_id] = None
        self.updated_order.pop((source, resource_type), None)
        self.removed.discard(doc_id)
        if document["findings"] is None:
            self.unvalidated.setdefault(source, set()).add(doc_id)

    def drop_patients(self, document: Mapping) -> None:
        """Forget a version's patient entries before its document is replaced."""
        source, resource_type = document["source"], document["resource_type"]
        doc_id = self.by_type[(source, resource_type)][document["id"]]
        for patient in document["patient_ids"]:
            self.by_patient[(source, resource_type, patient)].pop(doc_id, None)

    def unvalidated_counts(self) -> dict[str, int]:
        """How many current, not removed resources of each source await their findings."""
        return {source: len(doc_ids - self.removed) for source, doc_ids in self.unvalidated.items()}


def _check_source(source: object) -> None:
    if not isinstance(source, str) or not source.strip():
        raise StoreError("A source (the plan's name) is required to store resources.")


def _untrackable(document: dict) -> None:
    """Hold a resource document's arrays as tuples, as commit_page builds them.

    A dict holding only strings, numbers, None and tuples of those is one CPython's cycle collector stops
    tracking; a list keeps it, and its dict, tracked. With 100,000 documents tracked, every full collection
    walks them all: that made a bulk load of 100,000 resources take much longer than it does untracked, and
    grow faster than its size. JSON writes a tuple as the same array, so the file does not change.
    """
    document["patient_ids"] = tuple(document["patient_ids"])
    if document["findings"] is not None:
        document["findings"] = tuple(document["findings"])


def _key(document: dict) -> Key:
    return document["source"], document["resource_type"], document["id"]


def _instant(text: str | None) -> datetime | None:
    """The start of a `meta.lastUpdated` value, for the index; None when a payer sent something unreadable."""
    if text is None:
        return None
    try:
        return date_range(text).start
    except FhirDateError:
        return None


def _matches(at: str, by_run: str | None, since: str | None, run_id: str | None) -> bool:
    return (since is None or at > since) and (run_id is None or by_run == run_id)


def _sync_state(document: dict) -> SyncState:
    return SyncState(
        resource_type=document["resource_type"],
        next_url=document["next_url"],
        high_water=document["high_water"],
        status=document["status"],
        full_pass=document.get("full_pass"),  # absent from checkpoints written before full syncs resumed
        seen=document.get("seen"),
        listed_at=document.get("listed_at"),  # absent from checkpoints written before plain syncs found removals
        run_id=document["run_id"],
        updated_at=document["updated_at"],
    )


def _sync_run(document: dict) -> SyncRun:
    return SyncRun(**{**document, "errors": tuple(document["errors"]), "notes": tuple(document.get("notes", ()))})


def restore_backup(data_dir: Path | str | None = None) -> Path:
    """Put the previous good generation back in place of a damaged store; returns where the damaged file went.

    The damaged file is kept (renamed `mirror.json.damaged-<time>`), never deleted: it is the member's data.
    """
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    path = folder / STORE_FILE_NAME
    backup = backup_path(path)
    lock = WriterLock(path.with_name(f"{STORE_FILE_NAME}.lock"))
    lock.acquire(path)
    try:
        if not backup.exists():
            raise StoreError(f"There is no backup generation ({backup}) to restore.")
        if not is_readable_store(backup):
            raise StoreError(f"The backup generation, {backup}, is damaged too; nothing was changed. Move "
                             f"{STORE_FILE_NAME} aside and run `mirror sync` to fetch your records again.")
        damaged = path.with_name(f"{STORE_FILE_NAME}.damaged-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
        if path.exists():
            keep_as_backup(path, damaged)
        write_atomically(path, backup.read_bytes())
        return damaged
    finally:
        lock.release()

