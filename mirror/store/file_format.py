"""The store file's layout: plain JSON, written one TinyDB document per line (then compressed, compression.py).

Any JSON parser reads the decompressed file as one object. The layout exists for memory: orjson (yyjson underneath)
reserves many times a document's size while parsing it, so parsing a large store in one call would need more memory
than a laptop has; parsed line by line, the peak stays near the file's size plus what it holds. Writing line by line
likewise streams the file instead of building it in memory first. JSON strings cannot contain a raw newline, so the
newline bytes are exactly the separators written here.

    {"format":"payer-mirror-store","version":1,"generation":7,"written_at":"...","tables":{
    "resources":{
    "1":{...},
    "2":{...}
    },
    "history":{
    }
    }}

A resource document's text (the resource's JSON, as one string) is nearly all of the file. Reading the resources
parses every document to build the indexes, but few reads need the texts; so, where a checksum vouches for the
content (storages.py), the parser leaves each text as the file has it, a JSON string literal held as bytes, which
StoredResource decodes when the resource is read and the writer writes back as it is, which makes parsing a store
much faster (bench/store.py, "parse store file").

The writer hands the file over in pieces (`file_pieces`): lines of the envelope, and runs of consecutive
documents of one table whose ids fall in one segment of SEGMENT_DOCS ids. Each piece ends with a newline, so a
piece compressed on its own (frame_cache.py) decompresses to whole lines, and the reader parses the file block
by block, or a table's runs apart from the rest (`parse_table`) when the table is first used. A file in any
other layout (say, pretty-printed by hand) is still read, in one piece.
"""

import bisect
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import orjson

_TABLES_OPENING = b',"tables":{'
# A resource document's text and the member the store writes after it: no JSON string can hold either (a quote
# inside a string is escaped), so in a document line they can only be the members themselves.
_TEXT_MEMBER, _MEMBER_AFTER_TEXT = b',"text":"', b',"content_hash":"'
SEGMENT_DOCS = 256  # documents per run: a few MB of claims, re-serialised whole when one of them changes


class LayoutError(ValueError):
    """The file is not the JSON this layout describes; the message says where."""


@dataclass(frozen=True)
class DocumentRun:
    """Consecutive documents of `table` whose ids fall in `segment`; `last` is the table's last run, whose
    last line has no comma after it."""

    table: str
    segment: int | None  # None when the table's keys are not increasing integers: never cached
    doc_ids: tuple[str, ...]
    documents: tuple[dict, ...]
    last: bool


def header_line(header: dict) -> bytes:
    """The file's first line: `header` (the envelope's members other than the tables) and the tables' opening."""
    return orjson.dumps(header)[:-1] + _TABLES_OPENING + b"\n"


def file_pieces(tables: Mapping[str, Any]) -> Iterator[bytes | DocumentRun | Any]:
    """The file after its header line: envelope lines, runs, and as it is any table held otherwise than as a
    dict (one left compressed, unread: frame_cache.UnreadTable)."""
    for table_number, (name, documents) in enumerate(tables.items()):
        yield orjson.dumps(name) + b":{\n"
        if isinstance(documents, dict):
            yield from _runs(name, documents)
        else:
            yield documents
        yield b"},\n" if table_number < len(tables) - 1 else b"}\n"
    yield b"}}\n"


def run_lines(run: DocumentRun) -> list[bytes]:
    """The lines of a run's documents, each a chunk: joining them would allocate the run again, and fresh
    megabytes cost more to allocate in a process that already holds a large store."""
    lines = [orjson.dumps(doc_id) + b":" + as_json(document) + b",\n"
             for doc_id, document in zip(run.doc_ids, run.documents, strict=True)]
    if run.last:
        lines[-1] = lines[-1][:-2] + b"\n"
    return lines


def file_lines(header: dict, tables: dict[str, dict]) -> Iterator[bytes]:
    """The file, as chunks of whole lines."""
    yield header_line(header)
    for piece in file_pieces(tables):
        if isinstance(piece, bytes):
            yield piece
        else:
            yield from run_lines(piece)


def segment_of(doc_id: str) -> int | None:
    try:
        return int(doc_id) // SEGMENT_DOCS
    except ValueError:
        return None


