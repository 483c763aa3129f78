"""OpenID Connect for a plan: its signing key, who the member is to an app (`sub`, `fhirUser`), and the id_token.

authlib's OpenID Connect extensions build and sign the id_token; this module tells them what the mock knows.
SMART App Launch makes the FHIR base the issuer, so `iss` is the plan's FHIR base as the request sees it,
the same URL discovery publishes as `issuer`.
"""

from __future__ import annotations

import threading
import uuid

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken
from joserfc.jwk import KeySet, RSAKey

from mockpayer.context import fhir_base_url
from mockpayer.plans import Member, Plan
from mockpayer.state import State

SIGNING_ALG = "RS256"  # the one SMART App Launch requires servers to support
KEY_BITS = 2048
OPENID_REQUEST_PARAMETERS = ("nonce", "prompt", "max_age")


class SigningKey:
    """The plan's own key from plan.json, else one made on first use and kept in the mock's state.

    Made on first use rather than at start: a suite that starts a mock per test then pays for an RSA key only
    in the tests that use OpenID Connect. In a shared state the first process to need it stores it and every
    other process signs with that one, so an id_token from any of them verifies against any one's `jwks_uri`.
    A made key in memory changes on restart; apps refetch `jwks_uri` for a new `kid`.
    """

    def __init__(self, plan: Plan, state: State):
        self._key = plan.signing_key
        self._state_key = f"signing-key:{plan.system_id}"
        self.state = state
        self._lock = threading.Lock()

    def get(self) -> RSAKey:
        with self._lock:
            if self._key is None:
                stored = self.state.get(self._state_key)
                if stored is None:
                    made = RSAKey.generate_key(KEY_BITS, parameters={"use": "sig", "alg": SIGNING_ALG}, private=True,
                                               auto_kid=True)
                    self.state.put_new(self._state_key, made.as_dict(private=True))
                    stored = self.state.get(self._state_key)
                self._key = RSAKey.import_key(stored)
            return self._key


def public_key_set(key: RSAKey) -> dict:
    """The JWK Set served at `jwks_uri`: public members only."""
    return KeySet([key]).as_dict(private=False)


def subject(plan: Plan, username: str) -> str:
    """OIDC Core §2 `sub`: the same for a member across sessions and restarts, and not their sign-in name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://{plan.auth_host}/members/{username}"))


def member_claims(plan: Plan, member: Member, scope: str) -> dict:
    """`sub`, and with the `fhirUser` scope the member's Patient as an absolute URL (SMART App Launch)."""
    claims = {"sub": subject(plan, member.username)}
    if "fhirUser" in scope_to_list(scope):
        claims["fhirUser"] = f"{fhir_base_url(plan)}/Patient/{member.patient_id}"
    return claims


class PlanIdToken(OpenIDToken):
    """So that an app that asked for `openid` gets an id_token, on refresh too.

    Adds an `id_token` to a token response whose scope has `openid`; on refresh too, without the code's
    `nonce` and `auth_time` (OIDC Core §12.2 lets both be left out)."""

    def __init__(self, server):
        self.server = server

    def resolve_client_private_key(self, client):
        return self.server.signing_key.get()

    def get_client_algorithm(self, client):
        return SIGNING_ALG

    def get_encode_header(self, client):
        return {"alg": SIGNING_ALG, "kid": self.server.signing_key.get().kid}

    def get_compatible_claims(self, request):
        """`iss`, `aud`, `iat` and `exp` in the mock's clock (authlib's defaults read the wall clock)."""
        plan, now = self.server.plan, int(self.server.ledger.clock.now())
        return {"iss": fhir_base_url(plan), "aud": request.client.get_client_id(), "iat": now,
                "exp": now + plan.tokens.access_token_lifetime}

    def generate_user_info(self, user: Member, scope: str) -> dict:
        return member_claims(self.server.plan, user, scope)


class PlanOpenIDCode(PlanIdToken, OpenIDCode):
    """The code flow: authlib checks `prompt` on authorize and copies the code's `nonce` into the id_token."""

    def __init__(self, server):
        PlanIdToken.__init__(self, server)
        OpenIDCode.__init__(self, require_nonce=False)

    def validate_openid_authorization_request(self, grant, redirect_uri):
        """So that the id_token's `nonce` is the one the app meant.

        RFC 6749 §3.1 for the OpenID Connect parameters too: each at most once, so the id_token's `nonce`
        is the one the app meant."""
        payload = grant.request.payload
        for parameter in OPENID_REQUEST_PARAMETERS:
            if len(payload.datalist.get(parameter, [])) > 1:
                raise InvalidRequestError(f"Multiple '{parameter}' in request.", redirect_uri=redirect_uri,
                                          state=payload.state)
        super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce, request):
        """Never a replay: the nonce is the app's own check; servers do no other processing of it (OIDC Core §2)."""
        return False
