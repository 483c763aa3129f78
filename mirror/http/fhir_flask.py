"""The HTTP side of a FHIR R4 server on Flask, shared by the mirror's API and the mock payer's.

JSON only, read only (POST only where FHIR reads with it), every error an OperationOutcome, conditional reads
(https://hl7.org/fhir/R4/http.html).

`mirror/fhir/` knows FHIR without I/O; this module is the thin layer that turns that knowledge into Flask
requests and responses, so both servers negotiate, refuse and answer in one way (API-1, API-6).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson
from flask import Response, request

from mirror.fhir.ids import is_valid_id
from mirror.fhir.outcome import outcome_for_status
from mirror.fhir.parameters import ParametersError, parameter_pairs
from mirror.fhir.validation import is_resource_type

FHIR_JSON = "application/fhir+json"
JSON_TYPES = (FHIR_JSON, "application/json", "application/json+fhir")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
READ_METHODS = ("GET", "HEAD")
FORM = "application/x-www-form-urlencoded"
# The paths' last segments that read by POST too: a search (R4 http.html 3.1.0.8, `[type]/_search`, POST only)
# and `$everything`, an operation that changes nothing (R4 operations.html: GET or POST).
_POSTED_READS = {"_search": ("POST",), "$everything": (*READ_METHODS, "POST")}
_PLAIN_JSON_ACCEPTS = frozenset({*JSON_TYPES, "*/*"})  # what clients send; no need to parse them


class FhirError(Exception):
    """An error answered as an OperationOutcome with this status (and headers such as WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def fhir_response(body: bytes | str, status: int = 200, headers: dict | None = None) -> Response:
    """A FHIR JSON body; the charset is named, as HAPI does, since FHIR text is always UTF-8."""
    return Response(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8", headers=headers)


def outcome_response(status: int, message: str, headers: dict | None = None) -> Response:
    return fhir_response(orjson.dumps(outcome_for_status(status, message)), status, headers)


def fhir_error_response(error: FhirError) -> Response:
    """The error handler both servers register for FhirError."""
    return outcome_response(error.status, error.message, error.headers)


def require_valid_id(resource_id: str) -> None:
    """IN-P1: an id outside the FHIR id rule is a 400 before it reaches any lookup."""
    if not is_valid_id(resource_id):
        raise FhirError(400, "The id is not a valid FHIR id ([A-Za-z0-9-.]{1,64}).")


def require_known_type(resource_type: str, also_served: Iterable[str] = ()) -> None:
    """404 for a name that is no R4 resource type (the caller may serve a few more, as fixtures can hold)."""
    if not is_resource_type(resource_type) and resource_type not in also_served:
        raise FhirError(404, f"Unknown resource type {resource_type[:64]!r}.")


def negotiate() -> Response | None:
    """406 for anything but JSON (XML included); writes are 405 with the methods the path takes (API-1, API-6).

    `Accept: */*` and `application/json` get JSON (the Blue Button SDK and the SMART JS client send those),
    and a stray Content-Type on a GET is ignored (the Blue Button SDK sends one). `OPTIONS` (a CORS preflight)
    is answered 204 with the same `Allow` (flask-cors adds its headers where the server allows browser apps).
    """
    allowed = _POSTED_READS.get(request.path.rstrip("/").rpartition("/")[2], READ_METHODS)
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": ", ".join((*allowed, "OPTIONS"))})
    if request.method not in allowed:
        allow = ", ".join(allowed)
        raise FhirError(405, f"This API is read-only: this path takes {allow}, not {request.method}.", {"Allow": allow})
    _require_json_format(request.args.get("_format"))
    accept = request.headers.get("Accept")
    if accept and accept not in _PLAIN_JSON_ACCEPTS and request.accept_mimetypes.best_match(JSON_TYPES) is None:
        raise FhirError(406, "Only JSON is served (application/fhir+json).")
    return None


def _require_json_format(requested_format: str | None) -> None:
    """`_format`, from the query or a search's form: 406 unless it names JSON."""
    requested_format = "json" if requested_format is None else requested_format.lower()
    if "xml" in requested_format or requested_format not in ("json", *JSON_TYPES):
        raise FhirError(406, "Only JSON is served (application/fhir+json).")


def search_parameters() -> list[tuple[str, str]]:
    """So that `POST [type]/_search` reads its form body as a GET reads its query.

    A search's parameters: the query's, then for `POST [type]/_search` the form body's, which mean the same
    there and combine as repeats do (R4 http.html 3.1.0.8, search.html). Another body type is 415."""
    pairs = list(request.args.items(multi=True))
    if request.method != "POST":
        return pairs
    if request.mimetype == FORM:
        _require_json_format(request.form.get("_format"))
        return pairs + list(request.form.items(multi=True))
    if request.get_data():
        raise FhirError(415, f"A search by POST sends its parameters as {FORM}.")
    return pairs


def operation_parameters() -> list[tuple[str, str]]:
    """So that a read-only operation reads its parameters alike by GET or POST.

    An operation's parameters: the query's, then for POST those of the `Parameters` resource in the body (an
    empty body has none), so that both forms of a read-only operation read alike (R4 operations.html)."""
    pairs = list(request.args.items(multi=True))
    body = request.get_data() if request.method == "POST" else b""
    if not body:
        return pairs
    if request.mimetype not in JSON_TYPES:
        raise FhirError(415, f"An operation by POST sends a Parameters resource as {FHIR_JSON}.")
    try:
        return pairs + parameter_pairs(orjson.loads(body))
    except orjson.JSONDecodeError:
        raise FhirError(400, "The body is not valid JSON.") from None
    except ParametersError as error:
        raise FhirError(400, f"Bad Parameters body: {error}.") from None


def prefers_strict_handling() -> bool:
    """`Prefer: handling=strict` (API-3): unknown search parameters are then an error, not ignored."""
    return "handling=strict" in (request.headers.get("Prefer") or "").replace(" ", "")


def bearer_credential() -> str | None:
    """The token of the request's `Authorization: Bearer` header, if it has one."""
    scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
    return (credential.strip() or None) if scheme.lower() == "bearer" else None


def resource_response(
    text: str | bytes, *, etag: str | None = None, weak: bool = False, last_modified: datetime | None = None
) -> Response:
    """A read's answer, or 304 when the client's copy is current.

    The resource text as it is, with its validators; the client's copy is current by `If-None-Match` (compared
    weakly as RFC 9110 requires for GET), else by `If-Modified-Since`.

    `etag` is the opaque tag without quotes, strong unless `weak` (FHIR's `W/"versionId"` form is weak).
    """
    response = fhir_response(text)
    if etag is not None:
        response.set_etag(etag, weak=weak)
    if last_modified is not None:
        response.last_modified = last_modified
    if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
        response.make_conditional(request)  # in place; a third of a read's time: only when asked
    return response
