"""So that a plan folder's files stream, diff and read well.

The byte layout of a plan folder's files: Bundles hold one entry per line (compact, streamable, readable in
a diff) and are streamed to disk; the small files (plan.json, single resources) are indented by two spaces."""

from __future__ import annotations

from pathlib import Path

import orjson

def relink(value, uuids: dict[str, str]):
    """A copy of `value` whose references to entries of the same transaction Bundle use their urn:uuid."""
    if isinstance(value, dict):
        return {key: uuids.get(item, item) if key == "reference" else relink(item, uuids) for key, item in value.items()}
    if isinstance(value, list):
        return [relink(item, uuids) for item in value]
    return value


def indented(resource: dict) -> bytes:
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2) + b"\n"


class BundleFile:
    """Streams a Bundle to disk, one entry per line, so a member's 500 claims never sit in memory together."""

    def __init__(self, path: Path, header: dict):
        self.path, self.count, self.bytes = path, 0, 0
        self.handle = path.open("wb")
        self._write(orjson.dumps(header)[:-1] + b',"entry":[')

    def _write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.bytes += len(chunk)

    def add(self, entry: dict) -> None:
        self._write((b"\n" if self.count == 0 else b",\n") + orjson.dumps(entry))
        self.count += 1

    def close(self) -> None:
        self._write(b"\n]}\n")
        self.handle.close()
