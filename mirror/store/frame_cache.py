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

from collections.abc import Iterator

from mirror.store.compression import compressed_frame
from mirror.store.file_format import Run, file_pieces, run_lines, segment_of


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
        """The compressed file for `header` and `tables`, reusing the frames of unchanged runs."""
        envelope_lines: list[bytes] = []
        for piece in file_pieces(header, tables):
            if isinstance(piece, bytes):
                envelope_lines.append(piece)
                continue
            if envelope_lines:
                yield compressed_frame(b"".join(envelope_lines))
                envelope_lines = []
            yield self._frame(piece)
        yield compressed_frame(b"".join(envelope_lines))

    def keep_read_frames(self, frames: list[tuple[bytes, bytes]], tables: dict[str, dict]) -> None:
        """Keep `frames` ((frame, content) of the file just parsed into `tables`) when they line up
        one for one with the pieces that writing those tables makes (a file this module wrote); otherwise keep
        none, and the next write compresses everything."""
        self.clear()
        read = iter(frames)
        kept: dict[tuple[str, int], tuple[Run, bytes]] = {}
        pending_envelope = False
        for piece in file_pieces({}, tables):  # the header is in the first envelope frame, never kept
            if isinstance(piece, bytes):
                pending_envelope = True
                continue
            if pending_envelope:
                if next(read, None) is None:
                    return
                pending_envelope = False
            frame = next(read, None)
            if frame is None or not _holds(frame[1], piece):
                return
            if piece.segment is not None:
                kept[(piece.table, piece.segment)] = (piece, frame[0])
        if next(read, None) is None or next(read, None) is not None:
            return
        self._frames = kept

    def _frame(self, run: Run) -> bytes:
        key = (run.table, run.segment)
        kept = self._frames.get(key) if run.segment is not None else None
        if kept is not None and _same_run(kept[0], run):
            return kept[1]
        frame = compressed_frame(run_lines(run))
        if run.segment is not None:
            self._frames[key] = (run, frame)
        return frame


def _same_run(kept: Run, run: Run) -> bool:
    return (kept.last == run.last and kept.doc_ids == run.doc_ids
            and all(old is new for old, new in zip(kept.documents, run.documents)))


def _holds(content: bytes, run: Run) -> bool:
    """Whether a frame's content is exactly the lines of `run`'s documents, in order, as the layout writes them."""
    start = 0
    for number, doc_id in enumerate(run.doc_ids, start=1):
        end = content.find(b"\n", start)
        if end == -1 or not content.startswith(b'"' + doc_id.encode() + b'":', start, end):
            return False
        if content.endswith(b",", start, end) == (run.last and number == len(run.doc_ids)):
            return False
        start = end + 1
    return start == len(content)
