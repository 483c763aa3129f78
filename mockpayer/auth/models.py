"""The authlib views of a plan's clients, codes and tokens (authlib's ClientMixin, AuthorizationCodeMixin, TokenMixin).

authlib only calls methods on these objects; the records themselves live in the ledger and the plan.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from mirror.fhir.scopes import grantable_scope, parse_resource_scope, split_scope, within_grant
from mockpayer.auth.ledger import CodeRecord, Ledger, TokenRecord
from mockpayer.bluebutton import scopes as bluebutton_scopes
from mockpayer.plans import Client, Plan

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
CONFIDENTIAL_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
PUBLIC_AUTH_METHODS = frozenset({"none", "public_refresh"})
DEFAULT_SCOPE = "patient/*.read launch/patient offline_access"


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """So that a redirect URI matches its registration exactly, as RFC 9700 requires (AZ-1).

    AZ-1, RFC 9700 §4.1.3: the registered string exactly; only a port-less loopback registration lets the
    port vary (RFC 8252 §7.3). The requested value is compared as a string, never parsed: a URL parser drops
    TAB, CR and LF and forgets an empty `?`, and would let those through."""
    if requested == registered:
        return True
    wanted = urlsplit(registered)
    if wanted.scheme != "http" or wanted.hostname not in LOOPBACK_HOSTS or wanted.port is not None:
        return False
    prefix = f"http://{wanted.netloc}:"
    rest = registered[len(prefix) - 1:]
    if not requested.startswith(prefix) or not requested.endswith(rest):
        return False
    port = requested[len(prefix):len(requested) - len(rest)]
    return port.isascii() and port.isdigit() and port == str(int(port)) and 0 < int(port) < 65536


class PlanClient(ClientMixin):
    def __init__(self, plan: Plan, client: Client):
        self.plan = plan
        self.client = client
        self.client_id = client.client_id

    def get_client_id(self):
        return self.client.client_id

    def get_default_redirect_uri(self):
        return self.client.redirect_uris[0]

    def get_allowed_scope(self, scope):
        """So that a token is granted only what this read-only patient API serves.

        What this read-only patient API grants of the scope asked (RFC 6749 §3.3: it may grant less, and the
        token's `scope` says what): known SMART scopes, writes cut to their read half, no `system/` scope,
        unknown words dropped. `1up` mode grants whatever remains, as 1up drops what it does not grant; `smart`
        mode answers `invalid_scope` (RFC 6749 §4.1.2.1) to a request that asked for records and is left with
        none it may read. Either way a request left with nothing at all has nothing to issue: `invalid_scope`.
        `bluebutton` mode grants as Blue Button does (mockpayer/bluebutton/scopes.py). A client registered with
        `scopes` is granted nothing beyond them, judged by meaning (`patient/*.read` covers `patient/Coverage.rs`)."""
        if self.plan.is_bluebutton:
            granted = split_scope(bluebutton_scopes.granted_scope(scope))
            return " ".join(filter(self._registered_for, granted)) or None
        words = split_scope(scope) or split_scope(DEFAULT_SCOPE)
        granted = list(filter(self._registered_for, dict.fromkeys(filter(None, map(grantable_scope, words)))))
        asked_for_records = any(map(parse_resource_scope, words))
        if self.plan.is_strict_smart and asked_for_records and not any(map(parse_resource_scope, granted)):
            return None
        return " ".join(granted) if granted else None

    def _registered_for(self, word: str) -> bool:
        return self.client.scopes is None or within_grant(word, " ".join(self.client.scopes))

    def check_redirect_uri(self, redirect_uri):
        return any(redirect_uri_matches(registered, redirect_uri) for registered in self.client.redirect_uris)

    def check_client_secret(self, client_secret):
        secret = self.client.client_secret
        return bool(secret) and hmac.compare_digest(secret.encode(), str(client_secret).encode())

    def check_endpoint_auth_method(self, method, endpoint):
        if method == "bearer_token":
            return endpoint == "introspection"
        if self.client.is_public:
            return method in PUBLIC_AUTH_METHODS
        return method in CONFIDENTIAL_AUTH_METHODS

    @property
    def client_metadata(self) -> dict:
        """OpenID Connect registration metadata: none beyond plan.json, so UserInfo answers in plain JSON."""
        return {}

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        if grant_type == "refresh_token":
            return self.plan.tokens.refresh
        return grant_type == "authorization_code"


class IssuedCode(AuthorizationCodeMixin):
    def __init__(self, record: CodeRecord, redirect_uri_bound: bool = True):
        self.record = record
        self.redirect_uri_bound = redirect_uri_bound
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self):
        """What the exchange must repeat (RFC 6749 §4.1.3); None when it need not (`1up` mode, omitted)."""
        return self.record.redirect_uri if self.redirect_uri_bound else None

    def get_scope(self):
        return self.record.scope

    def get_nonce(self):
        """The `nonce` sent on authorize, for the id_token (OIDC Core §3.1.3.6)."""
        return self.record.nonce

    def get_auth_time(self):
        """So that an app that sent `max_age` gets the `auth_time` it needs.

        `auth_time`, which an app that sent `max_age` needs (OIDC Core §3.1.2.1): the mock keeps no sign-in
        session, so the member signed in for this very code, just before it was issued."""
        return int(self.record.issued_at)


class IssuedToken(TokenMixin):
    """One token record, seen as an access token or as a refresh token depending on how it was presented."""

    def __init__(self, record: TokenRecord, ledger: Ledger, presented_as: str = "access_token"):
        self.record = record
        self.ledger = ledger
        self.presented_as = presented_as

    def check_client(self, client):
        return client.get_client_id() == self.record.client_id

    def get_scope(self):
        return self.record.scope or ""

    def get_expires_in(self):
        return self.record.expires_in

    def is_expired(self):
        if self.presented_as == "refresh_token":
            expires_at = self.record.refresh_expires_at
            return expires_at is not None and self.ledger.clock.now() >= expires_at
        return self.ledger.clock.now() >= self.record.issued_at + self.record.expires_in

    def is_revoked(self):
        if self.presented_as == "refresh_token":
            return self.record.refresh_revoked or self.record.refresh_used
        return self.record.access_revoked

    def get_user(self):
        return self.record.username

    def get_client(self):
        return self.record.client_id
