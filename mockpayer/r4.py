"""The plan's FHIR R4 API: a member's records behind their token, and the public directory without one.

Member API at `/{system-id}/r4` (and `/r4` on `api.<base_url>`): read, search and `Patient/$everything`,
limited to the token's member (their compartment plus the Organizations and Practitioners their records
name; anything else is 404 so that ids of other members cannot be probed) and to the token's scopes
(403). The public directory (Plan-Net, formulary) at `/{system-id}/directory/r4` needs no token.
Every error is an OperationOutcome; every body is `application/fhir+json`, with the resource text exactly
as the fixture wrote it.
"""

from __future__ import annotations

from datetime import datetime

import orjson
from flask import Blueprint, Response, request

from mirror.fhir.dates import FhirDateError, date_range, element_range
from mirror.fhir.ids import is_valid_id
from mirror.fhir.outcome import outcome_for_status
from mirror.fhir.paging import page_links, page_offset
from mirror.fhir.scopes import allows_read
from mirror.fhir.search import SearchError, parse_search
from mirror.fhir.searchset import answer_search, page_bundle
from mirror.fhir.validation import is_resource_type
from mockpayer import faults
from mockpayer.auth.ledger import TokenRecord
from mockpayer.context import bearer_credential, fhir_base_url, payer, plan_for
from mockpayer.plans import Plan
from mockpayer.resources import ResourceSet, StoredResource

blueprint = Blueprint("r4", __name__)

FHIR_JSON = "application/fhir+json"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
EVERYTHING_MAX_COUNT = 1000


class FhirError(Exception):
    """An error answered as an OperationOutcome with this status (and headers such as WWW-Authenticate)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def fhir_response(body: bytes | str, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(body, status=status, mimetype=FHIR_JSON, headers=headers)
    response.charset = "utf-8"
    return response


def outcome_response(status: int, message: str, headers: dict | None = None) -> Response:
    return fhir_response(orjson.dumps(outcome_for_status(status, message)), status, headers)


@blueprint.errorhandler(FhirError)
@blueprint.errorhandler(faults.InjectedFault)
def _fhir_error(error: FhirError | faults.InjectedFault):
    return outcome_response(error.status, error.message, error.headers)


@blueprint.before_request
def negotiate():
    """406 for anything but JSON (XML included); writes are 405. A stray Content-Type on a GET is ignored."""
    if request.method not in ("GET", "HEAD"):
        raise FhirError(405, f"This API is read-only; {request.method} is not supported.", {"Allow": "GET, HEAD"})
    requested_format = request.args.get("_format", "json").lower()
    if "xml" in requested_format or requested_format not in ("json", "application/json", FHIR_JSON, "application/json+fhir"):
        raise FhirError(406, "Only JSON is served (application/fhir+json).")
    if request.headers.get("Accept") and request.accept_mimetypes.best_match(
            [FHIR_JSON, "application/json", "application/json+fhir"]) is None:
        raise FhirError(406, "Only JSON is served (application/fhir+json).")


# ---- member API -------------------------------------------------------------------------------------


@blueprint.route("/<system_id>/r4/<resource_type>", methods=ALL_METHODS)
@blueprint.route("/r4/<resource_type>", methods=ALL_METHODS)
@faults.injected
def member_search(resource_type: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, resource_type)
    return _search(plan, resource_type, view, fhir_base_url(plan))


@blueprint.route("/<system_id>/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
@blueprint.route("/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
@faults.injected
def member_read(resource_type: str, resource_id: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, resource_type)
    return _read(view, resource_type, resource_id)


@blueprint.route("/<system_id>/r4/Patient/<patient_id>/$everything", methods=ALL_METHODS)
@blueprint.route("/r4/Patient/<patient_id>/$everything", methods=ALL_METHODS)
@faults.injected
def member_everything(patient_id: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, "Patient")
    if patient_id != token.patient_id:
        raise FhirError(404, f"Patient/{patient_id} is not known.")
    return _everything(plan, token, view, fhir_base_url(plan))


class _MemberView:
    """What one token may see of the plan's member data."""

    def __init__(self, data: ResourceSet, token: TokenRecord):
        self.data = data
        self.token = token
        self.keys = data.readable_by(token.patient_id)

    def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        if (resource_type, resource_id) not in self.keys or not allows_read(self.token.scope, resource_type):
            return None
        return self.data.get(resource_type, resource_id)

    def of_type(self, resource_type: str) -> list[StoredResource]:
        return [self.data.resources[key] for key in self.keys if key[0] == resource_type]


def _member_view(system_id: str | None, resource_type: str) -> tuple[Plan, TokenRecord, _MemberView]:
    plan = plan_for(system_id)
    token = _bearer_token(plan)
    _check_type(resource_type, payer().resources[plan.system_id].data)
    if not allows_read(token.scope, resource_type):
        raise FhirError(403, f"The token's scope does not allow reading {resource_type}.",
                        {"WWW-Authenticate": f'Bearer realm="{plan.system_id}", error="insufficient_scope"'})
    return plan, token, _MemberView(payer().resources[plan.system_id].data, token)


