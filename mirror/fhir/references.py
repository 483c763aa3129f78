"""FHIR R4 references (https://hl7.org/fhir/R4/references.html): what a `reference` string points at.

Payer data uses every form: relative `Type/id`, versioned `Type/id/_history/v`, absolute URLs on the payer's
base, `urn:uuid:` inside Bundles and `#id` for contained resources. Types and ids are checked against the FHIR
rules (ids.py) so that nothing like `../x` ever comes out of a parsed reference.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit
from uuid import UUID

from mirror.fhir.ids import is_resource_type_name, is_valid_id

RELATIVE, ABSOLUTE, URN, CONTAINED = "relative", "absolute", "urn", "contained"
_LONGEST_REFERENCE = 2048


class InvalidReference(ValueError):
    """A reference string in none of the R4 forms, or naming an invalid type or id."""


@dataclass(frozen=True)
class Reference:
    """So that code reads a reference's parts rather than parsing its string again.

    A parsed reference. `kind` says which fields apply:

    relative: resource_type, id, version; absolute: the same plus base (the server root, e.g.
    `https://api.example.com/r4`); urn: urn (the whole `urn:uuid:`/`urn:oid:` string); contained: id
    (None for a bare `#`, which points back at the containing resource).
    """

    kind: str
    resource_type: str | None = None
    id: str | None = None
    version: str | None = None
    base: str | None = None
    urn: str | None = None


def parse_reference(text: str) -> Reference:
    """Parse a `Reference.reference` string; raises InvalidReference for anything else."""
    if not isinstance(text, str) or not text or len(text) > _LONGEST_REFERENCE:
        raise InvalidReference("not a reference")
    if text.startswith("#"):
        local_id = text[1:] or None
        if local_id is not None and not is_valid_id(local_id):
            raise InvalidReference("invalid contained id")
        return Reference(CONTAINED, id=local_id)
    lowered = text.lower()
    if lowered.startswith("urn:uuid:"):
        try:
            UUID(text[len("urn:uuid:"):])
        except ValueError:
            raise InvalidReference("invalid urn:uuid") from None
        return Reference(URN, urn=text)
    if lowered.startswith("urn:oid:"):
        oid = text[len("urn:oid:"):]
        if not oid or not all(arc.isdigit() for arc in oid.split(".")):
            raise InvalidReference("invalid urn:oid")
        return Reference(URN, urn=text)
    if lowered.startswith(("http://", "https://")):
        return _absolute(text)
    resource_type, resource_id, version = _type_id_version(text.split("/"))
    return Reference(RELATIVE, resource_type, resource_id, version)


def reference_target(text: object) -> tuple[str, str] | None:
    """The (type, id) a relative or absolute reference names; None for contained, urn or unparseable ones.

    The base of an absolute reference is dropped: callers resolve targets only inside their own store, so a
    reference to another server finds nothing rather than something it should not.
    """
    return _target(text) if isinstance(text, str) else None


@lru_cache(maxsize=4096)
def _target(text: str) -> tuple[str, str] | None:
    """So that the few targets a member's records repeat are parsed once, not thousands of times.

    A memo, not state: a member's records name the same few targets (their Patient, their Coverage) over
    and over, and indexing them all parses each of those strings thousands of times otherwise."""
    try:
        parsed = parse_reference(text)
    except InvalidReference:
        return None
    if parsed.kind in (RELATIVE, ABSOLUTE) and parsed.resource_type is not None and parsed.id is not None:
        return parsed.resource_type, parsed.id
    return None


def iter_references(resource: Mapping) -> Iterator[str]:
    """Every `reference` string anywhere in a resource, contained resources included, in document order.

    Contained resources are walked too: their references (say, a contained Medication's manufacturer) are
    part of what the resource points at. Their `#id` links come out as they are; `parse_reference` tells
    them apart. Non-string `reference` members (EOB.related.reference is an Identifier) are skipped.
    The walk uses an explicit stack, so deeply nested input cannot exhaust the recursion limit.
    """
    stack: list = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            children = []
            for key, value in node.items():
                if key == "reference" and isinstance(value, str):
                    yield value
                elif isinstance(value, (Mapping, list)):
                    children.append(value)
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _absolute(text: str) -> Reference:
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket in the host
        raise InvalidReference("invalid absolute reference") from None
    if parts.query or parts.fragment or not parts.netloc:
        raise InvalidReference("absolute reference must be a plain URL")
    segments = parts.path.rstrip("/").split("/")
    tail = 4 if len(segments) >= 5 and segments[-2] == "_history" else 2
    if len(segments) < tail + 1:
        raise InvalidReference("absolute reference does not end in Type/id")
    resource_type, resource_id, version = _type_id_version(segments[-tail:])
    base = f"{parts.scheme}://{parts.netloc}" + "/".join(segments[:-tail])
    return Reference(ABSOLUTE, resource_type, resource_id, version, base=base)


def _type_id_version(segments: list[str]) -> tuple[str, str, str | None]:
    if len(segments) == 2:
        resource_type, resource_id, version = segments[0], segments[1], None
    elif len(segments) == 4 and segments[2] == "_history":
        resource_type, resource_id, version = segments[0], segments[1], segments[3]
    else:
        raise InvalidReference("reference is not Type/id or Type/id/_history/version")
    if not is_resource_type_name(resource_type):
        raise InvalidReference("invalid resource type in reference")
    if not is_valid_id(resource_id) or (version is not None and not is_valid_id(version)):
        raise InvalidReference("invalid id in reference")
    return resource_type, resource_id, version
