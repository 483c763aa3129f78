"""The plan's FHIR R4 API: a member's records behind their token, and the public directory without one.

Member API at `/{system-id}/r4` (and `/r4` on `api.<base_url>`): read, search and `Patient/$everything`,
limited to the token's member (their compartment plus the Organizations and Practitioners their records
name; anything else is 404 so that ids of other members cannot be probed) and to the token's scopes
(scopes.py): a type the token may not read (`r`) or search (`s`) is 403 `insufficient_scope` (RFC 6750
§3.1), and within a type a SMART v2 granular scope shows only what its query matches, a resource outside it
being as unknown as another member's. A read needs `r`; a search needs `s`, and its `_include`s, being reads
by reference, show what `r` reaches; `$everything` shows what `s` reaches, type by type. The public
directory (Plan-Net, formulary) at `/{system-id}/directory/r4` needs no token.
Every error is an OperationOutcome; every body is `application/fhir+json`, with the resource text exactly
as the fixture wrote it. Search (`[type]/_search`) and `$everything` take POST too, as FHIR allows.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from mirror.fhir.everything import answer_everything, parse_everything
from mirror.fhir.scopes import READ, SEARCH, ScopeAccess
from mirror.fhir.search import SearchError, parse_search
from mirror.fhir.searchset import answer_found
from mirror.http.fhir_flask import (
    ALL_METHODS,
    FhirError,
    bearer_credential,
    fhir_error_response,
    fhir_response,
    negotiate,
    operation_parameters,
    prefers_strict_handling,
    require_known_type,
    require_valid_id,
    resource_response,
    search_parameters,
)
from mockpayer import faults
from mockpayer.auth.ledger import TokenRecord
from mockpayer.context import fhir_base_url, payer, plan_for
from mockpayer.indexed import found_by_index
from mockpayer.plans import Plan
from mockpayer.resources import ResourceSet, StoredResource

blueprint = Blueprint("r4", __name__)
blueprint.register_error_handler(FhirError, fhir_error_response)
blueprint.register_error_handler(faults.InjectedFault, fhir_error_response)
blueprint.before_request(negotiate)

EVERYTHING_MAX_COUNT = 1000


# ---- member API -------------------------------------------------------------------------------------


@blueprint.route("/<system_id>/r4/<resource_type>", methods=ALL_METHODS)
@blueprint.route("/r4/<resource_type>", methods=ALL_METHODS)
@blueprint.route("/<system_id>/r4/<resource_type>/_search", methods=ALL_METHODS)
@blueprint.route("/r4/<resource_type>/_search", methods=ALL_METHODS)
@faults.injected
def member_search(resource_type: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, resource_type, SEARCH)
    return _search(plan, resource_type, view, fhir_base_url(plan))


@blueprint.route("/<system_id>/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
@blueprint.route("/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
@faults.injected
def member_read(resource_type: str, resource_id: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, resource_type, READ)
    return _read(view, resource_type, resource_id)


@blueprint.route("/<system_id>/r4/Patient/<patient_id>/$everything", methods=ALL_METHODS)
@blueprint.route("/r4/Patient/<patient_id>/$everything", methods=ALL_METHODS)
@faults.injected
def member_everything(patient_id: str, system_id: str | None = None):
    plan, token, view = _member_view(system_id, "Patient", SEARCH, any_type=True)
    if patient_id != token.patient_id:
        raise FhirError(404, f"Patient/{patient_id} is not known.")
    return _everything(plan, token, view, fhir_base_url(plan))


class _MemberView:
    """What one token may see of the plan's member data: its member's records, as far as its scopes reach."""

    def __init__(self, data: ResourceSet, token: TokenRecord):
        self.data = data
        self.token = token
        self.access = ScopeAccess(token.scope)
        self.keys = data.readable_by(token.patient_id)

    def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """A read by id, or by reference (`_include`): what the `r` scopes reach."""
        if (resource_type, resource_id) not in self.keys:
            return None
        stored = self.data.get(resource_type, resource_id)
        if stored is None or self.access.allows_whole_type(READ, resource_type):
            return stored
        return stored if self.access.permits(READ, stored.resource) else None

    def of_type(self, resource_type: str) -> tuple[StoredResource, ...]:
        """What a search of the type may match: what the `s` scopes reach, in id order."""
        return self._searchable(resource_type, self.data.readable_by_type(self.token.patient_id).get(resource_type, ()))

    def by_type(self) -> dict[str, tuple[StoredResource, ...]]:
        """What the `s` scopes reach, type by type, each type's in id order, as `$everything` pages them."""
        readable = self.data.readable_by_type(self.token.patient_id)
        return {resource_type: self._searchable(resource_type, held) for resource_type, held in readable.items()
                if self.access.allows(SEARCH, resource_type)}

    def _searchable(self, resource_type: str, held: tuple[StoredResource, ...]) -> tuple[StoredResource, ...]:
        if self.access.allows_whole_type(SEARCH, resource_type):
            return held
        return tuple(stored for stored in held if self.access.permits(SEARCH, stored.resource))


