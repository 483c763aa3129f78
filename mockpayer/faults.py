"""QA fault injection: a plan's API misbehaving on purpose, the same way every time.

So a client's retries, token refresh and paging can be tested and a failing run replayed.

A plan's fault spec comes from the `faults` section of its plan.json, from `mockpayer serve --faults FILE`
(which wins), or live from `POST /_admin/faults`. It names rules by kind (one rule per kind):

    {"seed": 7,
     "rate_limit":   {"every": 5, "retry_after": 2, "retry_after_format": "http-date"},
     "server_error": {"status": 503, "page": 2, "times": 2},
     "expire_token": {"from": 12, "times": 1}}

Each rule fires on the requests its conditions pick, all of them at once (no condition: every request):
`every` N (requests N, 2N, ...), `from`/`to` (a range of request numbers, both ends included: a burst),
`page` K (searchset page K, the one starting at offset (K-1) x _count), `rate` p (drawn from the plan's
`random.Random(seed)`), and at most `times` M hits. Requests are numbered from 1 per plan, the member API
and the token endpoint apart (`"at": "token"` aims latency, 429 and 5xx at the token endpoint).

Two kinds make the OAuth endpoints refuse as RFC 6749 has them refuse, once or as often as their conditions
say. `authorize_error` (`{"error": "access_denied"}`) answers an authorization request, counted apart at the
authorize endpoint (each request that would show the sign-in page), with an error redirect carrying `state`
(§4.1.2.1); `invalid_client` and `invalid_redirect_uri` get the error page instead, as those are never
redirected. `token_error` (`{"error": "invalid_grant", "grant_type": "refresh_token"}`) answers a token request
with §5.2 JSON (`invalid_client` with 401 and `WWW-Authenticate` when the client used HTTP Basic); `grant_type`
picks code exchanges or refreshes among the token requests, and `invalid_grant` leaves the code or refresh token
presented as dead as it says (an expired refresh token, say), while the other errors leave it usable.

Counters and the random stream are per plan and move in one atomic update of the mock's state (mockpayer/state/),
so the same spec and the same sequence of requests give the same faults, whichever process of a mock on a shared
state serves them; `POST /_admin/reset` rewinds them (the `/_admin` endpoints
live in mockpayer/admin.py). `GET /_admin/faults` says which rules never reached what they need (their page,
or a next link to rewrite), so a test that passed without its fault does not pass vacuously. The member API
goes through `injected`, a view decorator that sees the request before the API answers and the answer after
it, as a proxy in front of the plan would; the token endpoint calls `check_token_request`. A plan with no
faults costs one look-up per request.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import orjson
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import request

from mirror.fhir.paging import page_links, page_offset
from mirror.fhir.search import PAGE_TOKEN, SearchError
from mirror.http.fhir_flask import bearer_credential
from mockpayer.context import payer, plan_for
from mockpayer.plans import Plan, PlanError
from mockpayer.state import State, open_state

# Evaluation order: latency first (a refused request is slow too), then what acts on tokens, then refusals
# (the first refusal wins), then what reshapes an answer.
REFUSALS = ("expire_token", "rate_limit", "server_error", "token_error", "authorize_error")
BEFORE_ANSWER = ("latency", "revoke_refresh", *REFUSALS)
RESHAPING = ("duplicates", "loop_next", "truncate")
NEEDS_NEXT_LINK = ("duplicates", "loop_next")
KINDS = (*BEFORE_ANSWER, *RESHAPING)
AT_TOKEN_ENDPOINT = ("latency", "rate_limit", "server_error", "token_error")
ENDPOINT_OF = {"authorize_error": "authorize", "token_error": "token"}  # kinds that act at one endpoint only
STATUSES = {"server_error": (500, 502, 503), "token_error": (400, 401)}  # each kind's choices, the first the default
# RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6 error codes, redirected to the app with `state`; and the
# failures §4.1.2.1 forbids redirecting (unknown client, redirect URI not registered), shown on the error page.
REDIRECTED_AUTHORIZE_ERRORS = ("invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
                               "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
                               "login_required", "account_selection_required", "consent_required")
PAGE_AUTHORIZE_ERRORS = {"invalid_client": "client id is not known to this plan",
                         "invalid_redirect_uri": "redirect URI is not one it registered"}
TOKEN_ERRORS = ("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
                "invalid_scope")  # RFC 6749 §5.2
ERRORS = {"authorize_error": (*REDIRECTED_AUTHORIZE_ERRORS, *PAGE_AUTHORIZE_ERRORS), "token_error": TOKEN_ERRORS}
GRANT_TYPES = ("authorization_code", "refresh_token")
RETRY_AFTER_FORMATS = ("seconds", "http-date")  # RFC 9110 10.2.3: delta-seconds or an HTTP-date
CONDITIONS = ("every", "from", "to", "page", "rate", "times", "at")
SETTINGS = {
    "rate_limit": ("retry_after", "retry_after_format"),
    "server_error": ("status",),
    "latency": ("seconds",),
    "truncate": ("fraction",),
    "loop_next": ("back_to",),
    "duplicates": ("entries",),
    "expire_token": (),
    "revoke_refresh": (),
    "authorize_error": ("error",),
    "token_error": ("error", "status", "grant_type"),
}


class FaultSpecError(PlanError):
    """A fault spec that cannot be followed; the message names the field and what is wrong.

    A PlanError, as faults are plan settings: `mockpayer serve` reports both the same way."""


class InjectedFault(Exception):
    """So that an injected error is rendered in each endpoint's own shape.

    An error answer chosen by a fault: the member API renders it as an OperationOutcome, the token
    endpoint as RFC 6749 JSON (`oauth_error`)."""

    def __init__(self, status: int, message: str, headers: dict | None = None, oauth_error: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.oauth_error = oauth_error or ("server_error" if status == 500 else "temporarily_unavailable")


# ---- the spec ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One fault: when it fires (the conditions) and what it does (the settings its kind reads)."""

    kind: str
    at: str = "api"
    every: int | None = None
    first: int | None = None  # "from"
    last: int | None = None  # "to"
    page: int | None = None
    rate: float | None = None
    times: int | None = None
    status: int = 500
    retry_after: int = 1
    retry_after_as_date: bool = False
    seconds: tuple[float, float] = (0.0, 0.0)
    fraction: float = 0.5
    back_to_first: bool = False
    entries: int = 1
    error: str = ""
    grant_type: str | None = None

    @property
    def unconditional(self) -> bool:
        return all(condition is None for condition in
                   (self.every, self.first, self.last, self.page, self.rate, self.times))

    @property
    def waits_for_answer(self) -> bool:
        """Page conditions and reshaping need the API's answer; everything else acts before it."""
        return self.kind in RESHAPING or self.page is not None

    def picks(self, request_number: int, page: int | None, grant_type: str | None = None) -> bool:
        """So that a rule's stateless conditions are checked before its random ones.

        The conditions that need no state: request number, page and grant type (`rate` and `times` are drawn
        later)."""
        return ((self.every is None or request_number % self.every == 0)
                and (self.first is None or request_number >= self.first)
                and (self.last is None or request_number <= self.last)
                and (self.page is None or page == self.page)
                and (self.grant_type is None or grant_type == self.grant_type))


