"""FHIR R4 search requests (https://hl7.org/fhir/R4/search.html): a query's (name, value) pairs become a Search.

Only parameters in the whitelist (search_parameters.py) are understood. A comma inside one value is OR; a
repeated parameter is AND, so `_lastUpdated=ge2020&_lastUpdated=lt2021` is a range. Unknown parameters are
collected and ignored unless the caller asks for strict handling (`Prefer: handling=strict`), and a value the
parser cannot read is a SearchError (a 400 with an OperationOutcome), never a silently widened search.
A parameter given with an empty value is ignored, as HAPI does: it constrains nothing.

The Search also carries the canonical `self` parameters: only what was understood and applied, in a stable
order (criteria by name, then the result parameters), so equal searches get equal links and page tokens.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mirror.fhir.dates import DateRange, FhirDateError, date_criterion
from mirror.fhir.ids import is_resource_type_name, is_valid_id
from mirror.fhir.references import ABSOLUTE, RELATIVE, InvalidReference, parse_reference
from mirror.fhir.search_parameters import (
    REFERENCE, STRING, TOKEN, SearchParameter, parameters_for, reference_parameters, sort_parameter,
)

PAGE_TOKEN = "_page_token"
_SINGLE_VALUED = ("_sort", "_elements", "_summary", "_total", "_count", PAGE_TOKEN)
_PASSIVE = frozenset({"_format", "_pretty"})  # serialisation hints: the caller reads them from the request
_TOTAL_MODES = frozenset({"none", "estimate", "accurate"})
_ELEMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")  # fixed pattern, checked with fullmatch
_ESCAPABLE = frozenset("\\,$|")
_LONGEST_COUNT = 9


class SearchError(ValueError):
    """A search request that cannot be honoured as asked (bad value, modifier, _include, _count, ...)."""


@dataclass(frozen=True)
class TokenValue:
    """`code`, `system|code`, `|code` (system "": no system) or `system|` (code None: any code)."""

    system: str | None
    code: str | None


@dataclass(frozen=True)
class ReferenceValue:
    """A reference search value; resource_type None means an id of any type the parameter allows."""

    resource_type: str | None
    id: str


@dataclass(frozen=True)
class DateValue:
    prefix: str
    range: DateRange


@dataclass(frozen=True)
class StringValue:
    """The value as sent (for `:exact`) and folded (for the default prefix match and `:contains`)."""

    text: str
    folded: str


@dataclass(frozen=True)
class Criterion:
    """One parameter occurrence: its values are ORed; the name and value are kept as sent for the self link.

    With the `missing` modifier, `values` is a single bool.
    """

    parameter: SearchParameter
    modifier: str | None
    values: tuple
    name: str
    value: str


@dataclass(frozen=True)
class Include:
    """An `_include`: the reference parameters to follow (all of them for `Type:*`) and an optional target type."""

    parameters: tuple[SearchParameter, ...]
    target_type: str | None
    value: str


@dataclass(frozen=True)
class SortField:
    parameter: SearchParameter
    descending: bool


@dataclass(frozen=True)
class Search:
    """A parsed search on one resource type. Criteria are ANDed."""

    resource_type: str
    count: int
    criteria: tuple[Criterion, ...] = ()
    includes: tuple[Include, ...] = ()
    sort: tuple[SortField, ...] = ()
    elements: tuple[str, ...] | None = None
    summary_count: bool = False
    total: str | None = None
    page_token: str | None = None
    unknown: tuple[tuple[str, str], ...] = ()
    self_params: tuple[tuple[str, str], ...] = ()


def parse_search(
    resource_type: str,
    pairs: Iterable[tuple[str, str]],
    *,
    default_count: int,
    max_count: int,
    strict: bool = False,
) -> Search:
    """Read a query (as from werkzeug's `args.items(multi=True)`) into a Search.

    `_count` defaults to `default_count` and is clamped to `max_count`, as payers clamp theirs.
    With `strict`, an unknown parameter is a SearchError instead of being ignored.
    """
    parameters = parameters_for(resource_type)
    criteria: list[Criterion] = []
    includes: list[Include] = []
    singles: dict[str, str] = {}
    unknown: list[tuple[str, str]] = []
    for name, value in pairs:
        if value == "" or name in _PASSIVE:
            continue
        if name == "_include":
            includes.append(_parse_include(resource_type, value))
        elif name in _SINGLE_VALUED:
            if name in singles:
                raise SearchError(f"{name} given more than once")
            singles[name] = value
        else:
            base, _, modifier = name.partition(":")
            parameter = parameters.get(base)
            if parameter is None:
                unknown.append((name, value))
            else:
                criteria.append(_parse_criterion(parameter, modifier or None, name, value))
    if strict and unknown:
        raise SearchError(f"unknown search parameter: {_quoted(unknown[0][0])}")

    count = parse_count(singles.get("_count"), default_count, max_count)
    sort = _parse_sort(resource_type, singles["_sort"]) if "_sort" in singles else ()
    elements = _parse_elements(singles["_elements"]) if "_elements" in singles else None
    summary = singles.get("_summary")
    if summary not in (None, "count", "false"):
        raise SearchError("_summary supports only count and false")
    total = singles.get("_total")
    if total is not None and total not in _TOTAL_MODES:
        raise SearchError("_total must be none, estimate or accurate")

    criteria.sort(key=lambda criterion: criterion.name)  # stable: repeats of one name keep their order
    self_params = [(criterion.name, criterion.value) for criterion in criteria]
    self_params += [("_include", include.value) for include in includes]
    if "_sort" in singles:
        self_params.append(("_sort", singles["_sort"]))
    if elements is not None:
        self_params.append(("_elements", ",".join(elements)))
    self_params += [(name, singles[name]) for name in ("_summary", "_total") if name in singles]
    self_params.append(("_count", str(count)))
    return Search(
        resource_type=resource_type,
        count=count,
        criteria=tuple(criteria),
        includes=tuple(includes),
        sort=sort,
        elements=elements,
        summary_count=summary == "count",
        total=total,
        page_token=singles.get(PAGE_TOKEN),
        unknown=tuple(unknown),
        self_params=tuple(self_params),
    )


def fold(text: str) -> str:
    """Text as R4 string search compares it: case-insensitive and accent-insensitive (`Bürr` ~ `burr`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _parse_criterion(parameter: SearchParameter, modifier: str | None, name: str, value: str) -> Criterion:
    if modifier == "missing":
        if value not in ("true", "false"):
            raise SearchError(f"{_quoted(name)} takes true or false")
        return Criterion(parameter, modifier, (value == "true",), name, value)
    pieces = _split_unescaped(value, ",")
    if "" in pieces:
        raise SearchError(f"empty value in {_quoted(name)}")
    kind = parameter.kind
    values: tuple[ReferenceValue | StringValue | TokenValue | DateValue, ...]
    if kind == REFERENCE:
        target_type = _reference_modifier(parameter, modifier, name)
        values = tuple(_parse_reference_value(parameter, target_type, piece, name) for piece in pieces)
    elif kind == STRING:
        if modifier not in (None, "exact", "contains"):
            raise SearchError(f"unsupported modifier in {_quoted(name)}")
        values = tuple(StringValue(text, fold(text)) for text in map(_unescape, pieces))
    elif modifier is not None:
        raise SearchError(f"unsupported modifier in {_quoted(name)}")
    elif kind == TOKEN:
        values = tuple(_parse_token(piece, name) for piece in pieces)
    else:
        values = tuple(_parse_date(piece, name) for piece in pieces)
    return Criterion(parameter, modifier, values, name, value)


def _parse_token(piece: str, name: str) -> TokenValue:
    parts = _split_unescaped(piece, "|")
    if len(parts) == 1:
        return TokenValue(None, _unescape(parts[0]))
    if len(parts) == 2 and parts != ["", ""]:
        return TokenValue(_unescape(parts[0]), _unescape(parts[1]) or None)
    raise SearchError(f"invalid token in {_quoted(name)}")


def _parse_date(piece: str, name: str) -> DateValue:
    try:
        return DateValue(*date_criterion(_unescape(piece)))
    except FhirDateError as error:
        raise SearchError(f"invalid date in {_quoted(name)}: {error}") from None


def _reference_modifier(parameter: SearchParameter, modifier: str | None, name: str) -> str | None:
    """A reference parameter's only modifier is a target type (`subject:Patient`)."""
    if modifier is None:
        return None
    if is_resource_type_name(modifier) and (not parameter.targets or modifier in parameter.targets):
        return modifier
    raise SearchError(f"unsupported modifier in {_quoted(name)}")


def _parse_reference_value(
    parameter: SearchParameter, target_type: str | None, piece: str, name: str
) -> ReferenceValue:
    """`123`, `Patient/123`, `Patient/123/_history/2` or an absolute URL ending in `Patient/123`.

    The base of an absolute URL is not compared: both servers resolve references only in their own data.
    """
    text = _unescape(piece)
    if is_valid_id(text):
        resource_type, resource_id = target_type, text
        if resource_type is None and len(parameter.targets) == 1:
            resource_type = parameter.targets[0]
    else:
        try:
            reference = parse_reference(text)
        except InvalidReference:
            raise SearchError(f"invalid reference in {_quoted(name)}") from None
        if reference.kind not in (RELATIVE, ABSOLUTE) or reference.id is None:
            raise SearchError(f"invalid reference in {_quoted(name)}")
        if target_type is not None and reference.resource_type != target_type:
            raise SearchError(f"reference type does not match the modifier in {_quoted(name)}")
        resource_type, resource_id = reference.resource_type, reference.id
    if resource_type is not None and parameter.targets and resource_type not in parameter.targets:
        raise SearchError(f"{_quoted(name)} cannot refer to {resource_type}")
    return ReferenceValue(resource_type, resource_id)


def _parse_include(resource_type: str, value: str) -> Include:
    """`Type:param` or `Type:param:Target` or `Type:*`, where Type is the type searched (no :iterate)."""
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[0] != resource_type:
        raise SearchError(f"unsupported _include: {_quoted(value)}")
    target_type = parts[2] if len(parts) == 3 else None
    if parts[1] == "*":
        parameters = reference_parameters(resource_type)
    else:
        parameter = parameters_for(resource_type).get(parts[1])
        if parameter is None or parameter.kind != REFERENCE:
            raise SearchError(f"unsupported _include: {_quoted(value)}")
        if target_type is not None and parameter.targets and target_type not in parameter.targets:
            raise SearchError(f"unsupported _include: {_quoted(value)}")
        parameters = (parameter,)
    if not parameters or (target_type is not None and not is_resource_type_name(target_type)):
        raise SearchError(f"unsupported _include: {_quoted(value)}")
    return Include(parameters, target_type, value)


def parse_count(value: str | None, default_count: int, max_count: int) -> int:
    """A `_count` (searches and `$everything`): digits only, `default_count` when absent, clamped (API-4)."""
    if value is None:
        return min(default_count, max_count)
    if not (value.isascii() and value.isdigit()) or len(value) > _LONGEST_COUNT:
        raise SearchError("_count must be a whole number, 0 or more")
    return min(int(value), max_count)


def _parse_sort(resource_type: str, value: str) -> tuple[SortField, ...]:
    """`_sort=-_lastUpdated,date`: a leading `-` sorts descending; only date parameters can be sort keys."""
    fields = []
    for item in value.split(","):
        descending = item.startswith("-")
        parameter = sort_parameter(resource_type, item[1:] if descending else item)
        if parameter is None:
            raise SearchError(f"cannot sort by {_quoted(item)}")
        fields.append(SortField(parameter, descending))
    return tuple(fields)


def _parse_elements(value: str) -> tuple[str, ...]:
    names = [name.strip() for name in value.split(",")]
    if not all(_ELEMENT_NAME.fullmatch(name) for name in names):
        raise SearchError("_elements must list element names")
    return tuple(dict.fromkeys(names))


def _split_unescaped(text: str, separator: str) -> list[str]:
    """Split at separators not escaped with a backslash (R4 search escaping); escapes stay for _unescape."""
    pieces, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _ESCAPABLE:
            out.append(text[index + 1])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _quoted(text: str) -> str:
    """User text echoed in an error message: bounded, and repr-quoted so control characters show."""
    return repr(text[:64])
