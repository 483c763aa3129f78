"""The store file's layout: plain JSON, written one TinyDB document per line (then compressed, compression.py).

Any JSON parser reads the decompressed file as one object. The layout exists for memory: orjson (yyjson underneath)
reserves about 13 times a document's size while parsing it, so parsing a 700 MB store in one call would need
9 GB; parsed line by line, the peak stays near the file's size plus what it holds. Writing line by line
likewise streams the file instead of building it in memory first. JSON strings cannot contain a raw newline,
so the newline bytes are exactly the separators written here.

    {"format":"payer-mirror-store","version":1,"generation":7,"written_at":"...","tables":{
    "resources":{
    "1":{...},
    "2":{...}
    },
    "history":{
    }
    }}

A file in any other layout (say, pretty-printed by hand) is still read, in one piece.
"""

from collections.abc import Iterator

import orjson

_TABLES_OPENING = b',"tables":{'


class LayoutError(ValueError):
    """The file is not the JSON this layout describes; the message says where."""


def file_lines(header: dict, tables: dict[str, dict]) -> Iterator[bytes]:
    """The file for `header` (the envelope's other members) and `tables`, one line per chunk."""
    yield orjson.dumps(header)[:-1] + _TABLES_OPENING + b"\n"
    for table_number, (name, documents) in enumerate(tables.items()):
        yield orjson.dumps(name) + b":{\n"
        last = len(documents) - 1
        for number, (doc_id, document) in enumerate(documents.items()):
            separator = b",\n" if number < last else b"\n"
            yield orjson.dumps(doc_id) + b":" + orjson.dumps(document) + separator
        yield b"},\n" if table_number < len(tables) - 1 else b"}\n"
    yield b"}}\n"


def parse_file(raw: bytes) -> dict:
    """The envelope in `raw`; raises LayoutError, or orjson.JSONDecodeError, when it is not JSON."""
    view = memoryview(raw)
    lines = _line_spans(raw)
    first = next(lines, None)
    if first is None or not raw.endswith(_TABLES_OPENING, *first):
        return orjson.loads(raw)
    envelope = orjson.loads(raw[first[0]:first[1] - len(_TABLES_OPENING)] + b"}")
    tables: dict[str, dict] = {}
    documents: dict | None = None
    for line_number, (start, end) in enumerate(lines, start=2):
        try:
            if documents is None:
                if view[start:end] == b"}}":
                    if next(lines, None) is not None:
                        raise LayoutError(f"there is data after its end, at line {line_number + 1}")
                    if not isinstance(envelope, dict):
                        raise LayoutError("its header is not an object")
                    envelope["tables"] = tables
                    return envelope
                if not raw.endswith(b":{", start, end):
                    raise LayoutError(f"line {line_number} should open a table")
                documents = tables[orjson.loads(view[start:end - 2])] = {}
            elif view[start:end] in (b"}", b"},"):
                documents = None
            else:
                if raw.endswith(b",", start, end):
                    end -= 1
                colon = raw.find(b'":', start, end) + 1
                if colon <= 0:
                    raise LayoutError(f"line {line_number} is not a document")
                documents[orjson.loads(view[start:colon])] = orjson.loads(view[colon + 1:end])
        except orjson.JSONDecodeError as error:
            raise LayoutError(f"line {line_number} is not valid JSON ({error})") from None
    raise LayoutError("it ends before its last table is closed")


def _line_spans(raw: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of `raw`, without its newline: offsets, so no copy of the file is made."""
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        if end == -1:
            end = len(raw)
        yield start, end
        start = end + 1