def _runs(table: str, documents: dict) -> Iterator[DocumentRun]:
    """The runs of a table, found by C-level passes over its keys: a commit of a page into 100,000 documents
    must not spend a Python loop on each of them. TinyDB gives ids in increasing order; a table whose keys are
    not (a document inserted with an id of its own) is cut into runs of SEGMENT_DOCS that are never cached."""
    doc_ids, values = tuple(documents), tuple(documents.values())
    if not doc_ids:
        return
    try:
        numbers = list(map(int, doc_ids))
    except ValueError:
        numbers = []
    if len(numbers) < len(doc_ids) or not all(map(operator.lt, numbers, islice(numbers, 1, None))):
        for start in range(0, len(doc_ids), SEGMENT_DOCS):
            end = start + SEGMENT_DOCS
            yield DocumentRun(table, None, doc_ids[start:end], values[start:end], last=end >= len(doc_ids))
        return
    start = 0
    while start < len(numbers):
        segment = numbers[start] // SEGMENT_DOCS
        end = bisect.bisect_left(numbers, (segment + 1) * SEGMENT_DOCS, start)
        yield DocumentRun(table, segment, doc_ids[start:end], values[start:end], last=end == len(numbers))
        start = end


def read_header(block: bytes) -> dict | None:
    """The envelope's members other than the tables, from the first line of `block` (the file's first block),
    or None when the file does not begin in this layout; raises orjson.JSONDecodeError."""
    header_end = block.find(b"\n")
    if header_end == -1 or not block.endswith(_TABLES_OPENING, 0, header_end):
        return None
    header = orjson.loads(block[:header_end - len(_TABLES_OPENING)] + b"}")
    return header if isinstance(header, dict) else None


def parse_file(content: bytes | Iterable[bytes], defer_texts: bool = False) -> dict:
    """The envelope in `content` (the file, or blocks of whole lines); raises LayoutError, or
    orjson.JSONDecodeError, when it is not JSON. With `defer_texts`, resource texts are left encoded (bytes),
    unchecked: for content that something else vouches for, such as a checksum."""
    blocks = iter((content,) if isinstance(content, bytes) else content)
    first = next(blocks, b"")
    header_end = first.find(b"\n")
    header_end = len(first) if header_end == -1 else header_end
    if not first.endswith(_TABLES_OPENING, 0, header_end):
        return orjson.loads(b"".join(chain((first,), blocks)))
    envelope = orjson.loads(first[:header_end - len(_TABLES_OPENING)] + b"}")
    tables: dict[str, dict] = {}
    table: _TableLines | None = None
    lines = _line_spans(chain(((first, header_end + 1),), ((block, 0) for block in blocks)))
    for line_number, (raw, start, end) in enumerate(lines, start=2):
        try:
            if table is None:
                if raw[start:end] == b"}}":
                    if next(lines, None) is not None:
                        raise LayoutError(f"there is data after its end, at line {line_number + 1}")
                    if not isinstance(envelope, dict):
                        raise LayoutError("its header is not an object")
                    envelope["tables"] = tables
                    return envelope
                if not raw.endswith(b":{", start, end):
                    raise LayoutError(f"line {line_number} should open a table")
                table = _TableLines(defer_texts)
                tables[orjson.loads(raw[start:end - 2])] = table.documents
            elif end - start <= 2 and raw[start:end] in (b"}", b"},"):
                table.close(f"line {line_number - 1}")
                table = None
            else:
                table.add(raw, start, end, f"line {line_number}", f"line {line_number - 1}")
        except orjson.JSONDecodeError as error:
            raise LayoutError(f"line {line_number} is not valid JSON ({error})") from None
    raise LayoutError("it ends before its last table is closed")


def parse_table(name: str, blocks: Iterable[bytes], defer_texts: bool = False) -> tuple[dict, list[int]]:
    """The documents of table `name` from `blocks` that hold its document lines and nothing else, as a table
    left unread at open holds them (frame_cache.UnreadTable), and how many lines end in each block."""
    table = _TableLines(defer_texts)
    counts: list[int] = []
    line_number = 0
    for line_number, (raw, start, end) in enumerate(_line_spans(((block, 0) for block in blocks), counts), start=1):
        try:
            table.add(raw, start, end, f"line {line_number} of table {name}", f"line {line_number - 1} of table {name}")
        except orjson.JSONDecodeError as error:
            raise LayoutError(f"line {line_number} of table {name} is not valid JSON ({error})") from None
    table.close(f"line {line_number} of table {name}")
    return table.documents, counts


