"""Turn a received resource into the exact text the store keeps, refusing what JSON cannot hold (ST-5)."""

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import orjson

from mirror.fhir.ids import is_resource_type_name, is_valid_id
from mirror.store.errors import InvalidResource


@dataclass(frozen=True, slots=True)
class ParsedText:
    """A resource's exact JSON text and a strict parse of it, since parsing is most of what a bulk load costs."""

    text: str
    parsed: dict


Received = str | bytes | Mapping | ParsedText


@dataclass(frozen=True, slots=True)
class IngestedResource:
    resource_type: str
    id: str
    text: str
    content_hash: str
    last_updated: str | None


def ingest(received: Received, index: int) -> tuple[IngestedResource, dict]:
    """Check resource number `index`; return what the store keeps, and the parse apart so the caller can drop it."""
    if isinstance(received, ParsedText):
        text = received.text
        # Only orjson refuses escaped lone surrogates (`"\\ud800"`); a text without a backslash holds none.
        parsed = _parse(text, index) if "\\" in text else _object(received.parsed, index)
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate character (an escaped one was parsed strictly above)
            raise InvalidResource(f"Resource {index + 1} is not valid UTF-8 text.", index) from None
    elif isinstance(received, (bytes, bytearray, memoryview)):
        encoded = bytes(received)
        parsed = _parse(encoded, index)
        text = encoded.decode("utf-8")  # orjson has already refused invalid UTF-8
    elif isinstance(received, str):
        parsed = _parse(received, index)
        text = received
        encoded = text.encode("utf-8")  # orjson has already refused lone surrogates
    elif isinstance(received, Mapping):
        parsed = dict(received)
        encoded = _serialise(parsed, index)
        text = encoded.decode("utf-8")
    else:
        raise InvalidResource(f"Resource {index + 1} is a {type(received).__name__}, not JSON text or an object.", index)
    resource_type, resource_id = parsed.get("resourceType"), parsed.get("id")
    if not is_resource_type_name(resource_type):
        raise InvalidResource(f"Resource {index + 1} has no valid resourceType, so it cannot be stored.", index)
    if not is_valid_id(resource_id):
        raise InvalidResource(f"Resource {index + 1} ({resource_type}) has no valid FHIR id ([A-Za-z0-9-.], 1 to 64 "
                              "characters), so it cannot be stored.", index)
    meta = parsed.get("meta")
    last_updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return IngestedResource(resource_type, resource_id, text, hashlib.sha256(encoded).hexdigest(),
                            last_updated if isinstance(last_updated, str) else None), parsed


def _parse(text: str | bytes, index: int) -> dict:
    """orjson is strict where Python's json is not: it refuses NaN, Infinity and lone surrogates."""
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise InvalidResource(f"Resource {index + 1} is not valid JSON ({error}).", index) from None
    return _object(parsed, index)


def _object(parsed: object, index: int) -> dict:
    if not isinstance(parsed, dict):
        raise InvalidResource(f"Resource {index + 1} is JSON but not an object.", index)
    return parsed


def _serialise(resource: dict, index: int) -> bytes:
    try:
        encoded = orjson.dumps(resource, default=_decimal_as_number)
    except orjson.JSONEncodeError as error:
        raise InvalidResource(f"Resource {index + 1} cannot be written as JSON ({error}).", index) from None
    # orjson writes NaN and Infinity as null, so only a text with a null needs the slower look for such a float.
    if b"null" in encoded and _has_non_finite_float(resource):
        raise InvalidResource(f"Resource {index + 1} contains NaN or Infinity, which JSON cannot hold.", index)
    return encoded


def _decimal_as_number(value: object) -> orjson.Fragment:
    """Write a Decimal with the digits it was parsed from (`1.50` stays `1.50`); orjson refuses the rest."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError


def _has_non_finite_float(value: object) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float):
            if not math.isfinite(node):
                return True
        elif isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return False
