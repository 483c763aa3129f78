"""The mirror's read-only FHIR R4 API over its store (issue 6): `create_app(store)`, served by `mirror serve`.

Each source plan has its own FHIR base, `/fhir/{source}`, because two plans can both hold a different
`Patient/1`; when the store holds a single source, `/fhir` is that base too, so the common case has the
short URL. A first path segment that names a source always means that source's base.

    GET [base]/metadata                         CapabilityStatement of what the store holds
    GET [base]/{type}/{id}                      the stored text byte for byte; ETag, Last-Modified, 304; 410
    GET [base]/{type}?...                       searchset, with the search machinery shared with the mock
    POST [base]/{type}/_search                  the same search, its parameters form-encoded in the body
    GET [base]/Patient/{id}/$everything         the patient's records and what they reference
    POST [base]/Patient/{id}/$everything        the same, its parameters in a Parameters body (or none)

Everything under `/fhir` is read-only (405; POST only reads, where FHIR allows it), JSON only (406) and
answers errors as OperationOutcomes.
The store is opened read-only: it never blocks a running sync, and it reloads when a sync has written, so
the API serves new data without a restart. The rest of the URL space (`/`) is left to the patient pages.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import orjson
from flask import Blueprint, Flask, Response, current_app, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from mirror.fhir.capability import capability_statement
from mirror.fhir.compartment import ABOUT_ANOTHER_RECORD, FALLBACK_PATHS, PATIENT_COMPARTMENT, is_about_any
from mirror.fhir.dates import DateRange, element_range
from mirror.fhir.everything import answer_everything, by_type, parse_everything
from mirror.fhir.ids import is_valid_id
from mirror.fhir.raw_json import references_in_text
from mirror.fhir.references import reference_target
from mirror.fhir.search import Criterion, ReferenceValue, Search, SearchError, TokenValue, parse_search
from mirror.fhir.search_parameters import REFERENCE
from mirror.fhir.searchset import answer_found, found_in_order
from mirror.http.fhir_flask import (
    ALL_METHODS,
    FhirError,
    bearer_credential,
    fhir_error_response,
    fhir_response,
    negotiate,
    operation_parameters,
    outcome_response,
    prefers_strict_handling,
    require_known_type,
    require_valid_id,
    resource_response,
    search_parameters,
)
from mirror.http.hosts import LOOPBACK, trusted_hosts
from mirror.store import Store, StoredResource, StoreError
from mirror.web import pages
from mirror.web.errors import error_page

API_ROOT = "/fhir"
DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_REQUEST_BYTES = 1024 * 1024  # IN-J4: a read-only API takes no uploads
REALM = 'Bearer realm="payer-mirror"'

blueprint = Blueprint("fhir", __name__, url_prefix=API_ROOT)
blueprint.before_request(negotiate)


def create_app(store: Store | Path | str, *, token: str | None = None, config: dict | None = None,
               bind_host: str = LOOPBACK) -> Flask:
    """The API over `store` (a Store, or a data folder to open read-only).

    With `token`, every request needs `Authorization: Bearer <token>` (for a non-loopback bind). Bound to a
    loopback address (`bind_host`), it answers only requests addressed to a loopback name.
    """
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, TRUSTED_HOSTS=trusted_hosts(bind_host),
                      SECRET_KEY=secrets.token_bytes(32))
    app.config.update(config or {})
    app.extensions["mirror.store"] = store if isinstance(store, Store) else Store(store, read_only=True)
    app.extensions["mirror.api_token"] = token
    app.extensions["mirror.answers"] = _KeptAnswers()
    if token is not None:
        app.before_request(_require_token)
    app.before_request(_refuse_large_bodies)
    app.register_blueprint(blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_error_handler(FhirError, fhir_error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreError, _store_error)
    return app


def _store() -> Store:
    return current_app.extensions["mirror.store"]


def _under_api() -> bool:
    """Whether this request is for the FHIR API, whose errors are OperationOutcomes, or for the patient pages."""
    return request.path == API_ROOT or request.path.startswith(API_ROOT + "/")


def _require_token() -> None:
    """BR-1: no token, 401 without an error code; a wrong one, `invalid_token`. Compared in constant time.

    A browser cannot send a Bearer header, so the patient pages also accept the token from the cookie that
    their unlock form sets; without it they send the browser to that form.
    """
    expected = current_app.extensions["mirror.api_token"]
    if not _under_api():
        if pages.is_unlocked(expected) or request.endpoint in pages.OPEN_ENDPOINTS:
            return None
        return redirect(url_for("web.unlock"), 303)
    credential = bearer_credential()
    if credential is None:
        raise FhirError(401, "This mirror needs a token (Authorization: Bearer).", {"WWW-Authenticate": REALM})
    if not hmac.compare_digest(credential.encode("utf-8"), expected.encode("utf-8")):
        raise FhirError(401, "The token is not this mirror's.", {"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    return None


def _refuse_large_bodies() -> Response | None:
    """IN-J4: Werkzeug enforces MAX_CONTENT_LENGTH only when a body is read, and nothing here reads one.

    A page gets a page, the API an OperationOutcome."""
    if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
        if not _under_api():
            return error_page(413)
        raise FhirError(413, "The request body is too large.")


def _http_error(error: HTTPException):
    """Under /fhir every error is an OperationOutcome; elsewhere a page of the site, with a way home."""
    if _under_api():
        return outcome_response(error.code or 500, error.description or error.name)
    return error_page(error.code or 500, error)


def _store_error(error: StoreError):
    """So that a damaged store costs the client a short answer and the server's terminal the full advice.

    A store found damaged while serving (a table is read when a request first needs it, or after a sync
    rewrote the file): the terminal running the server gets the whole message with its advice, which names
    this machine's paths; the client gets a short one, and a 503, since restoring the store mends it."""
    current_app.logger.error("%s", error)
    message = "The mirror's store cannot be read; the terminal running the mirror says why and what to do."
    if _under_api():
        return outcome_response(503, message)
    return error_page(503)


