"""The compressed frames of runs of documents that have not changed since the file was read or written.

A commit rewrites the whole file (ST-1), but most of a large store does not change between two commits: a
page adds 100 resources to 100,000. So each run of documents (file_format.DocumentRun) is compressed as its own
frame and kept; the next write writes that frame again as it is when the run still holds the same documents,
unchanged, and compresses only the runs that changed. A commit then costs the disk's time for the compressed
file plus the compressing of what changed, instead of serialising and compressing the whole store.

A kept frame is written again only when its run has the same document ids, each the very same dict object,
and the same place (last in its table or not). A document changed in place keeps its identity, so every
change goes through the tables' view (tables.py), which calls `forget` for the document's segment.

Opening a store need not read its tables either: a sync that brings nothing new reads the sync state and
writes a run record, while decompressing and parsing the resources was most of its time (bench/README.md). So
the header lists every frame after its own (`layout`: length, CRC-32, and the table whose runs it holds, or
null for envelope lines), the reader (storages.py) leaves each table's frames compressed as an UnreadTable,
and a table is read when first used (`read_table`). One never used is written again as the frames it was read
as, their CRCs checked at open, so that damage is refused then (ST-6), as when every frame was decompressed.
"""

import operator
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from mirror.store.compression import compressed_frame, frames_of
from mirror.store.file_format import DocumentRun, file_pieces, header_line, parse_table, run_lines, segment_of

Frame = tuple[bytes, int]  # a compressed frame and its CRC-32


@dataclass
class UnreadTable:
    """A table as the file holds it, its runs' frames still compressed, in order."""

    name: str
    frames: list[Frame] = field(default_factory=list)


def frame_crc(frame: bytes) -> int:
    return zlib.crc32(frame)


class FrameCache:
    def __init__(self) -> None:
        self._frames: dict[tuple[str, int], tuple[DocumentRun, Frame]] = {}

    def forget(self, table: str, doc_id: str) -> None:
        """A document of `table` is about to change, appear or go: its run's frame is stale."""
        segment = segment_of(doc_id)
        if segment is not None:
            self._frames.pop((table, segment), None)

    def forget_table(self, table: str) -> None:
        for key in [key for key in self._frames if key[0] == table]:
            del self._frames[key]

    def clear(self) -> None:
        self._frames.clear()

    def file_frames(self, header: dict, tables: dict[str, dict | UnreadTable]) -> Iterator[bytes]:
        """The compressed file for `header` and `tables`, reusing the frames of unchanged runs and of unread
        tables; the first frame's header lists the others. Once the file is whole, only the frames it holds are
        kept (a dropped table's would otherwise stay for good)."""
        in_file: dict[tuple[str, int], tuple[DocumentRun, Frame]] = {}
        groups = _framed(file_pieces(tables))
        opening = cast(list[bytes], next(groups))  # the first group is always the header frame's lines
        body: list[tuple[bytes, int, str | None]] = []
        for group in groups:
            if isinstance(group, list):
                body.append((*_compressed(group), None))
            elif isinstance(group, UnreadTable):
                body.extend((frame, crc, group.name) for frame, crc in group.frames)
            else:
                body.append((*self._frame(group, in_file), group.table))
        layout = [[len(frame), crc, table] for frame, crc, table in body]
        yield compressed_frame([header_line({**header, "layout": layout}), *opening])
        yield from (frame for frame, _, _ in body)
        self._frames = in_file

    def read_table(self, table: UnreadTable, keep: bool) -> dict:
        """The documents of an unread table, their texts left encoded (each frame's checksum vouches for them,
        file_format.py); raises DamagedFrame or LayoutError. With `keep` (a writer), its frames are kept when
        they line up one for one with the runs that writing the documents makes: each frame ends at the end of
        a line and holds as many lines as its run has documents (the parser checked the commas)."""
        ends_of_line: list[bool] = []

        def contents() -> Iterator[bytes]:  # one frame's content in memory at a time, as at open
            for frame, _ in table.frames:
                for _, content in frames_of(frame, checksummed=True):
                    ends_of_line.append(content.endswith(b"\n"))
                    yield content

        documents, line_counts = parse_table(table.name, contents(), defer_texts=True)
        if keep:
            runs = list(_runs_of(table.name, documents))
            if (len(runs) == len(table.frames) == len(line_counts) == len(ends_of_line) and all(ends_of_line)
                    and all(len(run.doc_ids) == lines for run, lines in zip(runs, line_counts, strict=True))):
                for run, frame in zip(runs, table.frames, strict=True):
                    if run.segment is not None:
                        self._frames[(run.table, run.segment)] = (run, frame)
        return documents

    def _frame(self, run: DocumentRun, in_file: dict[tuple[str, int], tuple[DocumentRun, Frame]]) -> Frame:
        if run.segment is None:
            return _compressed(run_lines(run))
        key = (run.table, run.segment)
        kept = self._frames.get(key)
        if kept is None or not _same_run(kept[0], run):
            kept = self._frames[key] = (run, _compressed(run_lines(run)))
        in_file[key] = kept
        return kept[1]


def _compressed(lines: list[bytes]) -> Frame:
    frame = compressed_frame(lines)
    return frame, frame_crc(frame)


def _runs_of(name: str, documents: dict) -> Iterator[DocumentRun]:
    """The runs that writing the table `name` makes: those between its opening and closing lines."""
    return (piece for piece in file_pieces({name: documents}) if isinstance(piece, DocumentRun))


def _same_run(kept: DocumentRun, run: DocumentRun) -> bool:
    return kept.last == run.last and kept.doc_ids == run.doc_ids and all(map(operator.is_, kept.documents, run.documents))


def _framed(pieces: Iterator[bytes | DocumentRun | UnreadTable]) -> Iterator[list[bytes] | DocumentRun | UnreadTable]:
    """The pieces as the frames hold them: each run (or unread table) alone, the envelope lines between
    them together. The first group is the envelope lines before the first run, the header's frame."""
    envelope: list[bytes] = []
    first = True
    for piece in pieces:
        if isinstance(piece, bytes):
            envelope.append(piece)
            continue
        if envelope or first:
            yield envelope
        envelope, first = [], False
        yield piece
    yield envelope
