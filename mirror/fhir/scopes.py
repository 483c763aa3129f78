"""SMART App Launch scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html), v1 and v2.

What a read-only patient API may grant of the scopes asked, and what a granted scope lets its token see.

Both servers and the sync client read a scope string through here, so that `patient/*.read` and
`patient/*.rs` mean the same thing everywhere. SMART v2 splits reading in two: `r` reads a resource by its
id, `s` searches (v1 `.read` is both). A v2 granular scope (`patient/Observation.rs?category=laboratory`)
narrows its type to the resources its query matches; the query is read by the search machinery (search.py,
matching.py), so `system|code` tokens and dates mean exactly what they mean in a search. Scopes on one type
add up (SMART v2: "scopes ... are additive").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from mirror.fhir.matching import matches
from mirror.fhir.search import Search, SearchError, parse_search

CONTEXTS = ("patient", "user", "system")
READ, SEARCH = "r", "s"
NON_RESOURCE_SCOPES = frozenset(
    {"launch", "launch/patient", "launch/encounter", "openid", "fhirUser", "profile", "offline_access", "online_access"}
)
_RESOURCE_SCOPE = re.compile(
    r"(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\."
    r"(?P<permissions>read|write|\*|c?r?u?d?s?)(?P<query>\?.*)?"
)
_V1_PERMISSIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}


@dataclass(frozen=True)
class ResourceScope:
    context: str
    resource_type: str  # a type name or "*"
    permissions: frozenset[str]  # subset of {"c", "r", "u", "d", "s"}
    query: str = ""  # a v2 `param=value` restriction, kept verbatim without its `?`
    v1: bool = False  # written `.read`, `.write` or `.*`


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """The parsed form of a `context/Type.permissions[?query]` scope, or None for anything else."""
    match = _RESOURCE_SCOPE.fullmatch(scope)
    if not match or not match["permissions"] or match["query"] == "?":
        return None
    permissions = match["permissions"]
    v1 = permissions in _V1_PERMISSIONS
    granted = _V1_PERMISSIONS[permissions] if v1 else frozenset(permissions)
    return ResourceScope(match["context"], match["type"], granted, (match["query"] or "")[1:], v1)


def split_scope(scope: str | None) -> list[str]:
    """Scope words in the order given, without repeats."""
    return list(dict.fromkeys((scope or "").split()))


def scope_query(resource_type: str, query: str) -> Search | None:
    """So that a granular scope limits a type only in ways this server can honour, never silently widening.

    A granular scope's query as the search it limits its type to; None when it limits nothing this server can
    apply: an unknown parameter, a value a search would refuse, an empty value (a search would ignore it, so the
    scope would silently widen) or a result parameter such as `_include` or `_count`."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if resource_type == "*" or not pairs or any(not value for _, value in pairs):
        return None
    try:
        search = parse_search(resource_type, pairs, default_count=0, max_count=0, strict=True)
    except SearchError:
        return None
    return search if len(search.criteria) == len(pairs) else None


def grantable_scope(scope: str) -> str | None:
    """What a read-only patient API may grant of one asked scope word: the word itself, its read half, or None.

    SMART's other scopes (`openid`, `launch/patient`, ...) stand as asked. Writes (`c`, `u`, `d`) are never
    granted, so `.cruds` becomes `.rs` and `.*` becomes `.read`: the read half is written in the grammar the app
    asked in (v1 has no `.rs`), so the app reads its grant as it wrote its request. `system/` scopes (backend
    services, no member) and granular queries this server cannot apply are not granted at all.
    """
    if scope in NON_RESOURCE_SCOPES:
        return scope
    parsed = parse_resource_scope(scope)
    if parsed is None or parsed.context == "system":
        return None
    readable = parsed.permissions & {READ, SEARCH}
    if not readable or (parsed.query and scope_query(parsed.resource_type, parsed.query) is None):
        return None
    permissions = "read" if parsed.v1 else "".join(letter for letter in "rs" if letter in readable)
    query = f"?{parsed.query}" if parsed.query else ""
    return f"{parsed.context}/{parsed.resource_type}.{permissions}{query}"