_ACTIONS = {READ: "reading", SEARCH: "searching"}


def _member_view(
    system_id: str | None, resource_type: str, permission: str, *, any_type: bool = False
) -> tuple[Plan, TokenRecord, _MemberView]:
    """The token's view, once its scopes allow `permission` (`r` or `s`) on the type (`any_type`: on some type)."""
    plan = plan_for(system_id)
    token = _bearer_token(plan)
    require_known_type(resource_type, payer().resources[plan.system_id].data.types())
    view = _MemberView(payer().resources[plan.system_id].data, token)
    if not view.access.allows(permission, None if any_type else resource_type):
        what = "any records" if any_type else resource_type
        raise FhirError(403, f"The token's scope does not allow {_ACTIONS[permission]} {what}.",
                        {"WWW-Authenticate": f'Bearer realm="{plan.system_id}", error="insufficient_scope"'})
    return plan, token, view


def _bearer_token(plan: Plan) -> TokenRecord:
    """So that the FHIR API answers a bad or missing bearer token as RFC 6750 asks (BR-1, BR-2, BR-5).

    BR-1: no token, 401 without an error code; BR-2: a bad, expired or revoked one, `invalid_token`;
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
@blueprint.route("/<system_id>/directory/r4/<resource_type>/_search", methods=ALL_METHODS)
def directory_search(system_id: str, resource_type: str):
    plan = plan_for(system_id)
    directory = payer().resources[plan.system_id].directory
    require_known_type(resource_type, directory.types())
    return _search(plan, resource_type, directory, directory_base_url(plan))


@blueprint.route("/<system_id>/directory/r4/<resource_type>/<resource_id>", methods=ALL_METHODS)
def directory_read(system_id: str, resource_type: str, resource_id: str):
    plan = plan_for(system_id)
    directory = payer().resources[plan.system_id].directory
    require_known_type(resource_type, directory.types())
    return _read(directory, resource_type, resource_id)


def directory_base_url(plan: Plan) -> str:
    return f"{request.host_url}{plan.system_id}/directory/r4"


# ---- shared answers ---------------------------------------------------------------------------------


def _read(view, resource_type: str, resource_id: str) -> Response:
    require_valid_id(resource_id)
    stored = view.get(resource_type, resource_id)
    if stored is None:
        raise FhirError(404, f"{resource_type}/{resource_id} is not known.")
    version = (stored.indexed.get("meta") or {}).get("versionId")
    return resource_response(stored.text, etag=version if isinstance(version, str) else None, weak=True,
                             last_modified=stored.last_updated)


def _search(plan: Plan, resource_type: str, view, base_url: str) -> Response:
    try:
        search = parse_search(resource_type, search_parameters(), default_count=plan.paging.default_count,
                              max_count=plan.paging.max_count, strict=prefers_strict_handling())
        body = answer_found(search, found_by_index(search, view.of_type(resource_type)), base_url=base_url,
                            resolve=view.get)
    except SearchError as error:
        raise FhirError(400, str(error)) from None
    return fhir_response(body)


def _everything(plan: Plan, token: TokenRecord, view: _MemberView, base_url: str) -> Response:
    """`Patient/{id}/$everything` with `_type`, `_since` and `_count`, paged like a search."""
    try:
        everything = parse_everything(operation_parameters(), default_count=plan.paging.default_count,
                                      max_count=EVERYTHING_MAX_COUNT)
        body = answer_everything(everything, view.by_type(), base_url=base_url, patient_id=token.patient_id,
                                 changed_at=lambda stored: stored.last_updated)
    except SearchError as error:
        raise FhirError(400, f"Bad $everything parameter: {error}") from None
    return fhir_response(body)
