"""Resources as the JSON text a server sent, never re-serialised (DESIGN: raw JSON is the truth).

A Bundle page or fixture file holds many resources; parsing and dumping them again would rewrite numbers
(`100.50` becomes `100.5`) and, through models, dates. Instead each entry's resource is cut out of the
document's own text while the document is parsed (once), and `urn:uuid` references are rewritten as text,
so everything else stays as written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_URN_STRING = re.compile(r'"(urn:[A-Za-z0-9.:\-]+)"')
# A literal first, so that the search skips ahead quickly (a look-behind first makes it many times slower).
_REFERENCE_MEMBER = re.compile(r'"reference"[ \t\n\r]*:[ \t\n\r]*"([^"\\]*(?:\\.[^"\\]*)*)"')
_BEFORE_MEMBER_NAME = frozenset('{, \t\n\r')
_RESOURCE_MEMBER = re.compile(r'"resource"[ \t\n\r]*:[ \t\n\r]*\{')


# Python's json reads what orjson, which the store and the validator parse with, refuses: NaN, Infinity and
# -Infinity, which are not JSON (RFC 8259), and numbers beyond a double (1e400, 400 digits), which it turns
# into infinity. Both are refused here, so that anything read from a page can be stored and read back.


def _refuse_constant(name: str) -> None:
    raise RawJsonError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RawJsonError(f"the number {text[:24]} is too large for a double")
    return value


def _integer(text: str) -> int:
    if len(text) > 300 and not math.isfinite(float(text)):  # no double is that long below infinity
        raise RawJsonError(f"the number {text[:24]}... is too large for a double")
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_integer)


class RawJsonError(ValueError):
    """Text that is not the JSON shape expected; the message says where."""


@dataclass(frozen=True)
class ParsedDocument:
    document: dict
    entry_texts: list[str | None]  # the text of each `entry[i].resource` (None: no resource), in entry order


def parse_keeping_entry_texts(text: str) -> ParsedDocument:
    """Parse a JSON object once, keeping the exact text of each top-level `entry[i].resource` on the way."""
    entry_texts: list[str | None] = []

    def top_level_value(key: str, start: int) -> tuple[object, int]:
        if key == "entry" and text[start:start + 1] == "[":
            return _entries(text, start, entry_texts)
        return _decode(text, start)

    document, end = _object(text, _skip(text, 0), top_level_value)
    if _skip(text, end) != len(text):
        raise RawJsonError(f"extra data after the JSON object at character {_skip(text, end)}")
    return ParsedDocument(document, entry_texts)


def parse_compact_entry_texts(text: str) -> ParsedDocument:
    """`parse_keeping_entry_texts`, several times faster where a Bundle's entries are written compactly.

    orjson parses the document once, and each entry's resource is found where the text holds exactly its compact
    serialisation (orjson.dumps: no whitespace, members in the document's order), as generated plans and most
    servers write them: that text is the resource's own, to the byte. A document written otherwise (indented,
    `\\u` escapes, `1.50`), or one orjson refuses, is parsed again by `parse_keeping_entry_texts`, which reads
    any JSON and words the errors. orjson reads an integer beyond 64 bits as a float: a resource holding one is
    found by that parse too, and the document outside the entries' resources keeps the float.
    """
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return parse_keeping_entry_texts(text)
    if not isinstance(document, dict):
        return parse_keeping_entry_texts(text)
    entries = document.get("entry")
    if not isinstance(entries, list):
        return ParsedDocument(document, [])
    entry_texts: list[str | None] = []
    position = 0
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            entry_texts.append(None)
            continue
        start = _resource_member_value(text, position)
        try:
            compact = orjson.dumps(resource).decode()
        except orjson.JSONEncodeError:  # nested deeper than orjson writes
            return parse_keeping_entry_texts(text)
        if start is None or not text.startswith(compact, start):
            return parse_keeping_entry_texts(text)
        entry_texts.append(compact)
        position = start + len(compact)
    return ParsedDocument(document, entry_texts)


def entry_texts_by_line(text: str) -> tuple[dict, list[tuple[int, str]]] | None:
    """So that a Bundle written one entry per line can be read one resource at a time.

    For a Bundle whose entries each end their line, with the resource as their last member (as
    `mockpayer generate` writes them): the Bundle parsed without its entries' resources (each left as `{}`),
    and (entry index, resource text) for each entry holding one. None for any other layout. A text is the
    resource's own exactly when it parses as one JSON object, which is for the caller to check: a JSON object
    ends where its text says, so text cut from its start that parses whole is the object and nothing more.
    Reading a resource at a time holds one resource's objects at once instead of a whole member's.
    """
    spans = []
    position = 0
    while (start := _resource_member_value(text, position)) is not None:
        line_end = text.find("\n", start)
        close = text.rfind("}", start, len(text) if line_end < 0 else line_end)
        if close <= start:
            return None
        spans.append((start, close))
        position = close
    if not spans:
        return None
    pieces, previous = [], 0
    for start, close in spans:
        pieces += [text[previous:start], "{}"]
        previous = close
    pieces.append(text[previous:])
    try:
        envelope = orjson.loads("".join(pieces))
    except orjson.JSONDecodeError:
        return None
    entries = envelope.get("entry") if isinstance(envelope, dict) else None
    if not isinstance(entries, list):
        return None
    holding = [index for index, entry in enumerate(entries) if isinstance(entry, dict)
               and isinstance(entry.get("resource"), dict)]
    if len(holding) != len(spans) or any(entries[index]["resource"] for index in holding):
        return None
    return envelope, [(index, text[start:close].rstrip()) for index, (start, close) in zip(holding, spans, strict=True)]


def _resource_member_value(text: str, position: int) -> int | None:
    """Where the object value of the next `"resource"` member from `position` starts (see `references_in_text`)."""
    for match in _RESOURCE_MEMBER.finditer(text, position):
        if text[match.start() - 1] in _BEFORE_MEMBER_NAME:
            return match.end() - 1
    return None


def resolve_urns(resource_text: str, targets: Mapping[str, str]) -> str:
    """Rewrite `urn:uuid:`/`urn:oid:` string values found in `targets` (as `Type/id`), as text only.

    A Bundle's entries point at each other by their `fullUrl`s; once loaded they are separate resources,
    so those references must become relative ones. The original text is returned when nothing changes.
    """
    if not targets or '"urn:' not in resource_text:
        return resource_text
    rewritten = _URN_STRING.sub(lambda match: _swap(match, targets), resource_text)
    return resource_text if rewritten == resource_text else rewritten


def references_in_text(resource_text: str) -> list[str]:
    """So that a resource's references can be found without parsing the resource.

    Every string `reference` member of a resource's JSON text (contained resources included), in text order:
    the references `references.iter_references` finds in the parsed resource, without parsing it.

    Reading the text is several times faster than parsing and walking it, which is what `$everything` does
    for every record of a member. It is exact for valid JSON: a `"` inside a string is always escaped, so
    `"reference"` preceded by `{`, `,` or whitespace and followed by `:` can only be a member name, and the
    value is kept only when it is a string (EOB.related.reference, an Identifier, is not).
    """
    found: list[str] = []
    if '"reference"' not in resource_text:
        return found
    for match in _REFERENCE_MEMBER.finditer(resource_text):
        if resource_text[match.start() - 1] in _BEFORE_MEMBER_NAME:
            value = match.group(1)
            found.append(json.loads(f'"{value}"') if "\\" in value else value)
    return found


def _swap(match: re.Match, targets: Mapping[str, str]) -> str:
    target = targets.get(match.group(1))
    return match.group(0) if target is None else json.dumps(target, ensure_ascii=False)


def _object(text: str, position: int, value_at) -> tuple[dict, int]:
    """The object starting at `position` and where it ends; `value_at(key, start)` reads each member's value."""
    if text[position:position + 1] != "{":
        raise RawJsonError(f"expected a JSON object at character {position}")
    result: dict = {}
    position = _skip(text, position + 1)
    if text[position:position + 1] == "}":
        return result, position + 1
    while True:
        if text[position:position + 1] != '"':
            raise RawJsonError(f"expected a member name at character {position}")
        try:
            key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]  # not in the stubs
        except json.JSONDecodeError as error:
            raise RawJsonError(f"{error.msg} at character {error.pos}") from None
        position = _skip(text, position)
        if text[position:position + 1] != ":":
            raise RawJsonError(f"expected ':' at character {position}")
        result[key], position = value_at(key, _skip(text, position + 1))
        position = _after_item(text, position, "}")
        if text[position - 1] == "}":
            return result, position


