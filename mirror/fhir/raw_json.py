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
_URN_STRING = re.compile(r'"(urn:[A-Za-z0-9.:\-]+)"')
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


def resolve_urns(resource_text: str, targets: Mapping[str, str]) -> str:
    """Rewrite `urn:uuid:`/`urn:oid:` string values found in `targets` (as `Type/id`), as text only.

    A Bundle's entries point at each other by their `fullUrl`s; once loaded they are separate resources,
    so those references must become relative ones. The original text is returned when nothing changes.
    """
    if not targets or '"urn:' not in resource_text:
        return resource_text
    rewritten = _URN_STRING.sub(lambda match: _swap(match, targets), resource_text)
    return resource_text if rewritten == resource_text else rewritten


def _swap(match: re.Match, targets: Mapping[str, str]) -> str:
    target = targets.get(match.group(1))
    return match.group(0) if target is None else json.dumps(target, ensure_ascii=False)


def _skip(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()


def _value_end(text: str, start: int) -> int:
    try:
        return _DECODER.raw_decode(text, start)[1]
    except json.JSONDecodeError as error:
        raise RawJsonError(f"{error.msg} at character {error.pos}") from None
    except RecursionError:
        raise RawJsonError(f"JSON nested too deeply at character {start}") from None