@blueprint.after_request
def _api_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "private, no-cache")  # revalidate: a sync may change it
    return response


# ---- routing -------------------------------------------------------------------------------------------


@blueprint.route("", methods=ALL_METHODS, defaults={"path": ""})
@blueprint.route("/<path:path>", methods=ALL_METHODS)
def fhir(path: str) -> Response:
    """Find the base (a source, or the single source) and then the interaction, by the path's shape."""
    segments = path.split("/") if path else []
    if segments and segments[-1] == "":
        segments.pop()  # `Patient/` is `Patient`
    source, base_url, rest = _base(segments)
    match rest:
        case ["metadata"]:
            return _metadata(source, base_url)
        case [resource_type] | [resource_type, "_search"]:
            return _search(source, base_url, resource_type)
        case ["Patient", patient_id, "$everything"]:
            return _everything(source, base_url, patient_id)
        case [resource_type, resource_id]:
            return _read(source, resource_type, resource_id)
    raise FhirError(404, "No FHIR interaction has this path.")


def _base(segments: list[str]) -> tuple[str, str, list[str]]:
    """(source, the base URL as this request saw it, the path after the base)."""
    sources = _store().sources()
    root = request.host_url.rstrip("/") + API_ROOT
    if segments and segments[0] in sources:
        return segments[0], f"{root}/{quote(segments[0], safe='')}", segments[1:]
    if len(sources) == 1:
        return sources[0], root, segments
    if not sources:
        raise FhirError(404, "The mirror holds no records yet; run `mirror sync` first.")
    bases = ", ".join(f"{API_ROOT}/{source}" for source in sources)
    raise FhirError(404, f"This mirror holds several plans; each has its own FHIR base: {bases}.")


# ---- interactions --------------------------------------------------------------------------------------


def _metadata(source: str, base_url: str) -> Response:
    """A CapabilityStatement listing the types held from `source` (read and search only, and $everything)."""
    statement = capability_statement(
        base_url=base_url,
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        resource_types=list(_store().counts(source)),
        description=f"payer-mirror: a read-only local copy of the records from {source}",
        patient_everything=True,
    )
    return fhir_response(orjson.dumps(statement))


def _read(source: str, resource_type: str, resource_id: str) -> Response:
    require_known_type(resource_type)
    require_valid_id(resource_id)
    stored = _current(source, resource_type, resource_id)
    # Last-Modified is when this content reached the mirror, the moment its copy here last changed. The store
    # writes that time in one fixed UTC form (records.TIMESTAMP_FORMAT), which fromisoformat reads far faster
    # than the FHIR date parser, whose cost would be a visible part of a read (bench/README.md).
    return resource_response(stored.text, etag=stored.content_hash,
                             last_modified=datetime.fromisoformat(stored.fetched_at))


