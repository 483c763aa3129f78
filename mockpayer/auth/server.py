"""A per-plan authlib `AuthorizationServer`: its grants, PKCE rules, token contents and endpoints.

One server per plan because plans differ in clients, lifetimes and strictness (`1up`, `smart` or `bluebutton`
mode), while every code and token lands in the one shared ledger.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, OAuth2Request, grants
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import (
    CODE_CHALLENGE_PATTERN, CODE_VERIFIER_PATTERN, compare_s256_code_challenge, create_s256_code_challenge,
)
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core.grants.util import is_openid_scope
from flask import request as flask_request

from mirror.fhir.scopes import within_grant
from mirror.http.hosts import is_loopback_host
from mockpayer.auth.client_auth import authenticate_client
from mockpayer.auth.id_token import PlanIdToken, PlanOpenIDCode, SigningKey, member_claims, subject
from mockpayer.auth.ledger import CodeRecord, Ledger, TokenRecord
from mockpayer.auth.lockout import Lockouts
from mockpayer.auth.models import IssuedCode, IssuedToken, PlanClient
from mockpayer.auth.userinfo import MemberUserInfo, access_token_protector
from mockpayer.context import fhir_base_url
from mockpayer.plans import Plan
from mockpayer.state import hashed

PRIVATE_SCOPES_FOR_REFRESH = ("offline_access", "online_access")
BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")


class S256CodeChallenge(CodeChallenge):
    """RFC 7636 with S256 only (PK-6): `plain`, and a challenge without a method (which means plain), are refused.

    In `smart` mode a challenge is required from every client (AZ-5); in `1up` mode from public clients (RFC 9700
    §2.1.1: they MUST use PKCE) and optional for confidential ones, but a challenge once sent is always checked,
    and a verifier without a challenge is refused (PK-3, authlib).
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def __init__(self, required_at_authorize: bool):
        super().__init__(required=True)
        self.required_at_authorize = required_at_authorize

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if (self.required_at_authorize or grant.request.client.client.is_public) and not challenge:
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if challenge and method != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class PaddedS256CodeChallenge(S256CodeChallenge):
    """So that CMS's Python SDK, which pads its PKCE values, can sign in to `bluebutton` mode.

    `bluebutton` mode: S256 as RFC 7636 has it, and also as CMS's Python SDK sends it, with base64 `=` padding on
    the challenge and the verifier (its verifier is padded base64url of random printable characters, its challenge
    the padded base64url of the verifier's SHA-256). Exactly that is tolerated and nothing looser: `=` only at the
    end, only as many as base64url pads that length, the rest base64url characters within RFC 7636's lengths;
    the S256 comparison then ignores the challenge's padding. Every other mode stays strict (PK-4)."""

    def __init__(self):
        super().__init__(required_at_authorize=True)

    def validate_code_challenge(self, grant, redirect_uri):
        payload = grant.request.payload
        unpadded = _without_base64_padding(payload.data.get("code_challenge") or "")
        if unpadded is None:
            return super().validate_code_challenge(grant, redirect_uri)
        if len(payload.datalist.get("code_challenge", [])) > 1:
            raise InvalidRequestError("Multiple 'code_challenge' in request.")
        if not CODE_CHALLENGE_PATTERN.fullmatch(unpadded):
            raise InvalidRequestError("Invalid 'code_challenge'")
        if payload.data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is accepted.")

    def validate_code_verifier(self, grant, result):
        verifier = grant.request.form.get("code_verifier") or ""
        unpadded = _without_base64_padding(verifier)
        if unpadded is None:
            return super().validate_code_verifier(grant, result)
        challenge = self.get_authorization_code_challenge(grant.request.authorization_code)
        if not challenge:
            raise InvalidRequestError("The authorization request had no 'code_challenge', but a 'code_verifier' "
                                      "was provided.")
        if not CODE_VERIFIER_PATTERN.fullmatch(unpadded):
            raise InvalidRequestError("Invalid 'code_verifier'")
        if create_s256_code_challenge(verifier) != challenge:  # the verifier is hashed as sent, padding and all
            raise InvalidGrantError(description="Code challenge failed.")

    def get_authorization_code_challenge(self, authorization_code):
        challenge = authorization_code.code_challenge
        return challenge.rstrip("=") if challenge else challenge


