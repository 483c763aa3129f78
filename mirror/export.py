"""`mirror export`: a source's records out of the store as FHIR Bulk Data NDJSON or one collection Bundle.

NDJSON (https://hl7.org/fhir/uv/bulkdata/export.html#file-format) is one `<Type>.ndjson` per type, one
resource per line; a Bundle (https://hl7.org/fhir/R4/bundle.html) of type `collection` holds them all. Each
resource is the stored text, never re-serialised (DESIGN: raw JSON is the truth), so numbers and dates leave
exactly as the plan sent them.

An export is of one source: two plans can hold a different `Patient/1`, and one file per type cannot tell
them apart. Each file is written atomically (temporary file, fsync, rename) and created 0600: it is health
data, and a reader never sees half an export file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path

from mirror.fhir.bundles import bundle_json, collection_bundle
from mirror.fhir.dates import FhirDateError, date_range
from mirror.store import Store, StoredResource, StoreError
from mirror.store.files import PRIVATE_FOLDER_MODE, private_umask, write_atomically

FORMATS = ("ndjson", "bundle")


class ExportError(ValueError):
    """An export that cannot be made as asked; the message is one line the member can act on."""


@dataclass(frozen=True)
class ExportResult:
    source: str
    files: tuple[Path, ...]
    counts: dict[str, int]  # resources written, by type

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def export(
    store: Store,
    out: Path,
    *,
    format: str,
    source: str | None = None,
    since: str | None = None,
    include_removed: bool = False,
) -> ExportResult:
    """Write `source`'s resources (the only source when None) to `out`: a folder for `ndjson`, a file for `bundle`.

    `since` (a FHIR date or instant) keeps what changed in the mirror after it; removed resources (the plan no
    longer has them) are left out unless `include_removed`, and then exported as last held.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    chosen_source = _choose_source(store, source)
    if since is not None:
        try:
            date_range(since)
        except FhirDateError as error:
            raise ExportError(f"--since must be a FHIR date or instant such as 2024-05-01 ({error})") from None
    resources = sorted(
        (change.resource for change in store.changes(since=since, source=chosen_source)
         if include_removed or change.kind != "removed"),
        key=lambda stored: (stored.resource_type, stored.id),
    )
    counts = dict(Counter(stored.resource_type for stored in resources))
    if format == "ndjson":
        files = _write_ndjson(out, resources)
    else:
        if out.is_dir():
            raise ExportError(f"{out} is a folder; a Bundle export writes one file")
        _create_folder(out.parent)
        _write(out, _bundle(resources))
        files = (out,)
    return ExportResult(chosen_source, files, counts)


def _choose_source(store: Store, source: str | None) -> str:
    sources = store.sources()
    if source is not None:
        if source not in sources:
            held = f"it holds {', '.join(sources)}" if sources else "it holds no records yet"
            raise ExportError(f"the store has no plan named {source!r}; {held}")
        return source
    if len(sources) == 1:
        return sources[0]
    if not sources:
        raise ExportError("the store holds no records yet; run `mirror sync` first")
    raise ExportError(f"the store holds several plans ({', '.join(sources)}); choose one with --source")


def _write_ndjson(folder: Path, resources: list[StoredResource]) -> tuple[Path, ...]:
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is not a folder; NDJSON export writes one file per type into a folder")
    _create_folder(folder)
    files = []
    for resource_type, group in groupby(resources, key=lambda stored: stored.resource_type):
        path = folder / f"{resource_type}.ndjson"
        _write(path, _lines(group))
        files.append(path)
    return tuple(files)


def _create_folder(folder: Path) -> None:
    """A missing folder is created private (0700); an existing one is the member's and is left as it is."""
    try:
        with private_umask():
            folder.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"could not create {folder}: {error.strerror or error}") from error


def _write(path: Path, content: bytes | Iterator[bytes]) -> None:
    try:
        write_atomically(path, content)
    except (StoreError, OSError) as error:
        reason = getattr(error, "strerror", None) or getattr(error.__cause__, "strerror", None) or error
        raise ExportError(f"could not write {path}: {reason}; any earlier file there is unchanged") from error


def _lines(resources) -> Iterator[bytes]:
    for stored in resources:
        yield _one_line(stored.text).encode("utf-8") + b"\n"


def _one_line(text: str) -> str:
    """The resource text on one line, as NDJSON needs, with every token unchanged.

    JSON strings cannot hold a raw CR or LF (they must be escaped), so in valid JSON those characters are
    only whitespace between tokens, which JSON never requires; dropping them changes no value, unlike a
    re-serialisation, which would rewrite numbers such as `100.50`.
    """
    if "\n" not in text and "\r" not in text:
        return text
    return text.replace("\r", "").replace("\n", "")


def _bundle(resources: list[StoredResource]) -> bytes:
    envelope = collection_bundle([{} for _ in resources])
    envelope["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return bundle_json(envelope, [stored.text for stored in resources])


def describe(result: ExportResult, out: Path) -> str:
    """One line for the terminal: how much went where."""
    types = len(result.counts)
    return f"Exported {result.total} resources of {types} type{'s' * (types != 1)} from {result.source} to {out}"