@dataclass(frozen=True)
class FaultSpec:
    seed: int
    rules: tuple[Rule, ...]
    source: dict  # as given (validated), for GET /_admin/faults

    def rules_for(self, at: str, after_answer: bool) -> tuple[tuple[int, Rule], ...]:
        return tuple((index, rule) for index, rule in enumerate(self.rules)
                     if rule.at == at and rule.waits_for_answer == after_answer)


def parse_spec(raw: object, where: str) -> FaultSpec:
    """A validated spec; FaultSpecError names `where` and the offending field."""
    if not isinstance(raw, dict):
        raise FaultSpecError(f"{where}: a fault spec is a JSON object of fault kinds")
    unknown = sorted(set(raw) - {"seed", *KINDS})
    if unknown:
        raise FaultSpecError(f"{where}: unknown fault {unknown[0]!r} (known: seed, {', '.join(KINDS)})")
    seed = raw.get("seed", 0)
    if type(seed) is not int:
        raise FaultSpecError(f"{where}: seed must be an integer")
    rules = tuple(_rule(kind, raw[kind], f"{where}: {kind}") for kind in KINDS if kind in raw)
    return FaultSpec(seed, rules, dict(raw))


def _rule(kind: str, raw: object, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise FaultSpecError(f"{where} must be an object of conditions and settings ({{}} for every request)")
    unknown = sorted(set(raw) - set(CONDITIONS) - set(SETTINGS[kind]))
    if unknown:
        allowed = ", ".join((*CONDITIONS, *SETTINGS[kind]))
        raise FaultSpecError(f"{where}: unknown field {unknown[0]!r} (allowed: {allowed})")
    at = raw.get("at", ENDPOINT_OF.get(kind, "api"))
    if kind in ENDPOINT_OF and at != ENDPOINT_OF[kind]:
        raise FaultSpecError(f"{where} acts at the {ENDPOINT_OF[kind]} endpoint only")
    if kind not in ENDPOINT_OF and at not in ("api", "token"):
        raise FaultSpecError(f"{where}.at must be \"api\" or \"token\"")
    if at == "token" and kind not in AT_TOKEN_ENDPOINT:
        raise FaultSpecError(f"{where}: only {', '.join(AT_TOKEN_ENDPOINT)} can be aimed at the token endpoint")
    if at != "api" and "page" in raw:
        raise FaultSpecError(f"{where}: the {at} endpoint has no pages")
    if kind in ERRORS and "error" not in raw:
        raise FaultSpecError(f"{where}.error is needed (one of {', '.join(ERRORS[kind])})")
    statuses = STATUSES.get(kind, STATUSES["server_error"])
    rule = Rule(
        kind, at,
        every=_whole(raw, "every", where), first=_whole(raw, "from", where), last=_whole(raw, "to", where),
        page=_whole(raw, "page", where), times=_whole(raw, "times", where),
        rate=_number(raw, "rate", where, low=0, high=1, low_open=True),
        status=_choice(raw, "status", where, statuses, statuses[0]),
        retry_after=_whole(raw, "retry_after", where, minimum=0, default=1),
        retry_after_as_date=_choice(raw, "retry_after_format", where, RETRY_AFTER_FORMATS, "seconds") == "http-date",
        seconds=_seconds(raw, where),
        fraction=_number(raw, "fraction", where, low=0, high=1, low_open=True, high_open=True, default=0.5),
        back_to_first=_choice(raw, "back_to", where, ("self", "first"), "self") == "first",
        entries=_whole(raw, "entries", where, default=1),
        error=_choice(raw, "error", where, ERRORS[kind], None) if kind in ERRORS else "",
        grant_type=_choice(raw, "grant_type", where, GRANT_TYPES, None) if "grant_type" in raw else None,
    )
    if kind == "latency" and "seconds" not in raw:
        raise FaultSpecError(f"{where}.seconds is needed (a number of seconds or a [low, high] range)")
    if kind == "token_error" and rule.status == 401 and rule.error != "invalid_client":
        raise FaultSpecError(f"{where}.status 401 is for invalid_client only (RFC 6749 section 5.2)")
    if rule.first is not None and rule.last is not None and rule.first > rule.last:
        raise FaultSpecError(f"{where}: from ({rule.first}) is after to ({rule.last})")
    return rule


def _whole(raw: dict, key: str, where: str, minimum: int = 1, default: int | None = None) -> int | None:
    value = raw.get(key, default)
    if value is not None and (type(value) is not int or value < minimum):
        kind = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise FaultSpecError(f"{where}.{key} must be {kind}, not {value!r}")
    return value


def _number(raw: dict, key: str, where: str, *, low: float, high: float, low_open=False, high_open=False,
            default: float | None = None) -> float | None:
    value = raw.get(key, default)
    if value is None:
        return None
    in_range = (type(value) in (int, float) and (low < value if low_open else low <= value)
                and (value < high if high_open else value <= high))
    if not in_range:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise FaultSpecError(f"{where}.{key} must be a number in {interval}, not {value!r}")
    return float(value)


def _choice(raw: dict, key: str, where: str, choices: tuple, default):
    value = raw.get(key, default)
    if value not in choices or type(value) is bool:
        raise FaultSpecError(f"{where}.{key} must be one of {', '.join(map(json.dumps, choices))}, not {value!r}")
    return value


def _seconds(raw: dict, where: str) -> tuple[float, float]:
    """`seconds`: a fixed delay or a [low, high] range drawn from the plan's random stream."""
    value = raw.get("seconds", 0)
    low, high = (value if isinstance(value, list) and len(value) == 2 else (value, value))
    if not all(type(bound) in (int, float) and bound >= 0 for bound in (low, high)) or low > high:
        raise FaultSpecError(f"{where}.seconds must be a number of seconds or a [low, high] range, not {value!r}")
    return float(low), float(high)


def read_faults_file(path: Path | str) -> dict:
    """`mockpayer serve --faults FILE`: `{"<system-id>": spec, "*": spec for every other plan}`."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise FaultSpecError(f"{path}: cannot read ({error.strerror})") from None
    except ValueError as error:
        raise FaultSpecError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise FaultSpecError(f"{path}: expected an object of {{\"<system-id>\" or \"*\": fault spec}}")
    return raw


# ---- where each plan has got to ---------------------------------------------------------------------


@dataclass(frozen=True)
class Firing:
    rule: Rule
    request_number: int
    delay: float = 0.0


class RandomStreams:
    """Each seed's stream of `random()` draws, the n-th draw the same in every process.

    A plan's draws are numbered in the shared fault state, so whichever process makes draw n gets the value one
    `random.Random(seed)` gives at its n-th call: the faults a spec gives depend on the sequence of requests,
    never on which process served them. Each process keeps its own generator per plan and moves it forward."""

    def __init__(self):
        self._lock = threading.Lock()
        self._streams: dict[tuple[str, int], tuple[random.Random, int]] = {}

    def draw(self, plan_key: str, seed: int, number: int) -> float:
        with self._lock:
            generator, position = self._streams.get((plan_key, seed), (None, 0))
            if generator is None or position > number:
                generator, position = random.Random(seed), 0
            while position < number:
                generator.random()
                position += 1
            value = generator.random()
            self._streams[(plan_key, seed)] = (generator, number + 1)
            return value


STREAMS = RandomStreams()


class PlanFaults:
    """One plan's spec, and its progress in the mock's state: request counts, hits per rule, draws made.

    Every change of the progress is one atomic update of the plan's fault state (mockpayer/state/), so the same
    spec and the same sequence of requests give the same faults, in one process or in several sharing a state."""

    def __init__(self, spec: FaultSpec, state: State, key: str):
        self.spec = spec
        self.before = {at: spec.rules_for(at, after_answer=False) for at in ("api", "token", "authorize")}
        self.after = spec.rules_for("api", after_answer=True)
        self.state = state
        self.key = key

    def fresh(self) -> dict:
        """The progress of a spec no request has met yet."""
        rules = len(self.spec.rules)
        return {"requests": {"api": 0, "token": 0, "authorize": 0}, "hits": [0] * rules, "draws": 0,
                "deepest_page": 0,
                "reached": [False] * rules,  # an answer on the rule's page (any page: none named)
                "reached_with_next": [False] * rules}  # ... that had a next link

    def rewind(self) -> None:
        self.state.update(self.key, lambda stored: stored and {**stored, "progress": self.fresh()})

    def arrive(self, at: str, grant_type: str | None = None) -> tuple[int, list[Firing]]:
        """Count a request and pick the rules that act before the answer."""
        def counted(progress):
            progress["requests"][at] += 1
            request_number = progress["requests"][at]
            return request_number, self._fire(progress, self.before[at], request_number, None, has_next=False,
                                              grant_type=grant_type)

        return self._progress(counted)

    def answered(self, request_number: int, page: int | None, has_next: bool) -> list[Firing]:
        """Pick the rules that need the answer (page conditions, reshaping)."""
        def seen(progress):
            if page is not None:
                progress["deepest_page"] = max(progress["deepest_page"], page)
                for index, rule in self.after:
                    if rule.page in (None, page):
                        progress["reached"][index] = True
                        progress["reached_with_next"][index] = progress["reached_with_next"][index] or has_next
            return self._fire(progress, self.after, request_number, page, has_next)

        return self._progress(seen)

    def _progress(self, step):
        """Runs `step` on the plan's progress as one atomic update and answers what it answered.

        A request that meets a spec replaced or cleared meanwhile (`/_admin/faults`) leaves the new one alone: it
        is judged as the first request of the spec it met, and counted nowhere."""
        answers = []

        def stepped(stored):
            answers[:] = []
            if stored is None or stored["spec"] != self.spec.source:
                return stored
            progress = stored["progress"]
            answers.append(step(progress))
            return {**stored, "progress": progress}

        self.state.update(self.key, stepped)
        return answers[0] if answers else step(self.fresh())

    def _fire(self, progress: dict, rules, request_number: int, page: int | None, has_next: bool,
              grant_type: str | None = None) -> list[Firing]:
        fired: list[Firing] = []
        refused = False
        hits = progress["hits"]
        for index, rule in rules:
            if (refused and rule.kind in REFUSALS) or not rule.picks(request_number, page, grant_type):
                continue
            if rule.kind in NEEDS_NEXT_LINK and not has_next:
                continue
            if rule.times is not None and hits[index] >= rule.times:
                continue
            if rule.rate is not None and self._draw(progress) >= rule.rate:
                continue
            hits[index] += 1
            low, high = rule.seconds
            delay = low + (high - low) * self._draw(progress) if low != high else low
            fired.append(Firing(rule, request_number, delay))
            refused = refused or rule.kind in REFUSALS
        return fired

    def _draw(self, progress: dict) -> float:
        progress["draws"] += 1
        return STREAMS.draw(self.key, self.spec.seed, progress["draws"] - 1)

    def describe(self) -> dict:
        stored = self.state.get(self.key)
        progress = stored["progress"] if stored and stored["spec"] == self.spec.source else self.fresh()
        return {
            "faults": {"seed": self.spec.seed, **self.spec.source},
            "requests": dict(progress["requests"]),
            "hits": {rule.kind: hits for rule, hits in zip(self.spec.rules, progress["hits"], strict=True)},
            "never_reached": self._never_reached(progress),
        }

    def _never_reached(self, progress: dict) -> dict[str, str]:
        """So that a test whose fault never fired is told why, rather than passing silently.

        Why a rule that has not fired could not have, by kind: the walks never served its `page`, or, for
        `loop_next` and `duplicates`, never a page with a next link to rewrite (a rule aimed at a last page).
        Said once the API has had requests, so a test that passed without its fault learns why."""
        if not progress["requests"]["api"]:
            return {}
        reasons = {}
        deepest_page = progress["deepest_page"]
        for index, rule in self.after:
            if progress["hits"][index]:
                continue
            if rule.page is not None and not progress["reached"][index]:
                deepest = f"page {deepest_page}" if deepest_page else "none"
                reasons[rule.kind] = f"no request reached searchset page {rule.page} (the deepest served: {deepest})"
            elif rule.kind in NEEDS_NEXT_LINK and not progress["reached_with_next"][index]:
                if rule.page is None:
                    served = "no searchset page with a next link was served"
                else:
                    served = f"page {rule.page} was served only as the last page of its search"
                reasons[rule.kind] = f"{served}: {rule.kind} rewrites the next link, so it needs one"
        return reasons


class FaultBoard:
    """Every plan's faults, kept in the mock's state so `/_admin/faults` on one process reaches every process.

    Each plan's spec and progress are one value (`faults:<system id>`); a plan without faults has none, so a clean
    run asks one key and moves on. A parsed spec is kept per process, keyed by its text."""

    def __init__(self, plans: dict[str, Plan], ledger, overrides: dict | None = None, state: State | None = None):
        self.plans = plans
        self.ledger = ledger
        self.state = state or open_state()
        self._parsed: dict[tuple[str, bytes], PlanFaults] = {}
        self._lock = threading.Lock()
        overrides = overrides or {}
        strangers = sorted(set(overrides) - set(plans) - {"*"})
        if strangers:
            raise FaultSpecError(f"faults for {strangers[0]!r}: no such plan (plans: {', '.join(sorted(plans))})")
        for system_id, plan in plans.items():
            if system_id in overrides or "*" in overrides:
                key = system_id if system_id in overrides else "*"
                spec = parse_spec(overrides[key], f"faults for {key!r}")
            elif "faults" in plan.settings:
                spec = parse_spec(plan.settings["faults"], f"{plan.folder / 'plan.json'}: faults")
            else:
                continue
            if spec.rules:  # the first process of a mock on a shared state sets it; the others find it set
                self.state.put_new(_key(system_id), {"spec": spec.source,
                                                     "progress": self._faults(system_id, spec).fresh()})

    def __len__(self) -> int:
        """How many plans have faults now."""
        return sum(stored is not None for stored in self.state.get_many([_key(system_id) for system_id in self.plans]))

    def keys(self) -> list[str]:
        """Where every plan's faults are kept: what a request reads ahead (`State.hold`)."""
        return [_key(system_id) for system_id in self.plans]

    def get(self, system_id: str) -> PlanFaults | None:
        stored = self.state.get(_key(system_id))
        return self._faults(system_id, stored["spec"]) if stored is not None else None

    def configure(self, system_id: str, spec: FaultSpec) -> None:
        """Replace a plan's spec, with fresh counters.

        A `revoke_refresh` rule without conditions also revokes the plan's refresh tokens at once ("the payer
        revoked them")."""
        if spec.rules:
            self.state.put(_key(system_id), {"spec": spec.source, "progress": self._faults(system_id, spec).fresh()})
        else:
            self.state.delete(_key(system_id))
        if any(rule.kind == "revoke_refresh" and rule.unconditional for rule in spec.rules):
            self.ledger.revoke_refresh_tokens(system_id)

    def rewind(self, system_ids) -> None:
        for system_id in system_ids:
            faults = self.get(system_id)
            if faults is not None:
                faults.rewind()

    def describe(self) -> dict:
        described = {}
        for system_id in self.plans:
            faults = self.get(system_id)
            described[system_id] = (faults.describe() if faults is not None
                                    else {"faults": {}, "requests": {}, "hits": {}, "never_reached": {}})
        return described

    def _faults(self, system_id: str, spec: FaultSpec | dict) -> PlanFaults:
        """The plan's faults for a spec, parsed once per process."""
        source = spec.source if isinstance(spec, FaultSpec) else spec
        known = (system_id, orjson.dumps(source, option=orjson.OPT_SORT_KEYS))
        with self._lock:
            faults = self._parsed.get(known)
        if faults is None:
            parsed = spec if isinstance(spec, FaultSpec) else parse_spec(source, "fault spec")
            faults = PlanFaults(parsed, self.state, _key(system_id))
            with self._lock:
                self._parsed[known] = faults
        return faults


def _key(system_id: str) -> str:
    return f"faults:{system_id}"


# ---- acting on the member API and the token endpoint --------------------------------------------------


class Pages:
    """So that fault rules can tell where a page starts and point at another page of the same search.

    How a member API's searchset pages say where they start, read back from their links (`locate`: the search
    URL, its parameters, the page's offset and size), and how to point at another page of the same search
    (`url_at`). This is the 1up and SMART paths' way, the search's own parameters and an opaque page token
    (mirror/fhir/paging.py); Blue Button's `startIndex` and `_count` are mockpayer/bluebutton/paging.py's."""

    bluebutton = False  # which plans answer the API's paths (context.plan_for)

    def locate(self, links: dict, plan: Plan) -> tuple[str, list[tuple[str, str]], int, int] | None:
        """Read back from the page's own `self` link."""
        if not isinstance(links.get("self"), str):
            return None
        parts = urlsplit(links["self"])
        params = parse_qsl(parts.query, keep_blank_values=True)
        self_params = [(name, value) for name, value in params if name != PAGE_TOKEN]
        try:
            offset = page_offset(dict(params).get(PAGE_TOKEN), self_params)
            count = int(dict(self_params).get("_count", plan.paging.default_count))
        except (SearchError, ValueError):
            return None
        return urlunsplit(parts._replace(query="", fragment="")), self_params, offset, count

    def url_at(self, search_url: str, self_params: list[tuple[str, str]], offset: int, count: int) -> str:
        return page_links(search_url, self_params, offset, 0, 0)[0]["url"]


TOKEN_PAGES = Pages()


def injected(view, pages=TOKEN_PAGES):
    """So that a plan's faults are applied around every member API view.

    Puts the plan's faults around a member API view whose searchsets page as `pages` says: latency, token and
    refusal rules before the API answers; page rules and reshaping (duplicates, looping next, truncation) on its
    answer."""

    @functools.wraps(view)
    def faulted_view(*args, **kwargs):
        plan = plan_for(kwargs.get("system_id"), bluebutton=pages.bluebutton)
        faults = payer().faults.get(plan.system_id)
        if faults is None:
            return view(*args, **kwargs)
        request_number, firings = faults.arrive("api")
        _act(plan, firings)
        response = view(*args, **kwargs)
        if faults.after and response.status_code == 200:
            _reshape(plan, faults, request_number, response, pages)
        return response

    return faulted_view


def check_token_request(plan: Plan) -> None:
    """The token endpoint's share: latency, 429 and 5xx rules with `"at": "token"`, and `token_error`."""
    faults = payer().faults.get(plan.system_id)
    if faults is not None:
        _, firings = faults.arrive("token", request.form.get("grant_type"))
        _act(plan, firings)


def check_authorize_request(plan: Plan, grant) -> None:
    """So that faults can make the authorize endpoint fail as a real one would.

    The authorize endpoint's share, for an authorization request authlib has checked (`grant`: its client and
    redirect URI are verified): `authorize_error`, raised as the OAuth2Error the endpoint answers with."""
    faults = payer().faults.get(plan.system_id)
    if faults is None:
        return
    for firing in faults.arrive("authorize")[1]:
        rule = firing.rule
        because = f"(injected fault authorize_error, authorization request {firing.request_number})"
        if rule.error in PAGE_AUTHORIZE_ERRORS:
            raise OAuth2Error(f"The app's {PAGE_AUTHORIZE_ERRORS[rule.error]} {because}.", error=rule.error)
        raise OAuth2Error(f"The authorization request is refused {because}.", error=rule.error,
                          redirect_uri=grant.redirect_uri,
                          state=grant.request.payload.state)


def _act(plan: Plan, firings: list[Firing]) -> None:
    """Sleep, revoke, then raise the refusal if one fired."""
    for firing in firings:
        rule = firing.rule
        if rule.kind == "latency":
            time.sleep(firing.delay)
        elif rule.kind == "revoke_refresh":
            payer().ledger.revoke_refresh_tokens(plan.system_id)
        elif rule.kind in REFUSALS:
            raise _refusal(plan, firing)


def _refusal(plan: Plan, firing: Firing) -> InjectedFault:
    rule = firing.rule
    because = f"(injected fault {rule.kind}, request {firing.request_number})"
    if rule.kind == "expire_token":
        _revoke_presented_access_token()
        return InjectedFault(401, f"The access token is invalid, expired or revoked {because}.",
                             {"WWW-Authenticate": f'Bearer realm="{plan.system_id}", error="invalid_token"'})
    if rule.kind == "rate_limit":
        retry_after = (formatdate(payer().clock.now() + rule.retry_after, usegmt=True) if rule.retry_after_as_date
                       else str(rule.retry_after))
        return InjectedFault(429, f"Too many requests {because}.", {"Retry-After": retry_after})
    if rule.kind == "token_error":
        return _token_error(plan, rule, because)
    return InjectedFault(rule.status, f"{HTTPStatus(rule.status).phrase} {because}.")


def _token_error(plan: Plan, rule: Rule, because: str) -> InjectedFault:
    """So that an injected token error behaves as RFC 6749 §5.2 says, and stays refused.

    RFC 6749 §5.2: `invalid_client` to a client that authenticated with HTTP Basic is a 401, and a 401 carries a
    Basic challenge (RFC 9110 §15.5.2); `invalid_grant` spends the code or revokes the refresh token presented, so
    that it stays refused."""
    if rule.error == "invalid_grant":
        _spend_presented_grant(plan)
    if rule.error == "invalid_client" and (rule.status == 401 or extract_basic_authorization(request.headers)[0]):
        return InjectedFault(401, f"Client authentication failed {because}.",
                             {"WWW-Authenticate": 'Basic realm="mockpayer"'}, "invalid_client")
    return InjectedFault(rule.status, f"The token request is refused {because}.", oauth_error=rule.error)


def _spend_presented_grant(plan: Plan) -> None:
    ledger, form = payer().ledger, request.form
    if form.get("grant_type") == "authorization_code" and form.get("code"):
        ledger.claim_code(form["code"], plan.system_id)
    elif form.get("grant_type") == "refresh_token" and form.get("refresh_token"):
        record = ledger.by_refresh_token(form["refresh_token"])
        if record is not None and record.system_id == plan.system_id:
            ledger.revoke_refresh(record)


def _revoke_presented_access_token() -> None:
    ledger = payer().ledger
    credential = bearer_credential()
    record = ledger.by_access_token(credential) if credential else None
    if record is not None:
        ledger.revoke_access(record)


@dataclass
class _SearchsetPage:
    """Where a searchset page sits in its walk, read back from its links as its API pages (`pages`)."""

    number: int
    pages: Pages
    search_url: str
    self_params: list[tuple[str, str]]
    offset: int
    count: int
    next_url: str | None = None

    def url_at(self, offset: int) -> str:
        return self.pages.url_at(self.search_url, self.self_params, offset, self.count)


def _searchset_page(body: bytes, plan: Plan, pages: Pages) -> _SearchsetPage | None:
    try:
        bundle = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "searchset":
        return None
    links = {link.get("relation"): link.get("url") for link in bundle.get("link") or [] if isinstance(link, dict)}
    located = pages.locate(links, plan)
    if located is None or located[3] <= 0:
        return None
    search_url, self_params, offset, count = located
    number = -(-offset // count) + 1  # a page that a `duplicates` shift started mid-way counts as the next one
    return _SearchsetPage(number, pages, search_url, self_params, offset, count, links.get("next"))


def _reshape(plan: Plan, faults: PlanFaults, request_number: int, response, pages: Pages) -> None:
    body = response.get_data()
    page = _searchset_page(body, plan, pages)
    firings = faults.answered(request_number, page.number if page else None,
                              has_next=page is not None and page.next_url is not None)
    _act(plan, firings)
    for firing in firings:
        rule = firing.rule
        if rule.kind == "duplicates":
            # The next page starts `entries` early, as offset paging over shifting data does.
            body = _relink_next(body, page, page.url_at(max(page.offset + 1, page.offset + page.count - rule.entries)))
        elif rule.kind == "loop_next":
            body = _relink_next(body, page, page.url_at(0 if rule.back_to_first else page.offset))
        elif rule.kind == "truncate":
            body = body[:int(len(body) * rule.fraction)]
    if firings:
        response.set_data(body)


def _relink_next(body: bytes, page: _SearchsetPage, next_url: str) -> bytes:
    """Swap the `next` link's URL in the text itself, so resources keep their exact JSON."""
    relinked = body.replace(orjson.dumps(page.next_url), orjson.dumps(next_url), 1)
    page.next_url = next_url
    return relinked
