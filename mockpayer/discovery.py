"""How an app finds a plan from its FHIR base alone.

SMART's `.well-known/smart-configuration` (DS-1) and the CapabilityStatement at `metadata` (DS-2), whose
`oauth-uris` extension is the only place fhirclient looks for the endpoints.

The FHIR base is also the OpenID Connect issuer (SMART App Launch), so `{issuer}/.well-known/openid-configuration`
and the key set that verifies id_tokens, `{issuer}/.well-known/jwks.json`, live beside smart-configuration.
"""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
from flask import Blueprint, jsonify

from mirror.fhir.capability import SmartEndpoints, capability_statement
from mirror.http.fhir_flask import FhirError, fhir_error_response, fhir_response, negotiate
from mockpayer.auth.id_token import SIGNING_ALG, public_key_set
from mockpayer.context import auth_endpoints, fhir_base_url, payer, plan_for
from mockpayer.plans import Plan
from mockpayer.r4 import directory_base_url
from mockpayer.resources import ResourceSet

blueprint = Blueprint("discovery", __name__)
blueprint.register_error_handler(FhirError, fhir_error_response)  # metadata negotiates like the API

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
    "sso-openid-connect",
]
SCOPES_SUPPORTED = [
    "patient/*.read", "patient/*.rs", "user/*.read", "user/*.rs", "launch/patient",
    "openid", "fhirUser", "profile", "offline_access", "online_access",
]
CLAIMS_SUPPORTED = [
    "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "fhirUser", "name", "preferred_username",
]


def smart_configuration(plan: Plan) -> dict:
    return {
        "issuer": fhir_base_url(plan),
        "jwks_uri": f"{fhir_base_url(plan)}/.well-known/jwks.json",
        **auth_endpoints(plan),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token"] if plan.tokens.refresh else ["authorization_code"],
        "response_types_supported": ["code"],
        "scopes_supported": SCOPES_SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "capabilities": SMART_CAPABILITIES,
    }


def openid_configuration(plan: Plan) -> dict:
    """So that OpenID Connect apps discover the mock's issuer and endpoints (OIDC Discovery §3).

    OpenID Connect Discovery 1.0 §3: smart-configuration's issuer and endpoints, and what an OpenID provider
    must say besides; `issuer` equals the id_token's `iss` exactly (§4.3)."""
    endpoints = {key: value for key, value in smart_configuration(plan).items() if key != "capabilities"}
    return {
        **endpoints,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALG],
        "claims_supported": CLAIMS_SUPPORTED,
    }


@blueprint.route("/<system_id>/r4/.well-known/smart-configuration")
@blueprint.route("/r4/.well-known/smart-configuration")
def well_known(system_id: str | None = None):
    return _document(smart_configuration(plan_for(system_id)))


@blueprint.route("/<system_id>/r4/.well-known/openid-configuration")
@blueprint.route("/r4/.well-known/openid-configuration")
def openid_well_known(system_id: str | None = None):
    return _document(openid_configuration(plan_for(system_id)))


@blueprint.route("/<system_id>/r4/.well-known/jwks.json")
@blueprint.route("/r4/.well-known/jwks.json")
def jwks(system_id: str | None = None):
    """The public half of the key that signs this plan's id_tokens (RFC 7517 §5)."""
    plan = plan_for(system_id)
    return _document(public_key_set(payer().auth_servers[plan.system_id].signing_key.get()))


def _document(document: dict):
    """Never cached: a mock's key changes when it restarts, and its URLs follow the host the app used."""
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response


INSTANTIATES = {
    "ExplanationOfBenefit": "http://hl7.org/fhir/us/carin-bb/CapabilityStatement/c4bb",
    "Condition": "http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server",
    "InsurancePlan": "http://hl7.org/fhir/us/davinci-pdex-plan-net/CapabilityStatement/plan-net",
    "MedicationKnowledge": "http://hl7.org/fhir/us/davinci-drug-formulary/CapabilityStatement/usdf-server",
}


@blueprint.route("/<system_id>/r4/metadata")
@blueprint.route("/r4/metadata")
def metadata(system_id: str | None = None):
    """So that apps discover what this member API serves (DS-2).

    DS-2: the types this member API serves, their search parameters and profiles, `$everything`, and
    the SMART endpoints; `instantiates` names the IGs whose data the plan holds."""
    negotiate()
    plan = plan_for(system_id)
    endpoints = auth_endpoints(plan)
    smart = SmartEndpoints(
        authorize=endpoints["authorization_endpoint"],
        token=endpoints["token_endpoint"],
        revoke=endpoints["revocation_endpoint"],
        introspect=endpoints["introspection_endpoint"],
    )
    return _capability_response(plan, payer().resources[plan.system_id].data, fhir_base_url(plan), smart)


@blueprint.route("/<system_id>/directory/r4/metadata")
def directory_metadata(system_id: str):
    negotiate()
    plan = plan_for(system_id)
    return _capability_response(plan, payer().resources[plan.system_id].directory, directory_base_url(plan), None)


def _capability_response(plan: Plan, served: ResourceSet, base_url: str, smart: SmartEndpoints | None):
    types = served.types()
    now = datetime.fromtimestamp(payer().clock.now(), timezone.utc)
    statement = capability_statement(
        base_url=base_url,
        date=now.isoformat(timespec="seconds"),
        resource_types=types,
        description=f"{plan.name} (payer-mirror mock payer, {plan.mode} mode)",
        software_name="payer-mirror mockpayer",
        instantiates=[url for resource_type, url in INSTANTIATES.items() if resource_type in types],
        profiles=served.profiles_by_type(),
        patient_everything=smart is not None,
        smart=smart,
    )
    return fhir_response(orjson.dumps(statement))
