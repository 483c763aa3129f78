"""How an app finds a plan from its FHIR base alone: SMART's `.well-known/smart-configuration` (DS-1)
and the CapabilityStatement at `metadata` (DS-2), whose `oauth-uris` extension is the only place
fhirclient looks for the endpoints.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from datetime import datetime, timezone

from mirror.fhir.capability import SmartEndpoints, capability_statement
from mockpayer.context import auth_endpoints, fhir_base_url, payer, plan_for
from mockpayer.plans import Plan

blueprint = Blueprint("discovery", __name__)

SMART_CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-offline",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
]
SCOPES_SUPPORTED = [
    "patient/*.read", "patient/*.rs", "user/*.read", "user/*.rs", "launch/patient",
    "openid", "fhirUser", "offline_access", "online_access",
]


def smart_configuration(plan: Plan) -> dict:
    return {
        **auth_endpoints(plan),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token"] if plan.tokens.refresh else ["authorization_code"],
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES_SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": SMART_CAPABILITIES,
    }


@blueprint.route("/<system_id>/r4/.well-known/smart-configuration")
@blueprint.route("/r4/.well-known/smart-configuration")
def well_known(system_id: str | None = None):
    response = jsonify(smart_configuration(plan_for(system_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/<system_id>/r4/metadata")
@blueprint.route("/r4/metadata")
def metadata(system_id: str | None = None):
    plan = plan_for(system_id)
    endpoints = auth_endpoints(plan)
    now = datetime.fromtimestamp(payer().clock.now(), timezone.utc)
    statement = capability_statement(
        base_url=fhir_base_url(plan),
        date=now.isoformat(timespec="seconds"),
        resource_types=[],
        description=f"{plan.name} (payer-mirror mock payer, {plan.mode} mode)",
        software_name="payer-mirror mockpayer",
        smart=SmartEndpoints(
            authorize=endpoints["authorization_endpoint"],
            token=endpoints["token_endpoint"],
            revoke=endpoints["revocation_endpoint"],
            introspect=endpoints["introspection_endpoint"],
        ),
    )
    response = jsonify(statement)
    response.mimetype = "application/fhir+json"
    return response
