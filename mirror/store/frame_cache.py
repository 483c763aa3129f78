"""The compressed frames of runs of documents that have not changed since the file was read or written.

A commit rewrites the whole file (ST-1), but most of a large store does not change between two commits: a
page adds 100 resources to 100,000. So each run of documents (file_format.Run) is compressed as its own frame
and kept; the next write writes that frame again as it is when the run still holds the same documents,
unchanged, and compresses only the runs that changed. A commit then costs the disk's time for the compressed
file plus the compressing of what changed, instead of serialising and compressing the whole store.

A kept frame is written again only when its run has the same document ids, each the very same dict object,
and the same place (last in its table or not). A document changed in place keeps its identity, so every
change goes through the tables' view (tables.py), which calls `forget` for the document's segment.
"""

import operator
from collections.abc import Iterator
from typing import NamedTuple

from mirror.store.compression import compressed_frame
from mirror.store.file_format import Run, file_pieces, run_lines, segment_of


class ReadFrame(NamedTuple):
    """A frame of a file being read, with what keep_read_frames checks of its content."""

    frame: bytes
    lines: int  # that end in it (file_format.parse_file counts them)
    whole: bool  # it ends at the end of a line


class FrameCache:
    def __init__(self) -> None:
        self._frames: dict[tuple[str, int], tuple[Run, bytes]] = {}

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

    def file_frames(self, header: dict, tables: dict[str, dict]) -> Iterator[bytes]:
        """The compressed file for `header` and `tables`, reusing the frames of unchanged runs. Once the file is
        whole, only the frames it holds are kept (a dropped table's would otherwise stay for good)."""
        in_file: dict[tuple[str, int], tuple[Run, bytes]] = {}
        for group in _framed(file_pieces(header, tables)):
            yield compressed_frame(group) if isinstance(group, list) else self._frame(group, in_file)
        self._frames = in_file

    def keep_read_frames(self, frames: list[ReadFrame], tables: dict[str, dict]) -> None:
        """Keep `frames`, of the file just parsed into `tables`, when they line up one for one with the frames
        that writing those tables makes; otherwise keep none, and the next write compresses everything. The
        file's lines, in order, are what the tables were parsed from, in order; so when each frame in turn ends
        at the end of a line and holds as many lines as the piece it stands for, it holds exactly that piece. Its
        commas are right too: the parser refuses a file with a comma missing or one too many."""
        self.clear()
        groups = list(_framed(file_pieces({}, tables)))  # the header is in the first frame, never kept
        if len(groups) != len(frames):
            return
        kept: dict[tuple[str, int], tuple[Run, bytes]] = {}
        for group, read in zip(groups, frames):
            if isinstance(group, list):
                if not read.whole or read.lines != len(group):
                    return
                continue
            if not read.whole or read.lines != len(group.doc_ids):
                return
            if group.segment is not None:
                kept[(group.table, group.segment)] = (group, read.frame)
        self._frames = kept

    def _frame(self, run: Run, in_file: dict[tuple[str, int], tuple[Run, bytes]]) -> bytes:
        if run.segment is None:
            return compressed_frame(run_lines(run))
        key = (run.table, run.segment)
        kept = self._frames.get(key)
        if kept is None or not _same_run(kept[0], run):
            kept = self._frames[key] = (run, compressed_frame(run_lines(run)))
        in_file[key] = kept
        return kept[1]


def _same_run(kept: Run, run: Run) -> bool:
    return kept.last == run.last and kept.doc_ids == run.doc_ids and all(map(operator.is_, kept.documents, run.documents))


def _framed(pieces: Iterator[bytes | Run]) -> Iterator[list[bytes] | Run]:
    """The pieces as the frames hold them: each run alone, the envelope lines between runs together."""
    envelope: list[bytes] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            envelope.append(piece)
            continue
        if envelope:
            yield envelope
            envelope = []
        yield piece
    yield envelope