def _search(source: str, base_url: str, resource_type: str) -> Response:
    require_known_type(resource_type)
    try:
        search = parse_search(resource_type, search_parameters(), default_count=DEFAULT_COUNT,
                              max_count=MAX_COUNT, strict=prefers_strict_handling())
        body = answer_found(search, _Found(source, _found_keys(source, search)), base_url=base_url,
                            resolve=lambda target_type, target_id: _held(source, target_type, target_id))
    except SearchError as error:
        raise FhirError(400, str(error)) from None
    return fhir_response(body)


def _everything(source: str, base_url: str, patient_id: str) -> Response:
    require_valid_id(patient_id)
    _current(source, "Patient", patient_id)
    try:
        everything = parse_everything(operation_parameters(), default_count=DEFAULT_COUNT,
                                      max_count=MAX_COUNT)
        records = _answers().get(("$everything", source, patient_id),
                                 lambda: by_type(_patient_records(source, patient_id)))
        body = answer_everything(everything, records, base_url=base_url, patient_id=patient_id,
                                 changed_at=lambda held: held.last_updated)
    except SearchError as error:
        raise FhirError(400, f"Bad $everything parameter: {error}") from None
    return fhir_response(body)


def _current(source: str, resource_type: str, resource_id: str) -> StoredResource:
    """The stored resource; 404 when never held, 410 when the plan no longer has it."""
    stored = _store().get(source, resource_type, resource_id)
    if stored is None:
        raise FhirError(404, f"{resource_type}/{resource_id} is not known.")
    if stored.removed:
        raise FhirError(410, f"{resource_type}/{resource_id} was removed at the plan (noticed {stored.removed_at}).")
    return stored


# ---- what a search or $everything looks at -------------------------------------------------------------


class _HeldResource:
    """So that shared search code can match stored resources without parsing each one up front.

    A stored resource as the shared search code sees it: `.resource` parsed on first use, `.text` as stored,
    `.key` (type, id) and `.last_updated` from the store's own fields."""

    __slots__ = ("key", "text", "_resource", "_last_updated_text", "_last_updated")

    def __init__(self, stored: StoredResource):
        self.key = (stored.resource_type, stored.id)
        self.text = stored.text
        self._resource: dict | None = None
        self._last_updated_text = stored.last_updated
        self._last_updated: DateRange | None = None

    @property
    def resource(self) -> dict:
        if self._resource is None:
            self._resource = orjson.loads(self.text)
        return self._resource

    @property
    def last_updated(self) -> datetime | None:
        """When `meta.lastUpdated` says the resource changed (its start), read without parsing the resource."""
        if self._last_updated is None and self._last_updated_text is not None:
            self._last_updated = element_range(self._last_updated_text)
            self._last_updated_text = None  # read once, readable or not
        return self._last_updated.start if self._last_updated is not None else None


class _KeptAnswers:
    """Answers worth keeping between the pages of one query, for the store generation they came from.

    A patient's `$everything` records, the keys a search matched in its order: each for the store generation it was
    worked out from.

    A client asks again for every page, and working a large answer out costs the whole answer: gathering a
    patient's claims touches each, and matching or sorting them parses each (bench/api.py).
    A sync's write changes the generation: every kept answer is dropped (a patient's records hold their texts,
    which the new generation no longer shares), and the next page works its answer out again. Only the last
    few are kept.
    """

    SIZE = 16

    def __init__(self):
        self._generation: int | None = None
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, work_out: Callable[[], object]):
        generation = _store().generation
        with self._lock:
            if generation != self._generation:
                self._generation, self._entries = generation, OrderedDict()
            elif key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        answer = work_out()
        with self._lock:
            if generation == self._generation:
                self._entries[key] = answer
                while len(self._entries) > self.SIZE:
                    self._entries.popitem(last=False)
        return answer


def _answers() -> _KeptAnswers:
    return current_app.extensions["mirror.answers"]


def _found_keys(source: str, search: Search) -> tuple[tuple[str, str], ...]:
    """So that a search's matches can be paged without holding every parsed resource at once.

    The (type, id) of every resource `search` matches, in its order; kept as keys, not parsed resources,
    which would hold tens of KB each."""
    def work_out() -> tuple[tuple[str, str], ...]:
        candidates, rest = _candidates(source, search)
        return tuple(held.key for held in found_in_order(rest, candidates))

    return _answers().get(("search", source, search.resource_type, search.self_params), work_out)


