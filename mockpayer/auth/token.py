"""`/oauth2/token`, `/oauth2/revoke` and `/oauth2/introspect`, each also under a plan's path prefix.

On a bare host (no plan prefix, no plan host name) the plan is found from what the request carries: the
code, refresh token or token it presents, else its client id. Errors are RFC 6749 JSON (TK-6).
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Blueprint, jsonify, request

from mockpayer import faults
from mockpayer.auth.parameters import TOKEN_PARAMETERS, check_basic_credentials, check_parameters, check_sent_once
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
def _injected_fault(fault: faults.InjectedFault):
    return oauth_error(fault.status, fault.oauth_error, fault.message, fault.headers)


@blueprint.route("/oauth2/<any(token, revoke, introspect):endpoint>", methods=["GET", "POST"])
@blueprint.route("/<system_id>/oauth2/<any(token, revoke, introspect):endpoint>", methods=["GET", "POST"])
def token_endpoint(endpoint: str, system_id: str | None = None):
    if request.method != "POST":
        return oauth_error(405, "invalid_request", f"The {endpoint} endpoint accepts only POST.", {"Allow": "POST"})
    try:
        check_parameters(request.values, TOKEN_PARAMETERS)
        check_sent_once(request.values, TOKEN_PARAMETERS)
        check_basic_credentials(request.headers)
    except OAuth2Error as error:
        return oauth_error(400, error.error, error.description)
    plan = plan_for(system_id) if system_id else _plan_from_request()
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
    context = payer()
    by_host = context.plan_for_host(request.host)
    if by_host is not None:
        return by_host
    form = request.form
    system_id = context.ledger.system_id_of(
        code=form.get("code"), refresh_token=form.get("refresh_token"), token=form.get("token")
    )
    if system_id is not None:
        return context.plans[system_id]
    client_id = form.get("client_id") or extract_basic_authorization(request.headers)[0]
    owners = [plan for plan in context.plans.values() if client_id in plan.clients]
    return owners[0] if len(owners) == 1 else None