def within_grant(asked: str | None, granted: str | None) -> bool:
    """Whether a refresh may ask for `asked` under a grant of `granted` (RFC 6749 §6).

    RFC 6749 §6: the refresh "MUST NOT include any scope not originally granted". Judged by meaning, not by word, so
    that any narrower scope passes, granular ones included: `patient/*.read` covers
    `patient/ExplanationOfBenefit.rs?type=...`, and v1 `.read` covers v2 `.rs`.

    Every other word must be in the grant. Each asked resource scope must be one this server grants as written
    (`grantable_scope`), and each of its permissions must be held on its type by a granted scope of the same
    context, on `*` or that type, with no query or the same query (an unqueried scope covers every query on its
    type). Permissions may come from different granted scopes, since scopes add up.
    """
    granted_words = split_scope(granted)
    held = [parsed for parsed in map(parse_resource_scope, granted_words) if parsed is not None]
    for word in split_scope(asked):
        wanted = parse_resource_scope(word)
        if wanted is None:
            if word not in granted_words:
                return False
        elif grantable_scope(word) != word or not all(
            any(_covers(scope, wanted, permission) for scope in held) for permission in wanted.permissions
        ):
            return False
    return True


def _covers(granted: ResourceScope, wanted: ResourceScope, permission: str) -> bool:
    return (
        granted.context == wanted.context
        and granted.resource_type in ("*", wanted.resource_type)
        and permission in granted.permissions
        and (not granted.query or _same_query(granted.query, wanted.query))
    )


def _same_query(one: str, other: str) -> bool:
    """The same `param=value` pairs, however percent-encoded or ordered (`&` is AND either way)."""
    return sorted(parse_qsl(one, keep_blank_values=True)) == sorted(parse_qsl(other, keep_blank_values=True))


class ScopeAccess:
    """So that the API shows a token exactly what its granted scopes let it see.

    What a granted scope lets its token see of the member's records: per permission (`r`, `s`) and type, the
    queries that limit it (None: the whole type). `patient/` and `user/` scopes both reach the member's own
    records (whose records a token reaches is the server's business); `system/` scopes reach nothing here."""

    def __init__(self, scope: str | None):
        self._limits: dict[tuple[str, str], list[Search | None]] = {}
        for word in split_scope(scope):
            parsed = parse_resource_scope(word)
            if parsed is None or parsed.context == "system":
                continue
            limit = scope_query(parsed.resource_type, parsed.query) if parsed.query else None
            if parsed.query and limit is None:
                continue
            for permission in parsed.permissions & {READ, SEARCH}:
                self._limits.setdefault((permission, parsed.resource_type), []).append(limit)

    def _limits_on(self, permission: str, resource_type: str) -> list[Search | None]:
        return self._limits.get((permission, "*"), []) + self._limits.get((permission, resource_type), [])

    def allows(self, permission: str, resource_type: str | None = None) -> bool:
        """Whether the token may `r`ead or `s`earch some resources of `resource_type` (None: of any type)."""
        if resource_type is None:
            return any(granted == permission for granted, _ in self._limits)
        return bool(self._limits_on(permission, resource_type))

    def allows_whole_type(self, permission: str, resource_type: str) -> bool:
        """Whether there is a scope for the type with this permission and no query."""
        return any(limit is None for limit in self._limits_on(permission, resource_type))

    def sees_whole_type(self, resource_type: str) -> bool:
        """Whether every permission the token has on the type reaches all of it (no query limits any of them)."""
        held = [permission for permission in (READ, SEARCH) if self.allows(permission, resource_type)]
        return bool(held) and all(self.allows_whole_type(permission, resource_type) for permission in held)

    def permits(self, permission: str, resource: Mapping) -> bool:
        """Whether the token may `r`ead or `s`earch this very resource: some scope for its type matches it."""
        limits = self._limits_on(permission, resource.get("resourceType", ""))
        return any(limit is None or matches(limit, resource) for limit in limits)

    def types(self, permission: str) -> tuple[bool, frozenset[str]]:
        """(every type allowed?, the named types allowed) for one permission."""
        named = {resource_type for granted, resource_type in self._limits if granted == permission}
        return "*" in named, frozenset(named - {"*"})


def readable_types(scope: str | None) -> tuple[bool, frozenset[str]]:
    """(every type readable?, the named types readable) for a granted scope string: readable by id or by search."""
    access = ScopeAccess(scope)
    (every_read, read), (every_search, searched) = access.types(READ), access.types(SEARCH)
    return every_read or every_search, read | searched


def allows_read(scope: str | None, resource_type: str) -> bool:
    """Whether a token with this scope may read some resources of the type by id (`r`)."""
    return ScopeAccess(scope).allows(READ, resource_type)


def allows_search(scope: str | None, resource_type: str) -> bool:
    """Whether a token with this scope may search the type (`s`)."""
    return ScopeAccess(scope).allows(SEARCH, resource_type)