class _Found(Sequence):
    """A search's matches by key, read from the store only for the page cut from them."""

    def __init__(self, source: str, keys: tuple[tuple[str, str], ...]):
        self._source, self._keys = source, keys

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index):
        if isinstance(index, slice):  # a key a newer generation removed meanwhile is left out, not an error
            return [held for key in self._keys[index] if (held := _held(self._source, *key)) is not None]
        return _held(self._source, *self._keys[index])


def _held(source: str, resource_type: str, resource_id: str) -> _HeldResource | None:
    stored = _store().get(source, resource_type, resource_id)
    return None if stored is None or stored.removed else _HeldResource(stored)


def _candidates(source: str, search: Search) -> tuple[list[_HeldResource], Search]:
    """The resources a search must look at, and what is left of the search to apply to them.

    All of the type, unless an `_id` or `patient` criterion can be looked up in the store's indexes. A lookup
    only ever leaves out resources that could not match; when it finds exactly the matches (always for
    `_id`; for `patient` when the parameter reads the same elements as the Patient compartment the index is
    built from) the criterion is dropped, so a plain search by patient never parses a resource.
    """
    store = _store()
    for criterion in search.criteria:
        ids = _ids(criterion)
        if ids is not None:
            found = (store.get(source, search.resource_type, resource_id) for resource_id in ids)
            held = [_HeldResource(stored) for stored in found if stored is not None and not stored.removed]
            return held, _without(search, criterion)
    compartment = set(PATIENT_COMPARTMENT.get(search.resource_type, FALLBACK_PATHS))
    for criterion in search.criteria:
        patients = _patients(criterion)
        if patients is not None and set(criterion.parameter.paths) <= compartment:
            by_id = {stored.id: stored for patient_id in patients
                     for stored in store.search(search.resource_type, source=source, patient_id=patient_id)}
            exact = set(criterion.parameter.paths) == compartment
            return [_HeldResource(stored) for stored in by_id.values()], _without(search, criterion) if exact else search
    return [_HeldResource(stored) for stored in store.search(search.resource_type, source=source)], search


def _ids(criterion: Criterion) -> list[str] | None:
    """The ids an `_id` criterion allows (its values are ORed), or None when it is not a plain `_id`."""
    if criterion.parameter.name != "_id" or criterion.modifier is not None:
        return None
    values: tuple[TokenValue, ...] = criterion.values
    if not all(value.system is None and value.code is not None for value in values):
        return None
    return list(dict.fromkeys(value.code for value in values if is_valid_id(value.code)))


def _patients(criterion: Criterion) -> list[str] | None:
    """The Patient ids a `patient` criterion allows, or None when it is not a plain `patient`."""
    parameter = criterion.parameter
    if parameter.name != "patient" or parameter.kind != REFERENCE or criterion.modifier not in (None, "Patient"):
        return None
    values: tuple[ReferenceValue, ...] = criterion.values
    return [value.id for value in values if value.resource_type in (None, "Patient")]


def _without(search: Search, answered: Criterion) -> Search:
    """The search minus a criterion the indexes answered; its self link still shows the criterion."""
    return replace(search, criteria=tuple(criterion for criterion in search.criteria if criterion is not answered))


def _patient_records(source: str, patient_id: str) -> list[_HeldResource]:
    """So that R4 Patient $everything returns the whole record a member's app needs in one search.

    R4 Patient $everything: the Patient's compartment, the records about its records (a Provenance whose
    target is one: compartment.ABOUT_ANOTHER_RECORD), and the resources those reference that are in no
    patient's compartment (the Organizations, Practitioners, Locations their claims name), as the mock serves a
    member. Another patient's records are never pulled in through a reference. References are read from the
    stored text, so nothing is parsed but the page the client gets and the records about others."""
    store = _store()
    records: dict[tuple[str, str], _HeldResource] = {}
    for resource_type in store.types(source):
        for stored in store.search(resource_type, source=source, patient_id=patient_id):
            records[(resource_type, stored.id)] = _HeldResource(stored)
    own = set(records)
    for resource_type in ABOUT_ANOTHER_RECORD:
        for stored in store.search(resource_type, source=source):
            held = _HeldResource(stored)
            if held.key not in records and is_about_any(held.resource, own):
                records[held.key] = held
    referenced = {
        target
        for held in records.values()
        for target in map(reference_target, references_in_text(held.text))
        if target is not None and target not in records
    }
    for resource_type, resource_id in referenced:
        stored = store.get(source, resource_type, resource_id)
        if stored is not None and not stored.removed and not stored.patient_ids:
            records[(resource_type, resource_id)] = _HeldResource(stored)
    return list(records.values())
