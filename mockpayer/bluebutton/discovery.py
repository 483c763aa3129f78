"""How an app finds a Blue Button plan from its FHIR base (`/v2/fhir`).

`.well-known/smart-configuration` with the keys Blue Button's has (DS-1), and the CapabilityStatement at `metadata`
with SMART's `oauth-uris` extension (DS-2), listing the three types it serves and the search parameters query.py
reads; and, as Blue Button has it beside them, `/v2/connect/.well-known/openid-configuration`, the one document that
names its userinfo endpoint and its `fhir_metadata_uri` (its SMART configuration leaves both out, and so does the
mock's).

All need no token and follow the host and prefix the app used (urls.py). Where Blue Button's own documents
say less than the mock does (refresh tokens, public clients), the mock's say what the mock does.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify

from mirror.fhir.capability import SmartEndpoints, capability_statement
from mockpayer.bluebutton.errors import BlueButtonError, error_response
from mockpayer.bluebutton.scopes import RESOURCE_TYPES, SCOPES_SUPPORTED
from mockpayer.bluebutton.urls import fhir_base, v2_root
from mockpayer.context import payer, plan_for
from mockpayer.plans import Plan

blueprint = Blueprint("bluebutton_discovery", __name__)
blueprint.register_error_handler(BlueButtonError, error_response)

CAPABILITIES = ["launch-standalone", "client-confidential-symmetric", "context-standalone-patient",
                "permission-offline", "permission-patient", "permission-v1", "permission-v2"]
SEARCH_PARAMETERS = {
    "Patient": [("_id", "token"), ("_lastUpdated", "date")],
    "Coverage": [("beneficiary", "reference"), ("_lastUpdated", "date")],
    "ExplanationOfBenefit": [("patient", "reference"), ("type", "token"), ("service-date", "date"),
                             ("_lastUpdated", "date"), ("excludeSAMHSA", "token")],
}
PAGING_PARAMETERS = [("startIndex", "number"), ("_count", "number")]


def endpoints(system_id: str | None) -> dict[str, str]:
    """So that the mock's OAuth endpoints are spelt as Blue Button publishes them.

    The OAuth endpoints, spelt as Blue Button publishes them (the token endpoint with its trailing slash), the
    authorization endpoint as its documentation writes it (with the slash; both forms answer)."""
    root = v2_root(system_id)
    return {"authorization_endpoint": f"{root}/o/authorize/", "revocation_endpoint": f"{root}/o/revoke_token",
            "token_endpoint": f"{root}/o/token/", "introspection_endpoint": f"{root}/o/introspect/",
            "userinfo_endpoint": f"{root}/connect/userinfo"}


@blueprint.route("/v2/fhir/.well-known/smart-configuration")
@blueprint.route("/<system_id>/v2/fhir/.well-known/smart-configuration")
def smart_configuration(system_id: str | None = None):
    plan = plan_for(system_id, bluebutton=True)
    urls = endpoints(system_id)
    document = {
        **{key: urls[key] for key in ("authorization_endpoint", "revocation_endpoint", "token_endpoint")},
        "grant_types_supported": _grant_types(plan),
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES_SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES + (["client-public"] if _has_public_client(plan) else []),
    }
    return _uncached(document)


@blueprint.route("/v2/connect/.well-known/openid-configuration")
@blueprint.route("/<system_id>/v2/connect/.well-known/openid-configuration")
def openid_configuration(system_id: str | None = None):
    """So that an app reads the mock's OpenID configuration as Blue Button writes it.

    Where Blue Button publishes its userinfo endpoint and its FHIR metadata (`fhir_metadata_uri`): the issuer
    is the host (under a plan's prefix, the prefix), as Blue Button writes it; the grant and response types are
    the mock's (Blue Button's also list the implicit `token`, which neither it nor the mock issues to apps)."""
    plan = plan_for(system_id, bluebutton=True)
    urls = endpoints(system_id)
    document = {
        "issuer": v2_root(system_id).removesuffix("/v2"),
        **{key: urls[key] for key in ("authorization_endpoint", "revocation_endpoint", "token_endpoint",
                                      "userinfo_endpoint")},
        "grant_types_supported": _grant_types(plan),
        "response_types_supported": ["code"],
        "fhir_metadata_uri": f"{fhir_base(system_id)}/metadata",
    }
    return _uncached(document)


@blueprint.route("/v2/fhir/metadata")
@blueprint.route("/<system_id>/v2/fhir/metadata")
def metadata(system_id: str | None = None):
    plan = plan_for(system_id, bluebutton=True)
    urls = endpoints(system_id)
    served = payer().resources[plan.system_id].data
    statement = capability_statement(
        base_url=fhir_base(system_id),
        date=datetime.fromtimestamp(payer().clock.now(), timezone.utc).isoformat(timespec="seconds"),
        resource_types=[resource_type for resource_type in RESOURCE_TYPES if resource_type in served.types()],
        description=f"{plan.name} (payer-mirror mock payer, bluebutton mode)",
        software_name="payer-mirror mockpayer",
        profiles=served.profiles_by_type(),
        smart=SmartEndpoints(authorize=urls["authorization_endpoint"], token=urls["token_endpoint"],
                             revoke=urls["revocation_endpoint"], introspect=urls["introspection_endpoint"]),
    )
    for entry in statement["rest"][0]["resource"]:
        entry.pop("searchInclude", None)
        entry["searchParam"] = [{"name": name, "type": kind}
                                for name, kind in SEARCH_PARAMETERS[entry["type"]] + PAGING_PARAMETERS]
    return _uncached(statement)


def _grant_types(plan: Plan) -> list[str]:
    return ["authorization_code", "refresh_token"] if plan.tokens.refresh else ["authorization_code"]


def _has_public_client(plan: Plan) -> bool:
    return any(client.is_public for client in plan.clients.values())


def _uncached(document: dict):
    """Never cached: the URLs follow the host the app used."""
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response
