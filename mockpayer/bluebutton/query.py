"""The search parameters Blue Button takes, checked as it checks them, and which resources a search selects.

Every search reads `startIndex` (default 0), `_count` (or `count`; default 10, at most 50) and `_lastUpdated`;
an ExplanationOfBenefit search also `type` (its claim types, bare or in its `eob-type` system, comma-separated),
`service-date` and `excludeSAMHSA`. Every other parameter is ignored, as Blue Button drops it. Of a repeated
parameter the last counts, but `_lastUpdated` and `service-date` apply every value (a range is two), and each
must start with `lt`, `le`, `gt` or `ge`. Blue Button's own checks answer in its words; what passes them and its
data server (BFD) then refuses, such as a date it cannot read, a negative `startIndex` or `_count=0`, answers
in BFD's words behind Blue Button's (errors.upstream_refusal). Dates mean what they mean in a FHIR search
(mirror/fhir/matching.py); `excludeSAMHSA=true` leaves out the claims samhsa.py names, any other value nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirror.fhir.matching import matches
from mirror.fhir.search import Search, SearchError, parse_search
from mockpayer.bluebutton.errors import BlueButtonError, upstream_refusal
from mockpayer.bluebutton.samhsa import is_samhsa_related

DEFAULT_COUNT = 10
MAX_COUNT = 50
EOB = "ExplanationOfBenefit"
EOB_TYPE_SYSTEM = "https://bluebutton.cms.gov/resources/codesystem/eob-type"
EOB_TYPES = frozenset({"carrier", "dme", "hha", "hospice", "inpatient", "outpatient", "pde", "snf"})
DATE_PARAMETERS = {"_lastUpdated": "the _lastUpdated operator is not valid",
                   "service-date": "the service-date operator is not valid"}
_OPERATOR = re.compile(r"(lt|le|gt|ge).")


@dataclass(frozen=True)
class Query:
    start_index: int
    count: int
    dates: Search | None = None  # `_lastUpdated` and `service-date`, as a FHIR date search
    types: frozenset[str] | None = None  # claim types, lower case; None: every type
    exclude_samhsa: bool = False
    criteria: tuple[tuple[str, str], ...] = ()  # what the page links repeat, beside startIndex and _count


def parse_query(resource_type: str, pairs: Iterable[tuple[str, str]]) -> Query:
    """The query of a search of `resource_type`; BlueButtonError (400) for one Blue Button or BFD refuses."""
    last: dict[str, str] = {}
    dated: list[tuple[str, str]] = []
    for name, value in pairs:
        if name in DATE_PARAMETERS and (name == "_lastUpdated" or resource_type == EOB):
            if not _OPERATOR.match(value):
                raise BlueButtonError(400, DATE_PARAMETERS[name])
            dated.append((name, value))
        else:
            last[name] = value
    if "count" in last:
        last["_count"] = last.pop("count")
    start_index = _integer(last.get("startIndex", "0"))
    count = _integer(last.get("_count", str(DEFAULT_COUNT)))
    if not 0 <= count <= MAX_COUNT:
        raise BlueButtonError(400, f"value must be at {'least 0' if count < 0 else f'most {MAX_COUNT}'}")
    types, exclude_samhsa, criteria = None, False, list(dated)
    if resource_type == EOB:
        if "type" in last:
            types = _claim_types(last["type"])
            criteria.append(("type", last["type"]))
        if "excludeSAMHSA" in last:
            exclude_samhsa = last["excludeSAMHSA"].lower() == "true"
            criteria.append(("excludeSAMHSA", last["excludeSAMHSA"]))
    if start_index < 0:
        raise upstream_refusal(f"Value for startIndex cannot be negative: {start_index}")
    if count == 0:
        raise upstream_refusal("Invalid pageSize '0'")
    return Query(start_index, count, _date_search(resource_type, dated), types, exclude_samhsa, tuple(criteria))


def selects(query: Query, resource: Mapping) -> bool:
    """Whether the search takes this resource (of the searched type).

    What it reads of a claim is what the mock keeps parsed of each (mockpayer/indexed.py: `INDEXED`), so a search
    is answered without parsing a claim: `resource` may be those elements alone."""
    if query.dates is not None and not matches(query.dates, resource):
        return False
    if query.types is not None and not claim_types(resource) & query.types:
        return False
    return not (query.exclude_samhsa and is_samhsa_related(resource))


def claim_types(claim: Mapping) -> set[str]:
    """A claim's types in Blue Button's `eob-type` system (`CARRIER`, `PDE`, ...), in lower case."""
    concept = claim.get("type")
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return {coding["code"].lower() for coding in codings or ()
            if isinstance(coding, Mapping) and coding.get("system") == EOB_TYPE_SYSTEM
            and isinstance(coding.get("code"), str)}


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BlueButtonError(400, "expected int") from None


def _claim_types(value: str) -> frozenset[str] | None:
    """`carrier,pde` or `<eob-type system>|carrier`, any case; `<eob-type system>|` alone means every type."""
    types: set[str] = set()
    pieces = [piece.strip().lower() for piece in value.split(",") if piece.strip()]
    if not pieces:
        raise BlueButtonError(400, "the type parameter value is not valid")
    for piece in pieces:
        system, bar, code = piece.rpartition("|")
        if bar and system != EOB_TYPE_SYSTEM:
            raise BlueButtonError(400, "the type parameter value is not valid")
        if bar and not code:
            return None
        if code not in EOB_TYPES:
            raise BlueButtonError(400, "the type parameter value is not valid")
        types.add(code)
    return frozenset(types)


def _date_search(resource_type: str, dated: list[tuple[str, str]]) -> Search | None:
    if not dated:
        return None
    try:
        return parse_search(resource_type, dated, default_count=0, max_count=0, strict=True)
    except SearchError as error:
        raise upstream_refusal(str(error)) from None
