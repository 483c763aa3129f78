"""SMART App Launch scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html), v1 and v2.

Both servers and the sync client ask one question of a granted scope string: may this token read resources
of type T? The grammar is parsed once here so that `patient/*.read` and `patient/Coverage.rs` mean the same
thing everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
NON_RESOURCE_SCOPES = frozenset(
    {"launch", "launch/patient", "launch/encounter", "openid", "fhirUser", "profile", "offline_access", "online_access"}
)
_RESOURCE_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\."
    r"(?P<permissions>read|write|\*|c?r?u?d?s?)(?P<query>\?.*)?"
)


@dataclass(frozen=True)
class ResourceScope:
    context: str
    resource_type: str  # a type name or "*"
    permissions: frozenset[str]  # subset of {"c", "r", "u", "d", "s"}
    query: str = ""  # a v2 `?param=value` restriction, kept verbatim

    @property
    def can_read(self) -> bool:
        return bool(self.permissions & {"r", "s"})

    def covers(self, resource_type: str) -> bool:
        return self.resource_type in ("*", resource_type)


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """The parsed form of a `context/Type.permissions` scope, or None for anything else."""
    match = _RESOURCE_SCOPE.fullmatch(scope)
    if not match or not match["permissions"]:
        return None
    permissions = match["permissions"]
    if permissions in ("read",):
        granted = frozenset("rs")
    elif permissions == "write":
        granted = frozenset("cud")
    elif permissions == "*":
        granted = frozenset("cruds")
    else:
        granted = frozenset(permissions)
    return ResourceScope(match["context"], match["type"], granted, (match["query"] or "")[1:])


def is_known_scope(scope: str) -> bool:
    return scope in NON_RESOURCE_SCOPES or parse_resource_scope(scope) is not None


def split_scope(scope: str | None) -> list[str]:
    """Scope words in the order given, without repeats."""
    return list(dict.fromkeys((scope or "").split()))


def readable_types(scope: str | None) -> tuple[bool, frozenset[str]]:
    """(all types readable?, the named types readable) for a granted scope string."""
    every_type = False
    named: set[str] = set()
    for word in split_scope(scope):
        parsed = parse_resource_scope(word)
        if parsed is None or not parsed.can_read:
            continue
        if parsed.resource_type == "*":
            every_type = True
        else:
            named.add(parsed.resource_type)
    return every_type, frozenset(named)


def allows_read(scope: str | None, resource_type: str) -> bool:
    every_type, named = readable_types(scope)
    return every_type or resource_type in named
