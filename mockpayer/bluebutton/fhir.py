"""Blue Button's FHIR API: Patient, Coverage and ExplanationOfBenefit, for the token's beneficiary only.

`/v2/fhir/Patient`, `Coverage` and `ExplanationOfBenefit`, read by id and searched.

A search is always of the beneficiary's own records, as Blue Button binds it (`patient`, `beneficiary` or `_id`
set to theirs; naming someone else is 403), paged by `startIndex` and `_count` (paging.py) with the parameters
query.py reads. Every answer is JSON: the resource text exactly as the plan holds it, or a searchset Bundle
whose entries carry the resources (no `fullUrl`, as Blue Button writes them). A record of another beneficiary is
as unknown as one that does not exist (404), so ids cannot be probed. Errors are Blue Button's (errors.py). QA
faults act on every read and search, as on the other plans' member APIs (faults.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import Blueprint, Response, request

from mirror.fhir.bundles import bundle_json
from mirror.fhir.ids import is_valid_id
from mirror.http.fhir_flask import FHIR_JSON, JSON_TYPES
from mockpayer.auth.ledger import TokenRecord
from mockpayer.faults import InjectedFault
from mockpayer.bluebutton import faults, paging, query
from mockpayer.bluebutton.access import bearer_token, require_resource_scope
from mockpayer.bluebutton.errors import FORBIDDEN, NOT_ACCEPTABLE, NOT_FOUND, BlueButtonError, error_response
from mockpayer.bluebutton.scopes import RESOURCE_TYPES
from mockpayer.bluebutton.urls import fhir_base, route
from mockpayer.context import payer, plan_for
from mockpayer.plans import Plan
from mockpayer.resources import StoredResource

blueprint = Blueprint("bluebutton_fhir", __name__)
blueprint.register_error_handler(BlueButtonError, error_response)
blueprint.register_error_handler(InjectedFault, faults.refusal)

# What a search sets to the beneficiary's own id, and how (Blue Button's own searches of its data server).
BINDING = {"Patient": ("_id", "{}"), "Coverage": ("beneficiary", "Patient/{}"),
           "ExplanationOfBenefit": ("patient", "{}")}
ACCEPTED = frozenset({*JSON_TYPES, "*/*"})


@route(blueprint, "/v2/fhir/<resource_type>")
@faults.injected
def search(resource_type: str, system_id: str | None = None):
    plan, token = _member(system_id, resource_type, search=True)
    binding, form = BINDING[resource_type]
    own = form.format(token.patient_id)
    if not _names_only_theirs(resource_type, token.patient_id):
        raise BlueButtonError(403, FORBIDDEN)
    asked = query.parse_query(resource_type, request.args.items(multi=True))
    found = [stored for stored in _held(plan, token, resource_type) if query.selects(asked, stored.indexed)]
    page = found[asked.start_index:asked.start_index + asked.count]
    links = paging.page_links(f"{fhir_base(system_id)}/{resource_type}",
                              [("_format", "application/json+fhir"), *asked.criteria, (binding, own)],
                              asked.start_index, asked.count, len(found))
    envelope = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _instant(payer().clock.now())},
        "type": "searchset",
        "total": len(found),
        "link": [*links, {"relation": "self", "url": request.url}],
        "entry": [{} for _ in page],
    }
    return _json(bundle_json(envelope, [stored.text for stored in page]))


@route(blueprint, "/v2/fhir/<resource_type>/<resource_id>")
@faults.injected
def read(resource_type: str, resource_id: str, system_id: str | None = None):
    plan, token = _member(system_id, resource_type, search=False)
    data = payer().resources[plan.system_id].data
    key = (resource_type, resource_id)
    if not is_valid_id(resource_id) or key not in data.readable_by(token.patient_id):
        raise BlueButtonError(404, NOT_FOUND)
    return _json(data.resources[key].text)


def _member(system_id: str | None, resource_type: str, *, search: bool) -> tuple[Plan, TokenRecord]:
    """So that requests are checked in the order Blue Button checks them.

    The plan and token of a request its token may make, checked in Blue Button's order: format, token, type,
    scope."""
    plan = plan_for(system_id, bluebutton=True)
    if not _accepts_json():
        raise BlueButtonError(406, NOT_ACCEPTABLE)
    token = bearer_token(plan)
    if resource_type not in RESOURCE_TYPES:
        raise BlueButtonError(404, f"The requested resource type, {resource_type[:64]}, is not supported")
    require_resource_scope(token, resource_type, search=search)
    return plan, token


def _names_only_theirs(resource_type: str, patient_id: str) -> bool:
    """A search may name the beneficiary (`patient=`, `beneficiary=`), never another one."""
    if resource_type == "ExplanationOfBenefit":
        return all(named == patient_id for named in request.args.getlist("patient"))
    if resource_type == "Coverage":
        return all(patient_id in named for named in request.args.getlist("beneficiary"))
    return True


def _held(plan: Plan, token: TokenRecord, resource_type: str) -> tuple[StoredResource, ...]:
    """The beneficiary's records of the type, in id order."""
    return payer().resources[plan.system_id].data.readable_by_type(token.patient_id).get(resource_type, ())


def _accepts_json() -> bool:
    accept = request.headers.get("Accept")
    return not accept or accept in ACCEPTED or request.accept_mimetypes.best_match(JSON_TYPES) is not None


def _json(body: bytes | str) -> Response:
    """JSON as Blue Button answers it: `application/fhir+json` to an app that asks for it, else `application/json`."""
    wanted = FHIR_JSON if request.accept_mimetypes.best == FHIR_JSON else "application/json"
    return Response(body, content_type=wanted)


def _instant(seconds: float) -> str:
    """A FHIR instant with milliseconds and a numeric zone, as BFD writes `meta.lastUpdated`."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