def _without_base64_padding(value: str) -> str | None:
    """So that padded PKCE values are accepted only when padded exactly as base64url pads.

    `value` without its `=` padding when it is padded exactly as base64url pads a value of its length (RFC 4648
    §5: one `=` after 4n+3 characters, two after 4n+2); None for a value without `=` or with `=` used otherwise."""
    unpadded = value.rstrip("=")
    padding = len(value) - len(unpadded)
    if not 0 < padding <= 2 or padding != -len(unpadded) % 4 or not set(unpadded) <= BASE64URL:
        return None
    return unpadded


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        server: PlanAuthorizationServer = self.server
        now = server.ledger.clock.now()
        data = request.payload.data
        server.ledger.add_code(CodeRecord(
            code_hash=hashed(code),
            system_id=server.plan.system_id,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            username=request.user.username,
            issued_at=now,
            expires_at=now + server.plan.tokens.code_lifetime,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            aud=data.get("aud"),
            nonce=data.get("nonce"),
        ))

    def query_authorization_code(self, code, client):
        """TK-1 single use (a replay revokes what the code issued), TK-2 expiry, TK-3 bound to the client."""
        server: PlanAuthorizationServer = self.server
        record, was_used = server.ledger.claim_code(code, server.plan.system_id)
        if record is None:
            return None
        if was_used:
            server.ledger.revoke_family(record.family)
            return None
        if record.client_id != client.get_client_id() or server.ledger.clock.now() >= record.expires_at:
            return None
        # The seed's 1up exchange sends no redirect_uri; the code's was checked as registered when it was issued.
        omitted = self.request.payload.redirect_uri is None and server.plan.mode == "1up"
        return IssuedCode(record, redirect_uri_bound=not omitted)

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: the code was claimed, atomically, when it was looked up."""

    def authenticate_user(self, authorization_code):
        return self.server.plan.members.get(authorization_code.record.username)


class RefreshGrant(grants.RefreshTokenGrant):
    """RT-1..RT-3: rotation, replay detection that kills the family, binding to the client.

    `public_refresh` lets a public client refresh without sending its `client_id`, as the SMART JS
    client does: the client is found through the refresh token itself.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none", "public_refresh"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self):
        """So that two concurrent refreshes cannot both use one refresh token.

        A refresh token is claimed as it is looked up (atomically, so two concurrent refreshes cannot both
        fork the family); a request that then fails its other checks gives the token back unharmed."""
        self._claimed = None
        try:
            super().validate_token_request()
        except OAuth2Error:
            if self._claimed is not None:
                self.server.ledger.release_refresh(self._claimed)
            raise

    def authenticate_refresh_token(self, refresh_token):
        server: PlanAuthorizationServer = self.server
        record, was_used = server.ledger.claim_refresh(refresh_token, server.plan.system_id)
        if record is None:
            return None
        if was_used:
            server.ledger.revoke_family(record.family)
            return None
        self._claimed = record
        if not server.ledger.refresh_is_active(record, claimed=True):
            return None
        return IssuedToken(record, server.ledger, "refresh_token")

    def _validate_token_scope(self, token):
        """So that a refresh may narrow its scope by meaning, as RFC 6749 §6 allows.

        RFC 6749 §6: a refresh may ask for any subset of the grant, judged by meaning (scopes.within_grant),
        where authlib compares words; the new token's `scope` is then what was asked."""
        asked = self.request.payload.scope
        if asked and not within_grant(asked, token.get_scope()):
            raise InvalidScopeError("The scope asked for is not within the scope originally granted.")

    def authenticate_user(self, refresh_token):
        return self.server.plan.members.get(refresh_token.record.username)

    def revoke_old_credential(self, refresh_token):
        """Nothing to do: the token was marked used when it was claimed."""


