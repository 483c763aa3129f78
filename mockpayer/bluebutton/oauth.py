"""Blue Button's OAuth endpoints, at its paths.

`/v2/o/authorize/` (the SDK drops the trailing slash; both answer), `/v2/o/token/`, `/v2/o/revoke_token/` and
`/v2/o/introspect/`.

They are the plan's own authorization server (mockpayer/auth/) behind other paths: the same sign-in pages,
codes, tokens, rotation and revocation, with `bluebutton` mode's rules (PKCE S256 required and the SDK's padded
form of it tolerated, Blue Button's scopes, its consent choice). Token requests may come as
`multipart/form-data`, as the SDK sends them.
"""

from __future__ import annotations

from flask import Blueprint

from mockpayer import faults
from mockpayer.auth import authorize as authorize_pages
from mockpayer.auth import token
from mockpayer.auth.parameters import PADDED_PKCE
from mockpayer.bluebutton.urls import route
from mockpayer.context import plan_for

blueprint = Blueprint("bluebutton_oauth", __name__)
blueprint.register_error_handler(faults.InjectedFault, token.injected_fault)

ENDPOINTS = {"token": "token", "revoke_token": "revoke", "introspect": "introspect"}


@route(blueprint, "/v2/o/authorize", methods=["GET", "POST"])
def authorize(system_id: str | None = None):
    return authorize_pages.answer(plan_for(system_id, bluebutton=True))


@route(blueprint, "/v2/o/<any(token, revoke_token, introspect):endpoint>", methods=["GET", "POST"])
def token_endpoint(endpoint: str, system_id: str | None = None):
    return token.answer(ENDPOINTS[endpoint], lambda: plan_for(system_id, bluebutton=True), PADDED_PKCE)