class _TableLines:
    """A table's documents, one line at a time, with the commas between them that strict JSON wants."""

    def __init__(self, defer_texts: bool):
        self.documents: dict = {}
        self._defer_texts = defer_texts
        self._comma_owed = False  # the last document line ended with a comma: another document must follow

    def add(self, raw: bytes, start: int, end: int, where: str, where_before: str) -> None:
        if self.documents and not self._comma_owed:
            raise LayoutError(f"{where_before} lacks the comma between it and the next document")
        self._comma_owed = raw.endswith(b",", start, end)
        if self._comma_owed:
            end -= 1
        colon = raw.find(b'":', start, end) + 1
        if colon <= 0:
            raise LayoutError(f"{where} is not a document")
        self.documents[orjson.loads(raw[start:colon])] = (
            _document(raw, colon + 1, end) if self._defer_texts else orjson.loads(memoryview(raw)[colon + 1:end]))

    def close(self, where_last: str) -> None:
        if self._comma_owed:
            raise LayoutError(f"{where_last} ends with a comma, but its table ends there")


def _document(raw: bytes, start: int, end: int) -> object:
    """The document in `raw[start:end]`, a resource's text left encoded (bytes of a JSON string literal).

    The members before the text and those from `content_hash` on are parsed; each must be a whole JSON object,
    so the two members found are the document's own, not an object's nested in it. Any other document, or a
    damaged one, is parsed whole, which reports the damage."""
    text_at = raw.find(_TEXT_MEMBER, start, end)
    after_text = raw.rfind(_MEMBER_AFTER_TEXT, text_at, end) if text_at != -1 else -1
    if after_text != -1:
        try:
            document = orjson.loads(raw[start:text_at] + b"}")
            rest = orjson.loads(b"{" + raw[after_text + 1:end])
        except orjson.JSONDecodeError:
            pass
        else:
            if type(document) is dict and type(rest) is dict and "text" not in document and "text" not in rest:
                document["text"] = raw[text_at + len(_TEXT_MEMBER) - 1:after_text]
                document.update(rest)
                return document
    return orjson.loads(memoryview(raw)[start:end])


def as_json(value: object) -> bytes:
    """`value` (documents, tables) as the file writes it: texts still encoded are written as they were read."""
    return orjson.dumps(value, default=_encoded_as_read)


def decoded_text(text: str | bytes) -> str:
    """A document's text, decoded when the parser left it encoded; raises ValueError when it is no string."""
    if isinstance(text, bytes):
        text = orjson.loads(text)
        if type(text) is not str:
            raise ValueError("the text is not a JSON string")
    return text


def _encoded_as_read(value: object) -> orjson.Fragment:
    """orjson's hook for what it cannot write itself: a text still encoded goes back as the file had it.
    Documents hold no other bytes (the store keeps texts as str, ingest.py)."""
    if type(value) is bytes:
        return orjson.Fragment(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _line_spans(blocks: Iterable[tuple[bytes, int]], counts: list[int] | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(block, start, end) of each line of each block from its starting offset, without its newline:
    offsets, so no copy of the file is made. The pieces this module writes end with a newline, but a file
    compressed by another tool may cut a line between two blocks: that line is copied whole, and counts
    in `counts` (when given) for the block its newline is in."""
    counts = [] if counts is None else counts
    unfinished = b""
    for raw, start in blocks:
        counts.append(0)
        if unfinished:
            end = raw.find(b"\n", start)
            if end == -1:
                unfinished += raw[start:]
                continue
            line = unfinished + raw[start:end]
            unfinished = b""
            counts[-1] += 1
            yield line, 0, len(line)
            start = end + 1
        while start < len(raw):
            end = raw.find(b"\n", start)
            if end == -1:
                unfinished = raw[start:]
                break
            counts[-1] += 1
            yield raw, start, end
            start = end + 1
    if unfinished:
        yield unfinished, 0, len(unfinished)
