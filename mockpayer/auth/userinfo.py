"""`/oauth2/userinfo` (OpenID Connect Core §5.3): who the member behind an access token is, for a token with `openid`.

authlib's `UserInfoEndpoint` answers; a bearer-token check in the shape of RFC 6750 §3.1 guards it: no token,
a 401 challenge without an error code; a bad, expired or revoked one, 401 `invalid_token`; a token without
`openid`, 403 `insufficient_scope`. Like the token endpoint it answers under a plan's path prefix and, on a
plan's `auth.` host, at `/oauth2/userinfo`.
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from flask import Blueprint

from mockpayer.auth.id_token import member_claims
from mockpayer.auth.models import IssuedToken
from mockpayer.context import payer, plan_for

blueprint = Blueprint("userinfo", __name__)


@blueprint.route("/oauth2/userinfo", methods=["GET", "POST"])
@blueprint.route("/<system_id>/oauth2/userinfo", methods=["GET", "POST"])
def userinfo(system_id: str | None = None):
    plan = plan_for(system_id)
    return payer().auth_servers[plan.system_id].create_endpoint_response(MemberUserInfo.ENDPOINT_NAME)


class MemberUserInfo(UserInfoEndpoint):
    """`sub`, `fhirUser` with that scope, and the member's name with `profile` (OIDC Core §5.4)."""

    def generate_user_info(self, user: str, scope: str) -> UserInfo:
        plan = self.server.plan
        member = plan.members[user]
        claims = member_claims(plan, member, scope)
        profile = UserInfo(name=member.name, preferred_username=member.username).filter(scope)
        claims.update((claim, value) for claim, value in profile.items() if value)
        return UserInfo(claims)


def access_token_protector(server) -> ResourceProtector:
    """The guard authlib's `UserInfoEndpoint` calls: bearer access tokens of this plan only."""
    protector = _Protector(server.plan.system_id)
    protector.register_token_validator(_AccessTokenValidator(server))
    return protector


class _Protector(ResourceProtector):
    """authlib's protector, except that a request without a bearer token is told so without an error code."""

    def __init__(self, realm: str):
        super().__init__()
        self.realm = realm

    def parse_request_authorization(self, request):
        scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise _NoToken(self.realm)
        return super().parse_request_authorization(request)


class _AccessTokenValidator(BearerTokenValidator):
    """So that userinfo accepts exactly the tokens the FHIR API accepts.

    An active access token this plan issued, by the ledger's one definition the FHIR API uses too; a refresh
    token is not one."""

    def __init__(self, server):
        super().__init__(realm=server.plan.system_id)
        self.server = server

    def authenticate_token(self, token_string):
        record = self.server.ledger.active_access_token(token_string)
        if record is None or record.system_id != self.server.plan.system_id:
            return None
        return _AccessToken(record, self.server)

    def validate_token(self, token, scopes, request):
        if token is None:
            raise InvalidTokenError(realm=self.realm)
        if self.scope_insufficient(token.get_scope(), scopes):
            raise _InsufficientScope(self.realm, " ".join(scopes))


class _AccessToken(IssuedToken):
    """An access token as `UserInfoEndpoint` reads it: its `scope`, and its client as an object."""

    def __init__(self, record, server):
        super().__init__(record, server.ledger)
        self.scope = record.scope
        self.client = server.query_client(record.client_id)

    def get_client(self):
        return self.client


class _NoToken(OAuth2Error):
    """So that a request with no bearer token is challenged as RFC 6750 §3.1 asks.

    RFC 6750 §3.1: a request with no bearer token (none, or another scheme) is challenged without an error code,
    in the challenge and in the body."""

    description = "UserInfo needs an access token (Authorization: Bearer)."
    status_code = 401

    def __init__(self, realm: str):
        super().__init__()
        self.realm = realm

    def get_body(self):
        return [("error_description", self.description)]

    def get_headers(self):
        return [*super().get_headers(), ("WWW-Authenticate", f'Bearer realm="{self.realm}"')]


class _InsufficientScope(InsufficientScopeError):
    """RFC 6750 §3.1: 403, with a challenge that names the error and the scope needed."""

    description = "UserInfo needs a token granted the 'openid' scope."

    def __init__(self, realm: str, scope: str):
        super().__init__()
        self.realm = realm
        self.scope = scope

    def get_headers(self):
        challenge = f'Bearer realm="{self.realm}", error="insufficient_scope", scope="{self.scope}"'
        return [*super().get_headers(), ("WWW-Authenticate", challenge)]
