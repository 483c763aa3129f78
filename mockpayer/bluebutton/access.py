"""So that Blue Button requests are authorized and refused as Blue Button does.

Who a Blue Button request speaks for: the bearer token in its `Authorization` header (RFC 6750 §2.1), and
whether the token's scope reaches what it asks, refused as Blue Button refuses."""

from __future__ import annotations

from flask import request

from mirror.fhir.scopes import split_scope
from mirror.http.fhir_flask import bearer_credential
from mockpayer.auth.ledger import TokenRecord
from mockpayer.bluebutton import scopes
from mockpayer.bluebutton.errors import FORBIDDEN, NOT_AUTHENTICATED, BlueButtonError
from mockpayer.context import payer
from mockpayer.plans import Plan

CHALLENGE = 'Bearer realm="api"'
INVALID = "The access token is invalid."
QUERY_TOKEN = ("Using the access token in the query parameters is not supported. "
               "Use the Authorization header instead")


def bearer_token(plan: Plan) -> TokenRecord:
    """The plan's active access token the request carries.

    RFC 6750 §3.1 as Blue Button answers it: 401 with a `Bearer realm="api"` challenge, which names `invalid_token`
    and why when the token presented is unknown, revoked, expired or another plan's. A token in the query (RFC 6750
    §2.3) is refused with 400, as Blue Button refuses it."""
    if "access_token" in request.args:
        raise BlueButtonError(400, QUERY_TOKEN)
    credential = bearer_credential()
    if credential is None:
        raise BlueButtonError(401, NOT_AUTHENTICATED, {"WWW-Authenticate": CHALLENGE})
    ledger = payer().ledger
    record = ledger.by_access_token(credential)
    if record is None or record.system_id != plan.system_id or record.access_revoked:
        raise invalid_token(INVALID)
    if not ledger.access_is_active(record):
        raise invalid_token("The access token has expired.")
    return record


def invalid_token(why: str) -> BlueButtonError:
    """401 for a token presented that may not be used, with `invalid_token` and why in the challenge."""
    return BlueButtonError(401, NOT_AUTHENTICATED,
                           {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token", error_description="{why}"'})


def require_resource_scope(token: TokenRecord, resource_type: str, *, search: bool) -> None:
    """403 unless the token's scope opens this read (or search) of the type (scopes.opens)."""
    if not scopes.opens(token.scope, resource_type, search=search):
        raise BlueButtonError(403, FORBIDDEN)


def require_profile_scope(token: TokenRecord) -> None:
    """403 unless the token holds `profile`, which userinfo needs (withheld with the personal information)."""
    if "profile" not in split_scope(token.scope):
        raise BlueButtonError(403, FORBIDDEN)