def _bearer_token(plan: Plan) -> TokenRecord:
    """BR-1: no token, 401 without an error code; BR-2: a bad, expired or revoked one, `invalid_token`;
    BR-5: a token another plan issued is bad here."""
    credential = bearer_credential()
    realm = f'Bearer realm="{plan.system_id}"'
    if credential is None:
        raise FhirError(401, "This API needs an access token (Authorization: Bearer).", {"WWW-Authenticate": realm})
    record = payer().ledger.active_access_token(credential)
    if record is None or record.system_id != plan.system_id:
        raise FhirError(401, "The access token is invalid, expired or revoked.",
                        {"WWW-Authenticate": f'{realm}, error="invalid_token"'})
    return record


# ---- public directory -------------------------------------------------------------------------------


@blueprint.route("/<system_id>/directory/r4/<resource_type>", methods=ALL_METHODS)
def directory_search(system_id: str, resource_type: str):
    plan = plan_for(system_id)
    directory = payer().resources[plan.system_id].directory
    _check_type(resource_type, directory)
    return _search(plan, resource_type, directory, directory_base_url(plan))


@blueprint.route("/<system_id>/directory/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
def directory_read(system_id: str, resource_type: str, resource_id: str):
    plan = plan_for(system_id)
    directory = payer().resources[plan.system_id].directory
    _check_type(resource_type, directory)
    return _read(directory, resource_type, resource_id)


def directory_base_url(plan: Plan) -> str:
    return f"{request.host_url}{plan.system_id}/directory/r4"


# ---- shared answers ---------------------------------------------------------------------------------


def _check_type(resource_type: str, served: ResourceSet) -> None:
    if not is_resource_type(resource_type) and resource_type not in served.types():
        raise FhirError(404, f"Unknown resource type {resource_type[:64]!r}.")


def _read(view, resource_type: str, resource_id: str) -> Response:
    if not is_valid_id(resource_id):
        raise FhirError(400, "The id is not a valid FHIR id ([A-Za-z0-9-.]{1,64}).")
    stored = view.get(resource_type, resource_id)
    if stored is None:
        raise FhirError(404, f"{resource_type}/{resource_id} is not known.")
    headers = {}
    meta = stored.resource.get("meta") or {}
    if isinstance(meta.get("versionId"), str):
        headers["ETag"] = f'W/"{meta["versionId"]}"'
    last_updated = element_range(meta.get("lastUpdated"))
    if last_updated is not None:
        headers["Last-Modified"] = last_updated.start.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return fhir_response(stored.text, headers=headers)


def _search(plan: Plan, resource_type: str, view, base_url: str) -> Response:
    strict = "handling=strict" in (request.headers.get("Prefer") or "").replace(" ", "")
    try:
        search = parse_search(resource_type, request.args.items(multi=True), default_count=plan.paging.default_count,
                              max_count=plan.paging.max_count, strict=strict)
        body = answer_search(search, view.of_type(resource_type), base_url=base_url, resolve=view.get)
    except SearchError as error:
        raise FhirError(400, str(error)) from None
    return fhir_response(body)


def _everything(plan: Plan, token: TokenRecord, view: _MemberView, base_url: str) -> Response:
    """`Patient/{id}/$everything` with `_type`, `_since` and `_count`, paged like a search."""
    types = [t for t in (request.args.get("_type") or "").split(",") if t]
    since_text = request.args.get("_since")
    count_text = request.args.get("_count")
    self_params = [(name, value) for name, value in (("_type", ",".join(types)), ("_since", since_text),
                                                     ("_count", count_text)) if value]
    try:
        since = date_range(since_text).start if since_text else None
        count = min(int(count_text), EVERYTHING_MAX_COUNT) if count_text else plan.paging.default_count
        if count < 0:
            raise ValueError
        offset = page_offset(request.args.get("_page_token"), self_params)
    except (FhirDateError, ValueError, SearchError) as error:
        raise FhirError(400, f"Bad $everything parameter: {error}" if str(error) else "Bad $everything parameter.")
    held = [
        view.data.resources[key] for key in sorted(view.keys)
        if (not types or key[0] in types) and allows_read(token.scope, key[0])
        and _changed_since(view.data.resources[key], since)
    ]
    links = page_links(f"{base_url}/Patient/{token.patient_id}/$everything", self_params, offset, count, len(held))
    return fhir_response(page_bundle(held[offset:offset + count], total=len(held), links=links, base_url=base_url))


def _changed_since(stored: StoredResource, since: datetime | None) -> bool:
    if since is None:
        return True
    last_updated = element_range((stored.resource.get("meta") or {}).get("lastUpdated"))
    return last_updated is not None and last_updated.start >= since