class Revocation(RevocationEndpoint):
    """RFC 7009. Revoking a refresh token ends its whole grant (RV-2); unknown tokens still get 200 (RV-1)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        return self.server.find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if token.presented_as == "refresh_token":
            self.server.ledger.revoke_family(token.record.family)
        else:
            self.server.ledger.revoke_access(token.record)


class Introspection(IntrospectionEndpoint):
    """RFC 7662, for the client that holds the token: by its credentials or by the bearer token (IN-1)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "bearer_token"]

    def query_token(self, token_string, token_type_hint):
        return self.server.find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return token.check_client(client)

    def introspect_token(self, token):
        """SMART token introspection: with an id_token issued (`openid` granted), its `iss`, `sub` and `fhirUser`."""
        record: TokenRecord = token.record
        plan = self.server.plan
        if token.presented_as == "refresh_token":
            expires_at, token_type = record.refresh_expires_at, "refresh_token"
        else:
            expires_at, token_type = record.issued_at + record.expires_in, "Bearer"
        payload = {
            "active": True,
            "scope": record.scope,
            "client_id": record.client_id,
            "username": record.username,
            "sub": subject(plan, record.username),
            "patient": record.patient_id,
            "token_type": token_type,
            "iat": int(record.issued_at),
        }
        if is_openid_scope(record.scope):
            payload.update(member_claims(plan, plan.members[record.username], record.scope), iss=fhir_base_url(plan))
        if expires_at is not None:
            payload["exp"] = int(expires_at)
        return payload


class PlanOAuth2Payload(FlaskOAuth2Payload):
    """1up's documented authorize URL has no `response_type`; in `1up` mode it means `code`."""

    def __init__(self, request, default_response_type: str | None):
        super().__init__(request)
        self.default_response_type = default_response_type

    @property
    def response_type(self):
        return super().response_type or self.default_response_type


class PlanOAuth2Request(FlaskOAuth2Request):
    def __init__(self, request, default_response_type: str | None):
        OAuth2Request.__init__(self, method=request.method, uri=_transport_uri(request), headers=request.headers)
        self._request = request
        self.payload = PlanOAuth2Payload(request, default_response_type)


def _transport_uri(request) -> str:
    """So that authlib's TLS check cannot be fooled by a Host header.

    The URL for authlib's TLS check (RFC 6749 §3.1, §3.2), which trusts plain http to a loopback host: built
    from the connection, not from the Host header a client (or, with --trust-proxy, X-Forwarded-Host) names.
    A loopback connection is private; any other is secure only over https. authlib's own
    AUTHLIB_INSECURE_TRANSPORT switch still lets everything through."""
    parts = urlsplit(request.url)
    if is_loopback_host(request.remote_addr):
        return urlunsplit(("http", "127.0.0.1", parts.path, parts.query, ""))
    return urlunsplit((request.scheme, "remote.invalid", parts.path, parts.query, ""))  # RFC 2606: never loopback


