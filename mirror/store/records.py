"""What the store hands out: immutable copies of its documents, so no reader can change the store by accident."""

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

import orjson

from mirror.fhir.dates import date_range

# Every time the store records is UTC with microseconds, so that the strings sort as the times do.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime(TIMESTAMP_FORMAT)


def as_timestamp(moment: datetime | str) -> str:
    """A caller's time (an aware datetime, or a FHIR date/dateTime/instant, meaning its start) in the store's form."""
    start = date_range(moment).start if isinstance(moment, str) else moment.astimezone(timezone.utc)
    return start.strftime(TIMESTAMP_FORMAT)


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource, its text exactly as received, with provenance and index fields (ARCHITECTURE.md)."""

    source: str
    resource_type: str
    id: str
    text: str = field(repr=False, compare=False)  # the resource's JSON text exactly as received
    content_hash: str
    version: int
    last_updated: str | None
    patient_ids: tuple[str, ...]
    findings: tuple[str, ...] | None  # None: not validated yet
    request_url: str | None
    fetched_at: str
    run_id: str
    removed_at: str | None = None
    removed_run_id: str | None = None
    superseded_at: str | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def resource(self) -> dict:
        """The resource parsed; the stored text stays the truth (parsing may change how numbers print)."""
        return orjson.loads(self.text)

    @classmethod
    def from_document(cls, document: dict) -> "StoredResource":
        """A copy of a document as held, whose arrays are already tuples (tables.py)."""
        return cls(**{name: document.get(name) for name in _RESOURCE_FIELDS})  # type: ignore[arg-type]


_RESOURCE_FIELDS = tuple(f.name for f in fields(StoredResource))


@dataclass(frozen=True, slots=True)
class Change:
    """A resource that appeared (`new`), got new content (`changed`) or left the source (`removed`)."""

    kind: str
    resource: StoredResource


@dataclass(frozen=True, slots=True)
class SyncState:
    """Where a sync of one (source, resource type) stands, committed in the same write as its data."""

    resource_type: str
    next_url: str | None = None  # the page to resume from (None: done)
    high_water: str | None = None  # the bound for the next incremental run
    status: str = "running"
    full_pass: str | None = None  # the run whose `--full` sync this is part of, until it compared what it saw
    seen: dict[str, list[str]] | None = None  # the ids per type that walk received so far
    listed_at: str | None = None  # when (plan's clock) a plain sync last compared every id
    run_id: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One `mirror sync` of one source, for `mirror status`: when, how it ended, what it changed."""

    run_id: str
    source: str
    started_at: str
    ended_at: str | None
    status: str
    new: int
    changed: int
    unchanged: int
    removed: int
    errors: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one commit_page call did; `written`: on disk yet; `new_versions`: (type, id, hash) to validate."""

    new: int
    changed: int
    unchanged: int
    written: bool
    new_versions: tuple[tuple[str, str, str], ...] = ()