def _entries(text: str, position: int, entry_texts: list[str | None]) -> tuple[list, int]:
    entries: list = []
    position = _skip(text, position + 1)
    if text[position:position + 1] == "]":
        return entries, position + 1
    while True:
        if text[position:position + 1] == "{":
            spans: dict[str, tuple[int, int]] = {}

            def entry_value(key: str, start: int, spans: dict[str, tuple[int, int]] = spans) -> tuple[object, int]:
                value, end = _decode(text, start)
                spans[key] = (start, end)
                return value, end

            entry, position = _object(text, position, entry_value)
            is_resource = isinstance(entry.get("resource"), dict)
            entry_texts.append(text[slice(*spans["resource"])] if is_resource else None)
            entries.append(entry)
        else:
            item, position = _decode(text, position)
            entry_texts.append(None)
            entries.append(item)
        position = _after_item(text, position, "]")
        if text[position - 1] == "]":
            return entries, position


def _after_item(text: str, position: int, closing: str) -> int:
    """Past the `,` before the next item (at the item), or past the closing bracket."""
    position = _skip(text, position)
    found = text[position:position + 1]
    if found == ",":
        return _skip(text, position + 1)
    if found == closing:
        return position + 1
    raise RawJsonError(f"expected ',' or '{closing}' at character {position}")


def _skip(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]  # it matches the empty string


def _decode(text: str, start: int) -> tuple[object, int]:
    try:
        return _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise RawJsonError(f"{error.msg} at character {error.pos}") from None
    except RawJsonError:
        raise
    except ValueError as error:  # an integer longer than Python reads (4,300 digits)
        raise RawJsonError(f"a number near character {start} cannot be read ({error})") from None
    except RecursionError:
        raise RawJsonError(f"JSON nested too deeply at character {start}") from None
