"""`/oauth2/token`, `/oauth2/revoke` and `/oauth2/introspect`, each also under a plan's path prefix.

A Blue Button plan's are at its own paths: mockpayer/bluebutton/oauth.py.

On a bare host (no plan prefix, no plan host name) the plan is found from what the request carries: the
code, refresh token or token it presents, else its client id. Errors are RFC 6749 JSON (TK-6).
"""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Blueprint, jsonify, request

from mockpayer import faults
from mockpayer.auth.parameters import (
    ALLOWED, TOKEN_PARAMETERS, check_basic_credentials, check_in_body, check_parameters, check_sent_once,
)
from mockpayer.context import payer, plan_for
from mockpayer.plans import Plan

blueprint = Blueprint("token", __name__)

ENDPOINTS = {"token": None, "revoke": "revocation", "introspect": "introspection"}


def oauth_error(status: int, error: str, description: str, headers: dict | None = None):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})})
    return response


@blueprint.errorhandler(faults.InjectedFault)
def injected_fault(fault: faults.InjectedFault):
    return oauth_error(fault.status, fault.oauth_error, fault.message, fault.headers)


@blueprint.route("/oauth2/<any(token, revoke, introspect):endpoint>", methods=["GET", "POST"])
@blueprint.route("/<system_id>/oauth2/<any(token, revoke, introspect):endpoint>", methods=["GET", "POST"])
def token_endpoint(endpoint: str, system_id: str | None = None):
    return answer(endpoint, lambda: plan_for(system_id) if system_id else _plan_from_request())


def answer(endpoint: str, find_plan: Callable[[], Plan | None], allowed: dict = ALLOWED):
    """So that the token, revoke and introspect endpoints answer at every path their shapes use.

    `endpoint` (token, revoke or introspect) of the plan `find_plan` names once the request is well formed,
    at whichever path its family of shapes puts the endpoint; `allowed`: the characters each parameter may hold."""
    if request.method != "POST":
        return oauth_error(405, "invalid_request", f"The {endpoint} endpoint accepts only POST.", {"Allow": "POST"})
    try:
        check_in_body(request.args, TOKEN_PARAMETERS)
        check_parameters(request.values, TOKEN_PARAMETERS, allowed)
        check_sent_once(request.values, TOKEN_PARAMETERS)
        check_basic_credentials(request.headers)
    except OAuth2Error as error:
        return oauth_error(400, error.error, error.description)
    plan = find_plan()
    if plan is None:
        uses_basic = bool(extract_basic_authorization(request.headers)[0])
        return oauth_error(401, "invalid_client", "The client does not exist on this server.",
                           {"WWW-Authenticate": 'Basic realm="mockpayer"'} if uses_basic else None)
    server = payer().auth_servers[plan.system_id]
    if ENDPOINTS[endpoint] is None:
        faults.check_token_request(plan)
        return server.create_token_response()
    return server.create_endpoint_response(ENDPOINTS[endpoint])


def _plan_from_request() -> Plan | None:
    """The plan of a request to `/oauth2/...` on a bare host; never a Blue Button plan, whose endpoints are its own."""
    context = payer()
    by_host = context.plan_for_host(request.host)
    if by_host is not None:
        return plan_for(None)
    form = request.form
    system_id = context.ledger.system_id_of(
        code=form.get("code"), refresh_token=form.get("refresh_token"), token=form.get("token")
    )
    if system_id is not None:
        plan = context.plans[system_id]
        return None if plan.is_bluebutton else plan
    client_id = form.get("client_id") or extract_basic_authorization(request.headers)[0]
    owners = [plan for plan in context.plans.values() if client_id in plan.clients and not plan.is_bluebutton]
    return owners[0] if len(owners) == 1 else None