def _blue_button_time(seconds: float) -> str:
    """UTC to the second, as Blue Button writes `access_grant_expiration` (`2025-09-05 19:17:53Z`)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _unguessable_token(*_args, **_kwargs) -> str:
    """TK-9: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class PlanAuthorizationServer(AuthorizationServer):
    def __init__(self, plan: Plan, ledger: Ledger, lockouts: Lockouts):
        super().__init__()
        self.plan = plan
        self.ledger = ledger
        self.lockouts = lockouts
        self.signing_key = SigningKey(plan, ledger.state)
        lifetime = plan.tokens.access_token_lifetime
        config = {
            "OAUTH2_ACCESS_TOKEN_GENERATOR": _unguessable_token,
            "OAUTH2_REFRESH_TOKEN_GENERATOR": _unguessable_token,
            "OAUTH2_TOKEN_EXPIRES_IN": {"authorization_code": lifetime, "refresh_token": lifetime},
        }
        self.load_config(config)
        self.register_token_generator("default", self._token_generator(self.create_bearer_token_generator(config)))
        challenge = (PaddedS256CodeChallenge() if plan.is_bluebutton
                     else S256CodeChallenge(required_at_authorize=plan.is_strict_smart))
        self.register_grant(CodeGrant, [challenge, PlanOpenIDCode(self)])
        if plan.tokens.refresh:
            self.register_grant(RefreshGrant, [PlanIdToken(self)])
        self.register_endpoint(Revocation(server=self))
        self.register_endpoint(Introspection(server=self))
        self.register_endpoint(MemberUserInfo(server=self, resource_protector=access_token_protector(self)))
        self.register_client_auth_method("public_refresh", self._authenticate_by_refresh_token)
        self.register_client_auth_method("bearer_token", self._authenticate_by_bearer_token)

    def query_client(self, client_id):
        """Read from the plan at each request, so a client registered or removed on `/_admin/clients` counts at once."""
        client = self.plan.clients.get(client_id)
        return PlanClient(self.plan, client) if client is not None else None

    def authenticate_client(self, request, methods, endpoint="token"):
        """RFC 6749 §2.3 one method per request, §10.10 a lock on a client whose secret keeps failing."""
        return authenticate_client(super().authenticate_client, request, methods, endpoint, self.plan, self.lockouts)

    def create_oauth2_request(self, request):
        return PlanOAuth2Request(flask_request, "code" if self.plan.mode == "1up" else None)

    def _token_generator(self, bearer):
        """Adds the SMART launch context (`patient`) and decides on a refresh token (TK-7).

        In `smart` mode a refresh token needs `offline_access` or `online_access`; in `1up` mode every
        grant gets one, as 1up does. Either way the plan's `tokens.refresh` switch can turn them off.
        """

        def generate(grant_type, client, user, scope, expires_in=None, include_refresh_token=True):
            wants_refresh = include_refresh_token and self.plan.tokens.refresh and (
                not self.plan.is_strict_smart or any(word in (scope or "").split() for word in PRIVATE_SCOPES_FOR_REFRESH)
            )
            token = bearer(grant_type, client, user=user, scope=scope, expires_in=expires_in,
                           include_refresh_token=wants_refresh)
            token["scope"] = scope or ""
            token["patient"] = user.patient_id
            return token

        return generate

    def save_token(self, token, request):
        """So that in `bluebutton` mode the grant ends when Blue Button's would, refresh or not.

        Records the token; in `bluebutton` mode the grant keeps the end it got at sign-in, as Blue Button's data
        access grant does (a refresh does not move it), and the response says when (`access_grant_expiration`)."""
        now = self.ledger.clock.now()
        if request.authorization_code is not None:
            code_record = request.authorization_code.record
            family, aud = code_record.family, code_record.aud
            grant_ends = now + self.plan.tokens.refresh_token_lifetime
        else:
            family, aud = request.refresh_token.record.family, request.refresh_token.record.aud
            grant_ends = (request.refresh_token.record.refresh_expires_at if self.plan.is_bluebutton
                          else now + self.plan.tokens.refresh_token_lifetime)
        refresh_token = token.get("refresh_token")
        if self.plan.is_bluebutton:
            token["access_grant_expiration"] = _blue_button_time(grant_ends if refresh_token
                                                                 else now + token["expires_in"])
        self.ledger.add_token(TokenRecord(
            access_hash=hashed(token["access_token"]),
            system_id=self.plan.system_id,
            client_id=request.client.get_client_id(),
            username=request.user.username,
            patient_id=request.user.patient_id,
            scope=token["scope"],
            issued_at=now,
            expires_in=token["expires_in"],
            family=family,
            refresh_hash=hashed(refresh_token) if refresh_token else None,
            refresh_expires_at=grant_ends if refresh_token else None,
            aud=aud,
        ))

    def find_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        lookups = [("access_token", self.ledger.by_access_token), ("refresh_token", self.ledger.by_refresh_token)]
        if token_type_hint == "refresh_token":
            lookups.reverse()
        for presented_as, lookup in lookups:
            record = lookup(token_string)
            if record is not None and record.system_id == self.plan.system_id:
                return IssuedToken(record, self.ledger, presented_as)
        return None

    def _authenticate_by_refresh_token(self, query_client, request):
        if request.payload.client_id or extract_basic_authorization(request.headers)[0]:
            return None
        record = self.ledger.by_refresh_token(request.form.get("refresh_token") or "")
        if record is None or record.system_id != self.plan.system_id:
            return None
        return query_client(record.client_id)

    def _authenticate_by_bearer_token(self, query_client, request):
        scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not credential:
            return None
        record = self.ledger.active_access_token(credential.strip())
        if record is None or record.system_id != self.plan.system_id:
            return None
        return query_client(record.client_id)
