"""The store's documents in memory, built by applying the file's lines, so a writer and its readers agree."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from mirror.store.store_file import (DamagedFile, format1_records, frames, header_line, read_header, read_record,
                                     record_line)

Key = tuple[str, str, str]  # (source, resourceType, id)
TypeKey = tuple[str, str]  # (source, resourceType)
_IDENTITY = {"resources": ("source", "resource_type", "id"), "history": ("source", "resource_type", "id", "version"),
             "sync_state": ("source", "resource_type"), "sync_runs": ("run_id",)}


class Tables:
    """What the store holds; `generation` counts the commits behind it."""

    def __init__(self) -> None:
        self.resources: dict[TypeKey, dict[str, dict]] = {}
        self.history: dict[Key, list[dict]] = {}
        self.sync_state: dict[TypeKey, dict] = {}
        self.sync_runs: dict[str, dict] = {}
        self.generation = 0
        self.snapshot_size = self.journal_size = 0  # bytes of the lines of the snapshot, and of the commits after it

    def apply(self, table: str, document: dict) -> None:
        if table == "resources":
            if type(document["text"]) is not str:
                raise DamagedFile(f"the text of {document['resource_type']}/{document['id']} is not a string")
            _untrackable(document)
            self.resources.setdefault((document["source"], document["resource_type"]), {})[document["id"]] = document
        elif table == "history":
            _untrackable(document)
            self.history.setdefault((document["source"], document["resource_type"], document["id"]), []).append(document)
        elif table == "sync_state":
            self.sync_state[(document["source"], document["resource_type"])] = document
        else:
            self.sync_runs[document["run_id"]] = document

    def read(self, raw: bytes, snapshot: bool, path: Path) -> int:
        """Apply the frames of `raw` (the whole file when `snapshot`); returns how many bytes are whole frames."""
        read = 0
        try:
            with _damage_reported():
                for end, lines in frames(raw, snapshot):
                    first = snapshot and read == 0
                    self.generation = read_header(next(lines, b"{}"), path) if first else self.generation + 1
                    size = 0
                    for line in lines:
                        self.apply(*read_record(line))
                        size += len(line) + 1
                    if first:
                        self.snapshot_size = size
                    else:
                        self.journal_size += size
                    read = end
        except DamagedFile as error:
            error.whole_bytes = read
            raise
        if snapshot and read == 0:
            raise DamagedFile("it is empty")
        return read

    def read_format1(self, raw: bytes) -> None:
        with _damage_reported():
            self.generation, records = format1_records(raw)
            for table, document in records:
                self.apply(table, document)

    def snapshot_lines(self, written_at: str) -> Iterator[bytes]:
        """Everything held, as the lines of a snapshot, counted as they go for the next compaction."""
        self.snapshot_size = self.journal_size = 0
        yield header_line(self.generation, written_at)
        for table, document in self._documents():
            line = record_line(table, document)
            self.snapshot_size += len(line)
            yield line

    def _documents(self) -> Iterator[tuple[str, dict]]:
        yield from (("resources", document) for held in self.resources.values() for document in held.values())
        yield from (("history", document) for versions in self.history.values() for document in versions)
        yield from (("sync_state", state) for state in self.sync_state.values())
        yield from (("sync_runs", run) for run in self.sync_runs.values())


@contextmanager
def _damage_reported() -> Iterator[None]:
    try:
        yield
    except orjson.JSONDecodeError as error:
        raise DamagedFile(f"a line is not valid JSON ({error})") from None
    except (KeyError, TypeError, AttributeError) as error:
        raise DamagedFile(f"a document lacks what the store keeps ({error!r})") from None


def identity(table: str, document: dict) -> tuple:
    """What a document of `table` is known by: a later document with the same identity replaces it."""
    return (table, *(document[name] for name in _IDENTITY[table]))


def _untrackable(document: dict) -> None:
    """Hold a document's arrays as tuples, as commit_page does, so the cycle collector stops tracking it."""
    document["patient_ids"] = tuple(document["patient_ids"])
    if document["findings"] is not None:
        document["findings"] = tuple(document["findings"])
