"""Resources as the JSON text a server sent, never re-serialised (DESIGN: raw JSON is the truth).

A Bundle page or fixture file holds many resources; parsing and dumping them again would rewrite numbers
(`100.50` becomes `100.5`) and, through models, dates. Instead each entry's resource is cut out of the
document's own text, and `urn:uuid` references are rewritten as text, so everything else stays as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class RawJsonError(ValueError):
    """Text that is not the JSON shape expected; the message says where."""


def member_spans(text: str, start: int = 0) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) for each member of the JSON object that begins at `start`."""
    position = _skip(text, start)
    if text[position:position + 1] != "{":
        raise RawJsonError(f"expected a JSON object at character {position}")
    position = _skip(text, position + 1)
    if text[position:position + 1] == "}":
        return
    while True:
        if text[position:position + 1] != '"':
            raise RawJsonError(f"expected a member name at character {position}")
        key, position = json.decoder.scanstring(text, position + 1)
        position = _skip(text, position)
        if text[position:position + 1] != ":":
            raise RawJsonError(f"expected ':' at character {position}")
        value_start = _skip(text, position + 1)
        value_end = _value_end(text, value_start)
        yield key, value_start, value_end
        position = _skip(text, value_end)
        if text[position:position + 1] == ",":
            position = _skip(text, position + 1)
            continue
        if text[position:position + 1] == "}":
            return
        raise RawJsonError(f"expected ',' or '}}' at character {position}")


def array_spans(text: str, start: int) -> Iterator[tuple[int, int]]:
    """(value start, value end) for each element of the JSON array that begins at `start`."""
    position = _skip(text, start)
    if text[position:position + 1] != "[":
        raise RawJsonError(f"expected a JSON array at character {position}")
    position = _skip(text, position + 1)
    if text[position:position + 1] == "]":
        return
    while True:
        value_end = _value_end(text, position)
        yield position, value_end
        position = _skip(text, value_end)
        if text[position:position + 1] == ",":
            position = _skip(text, position + 1)
            continue
        if text[position:position + 1] == "]":
            return
        raise RawJsonError(f"expected ',' or ']' at character {position}")


def entry_resource_texts(bundle_text: str) -> list[str | None]:
    """The text of each `Bundle.entry[i].resource`, or None for an entry without one, in entry order."""
    texts: list[str | None] = []
    for key, value_start, _ in member_spans(bundle_text):
        if key != "entry":
            continue
        for entry_start, _ in array_spans(bundle_text, value_start):
            resource = None
            for entry_key, start, end in member_spans(bundle_text, entry_start):
                if entry_key == "resource":
                    resource = bundle_text[start:end]
            texts.append(resource)
    return texts


def replace_references(resource_text: str, replacements: Mapping[str, str]) -> str:
    """Rewrite JSON string values equal to a key of `replacements` (such as `urn:uuid:...`), as text."""
    if not replacements:
        return resource_text

    def swap(match: re.Match) -> str:
        value = json.loads(match.group(0))
        if value in replacements:
            return json.dumps(replacements[value], ensure_ascii=False)
        return match.group(0)

    return re.sub(r'"(?:[^"\\]|\\.)*"', swap, resource_text)


def _skip(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()


def _value_end(text: str, start: int) -> int:
    try:
        return _DECODER.raw_decode(text, start)[1]
    except json.JSONDecodeError as error:
        raise RawJsonError(f"{error.msg} at character {error.pos}") from None
    except RecursionError:
        raise RawJsonError(f"JSON nested too deeply at character {start}") from None
