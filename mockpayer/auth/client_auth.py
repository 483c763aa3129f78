"""Client authentication at the token, revocation and introspection endpoints, with the rules authlib leaves.

One method and one client per request (RFC 6749 §2.3, §2.3.1), and a client whose secret keeps failing is locked out
for a while (RFC 6749 §10.10), answered `invalid_client` with HTTP 429 and `Retry-After`.

Only a presented secret of a known confidential client counts: an unknown client id is already told apart
(TK-4), and a client that sends no secret, or a public client that has none, leaves nothing to guess.
"""

from __future__ import annotations

import math

from authlib.oauth2.rfc6749 import InvalidClientError, InvalidRequestError
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from mockpayer.auth.lockout import CLIENT, Lockouts, Subject, locked_for
from mockpayer.plans import Plan

AUTHORIZATION_SCHEMES = ("basic", "bearer")
FAILED = ("Client authentication failed: the client's credentials are missing or wrong, or the client may not "
          "authenticate this way here.")


class ClientLockedError(InvalidClientError):
    def __init__(self, seconds: float):
        super().__init__(description=f"Too many failed authentications: this client is {locked_for(seconds)}.",
                         status_code=429)
        self.retry_after = math.ceil(seconds)

    def get_headers(self):
        return super().get_headers() + [("Retry-After", str(self.retry_after))]


def authenticate_client(authenticate, request, methods, endpoint: str, plan: Plan, lockouts: Lockouts):
    """authlib's `authenticate(request, methods, endpoint)`, between the checks of the one method and the lock."""
    _check_one_method(request)
    _check_one_client(request)
    client_id = _client_presenting_a_secret(request)
    if client_id not in plan.clients or plan.clients[client_id].is_public:
        return _plainly(authenticate, request, methods, endpoint)
    subject = Subject(plan.system_id, CLIENT, client_id)
    if seconds := lockouts.get(subject):
        raise ClientLockedError(seconds)
    try:
        client = _plainly(authenticate, request, methods, endpoint)
    except InvalidClientError:
        lockouts.record(subject, succeeded=False, policy=plan.lockout)
        raise
    if seconds := lockouts.record(subject, succeeded=True, policy=plan.lockout):
        raise ClientLockedError(seconds)
    return client


def _plainly(authenticate, request, methods, endpoint: str):
    """So that a client that matches no authentication method is told why in plain words.

    `authenticate`, its failure to match any method told in plain words: authlib's own description lists the
    server's names for its methods ("The client cannot authenticate with methods: [...]"), which say nothing to
    the app's developer. Its other refusals (an unknown client, a missing `client_id`) are plain already."""
    try:
        return authenticate(request, methods, endpoint)
    except InvalidClientError as error:
        if error.description == f"The client cannot authenticate with methods: {methods}":
            error.description = FAILED
        raise


def _check_one_method(request) -> None:
    """So that a client authenticates by one method only, as RFC 6749 §2.3 requires.

    RFC 6749 §2.3: 'The client MUST NOT use more than one authentication method in each request.'
    """
    scheme = (request.headers.get("Authorization") or "").partition(" ")[0].lower()
    if scheme in AUTHORIZATION_SCHEMES and request.form.get("client_secret"):
        raise InvalidRequestError("Use one client authentication method per request, not two (RFC 6749 section 2.3).")


def _check_one_client(request) -> None:
    """So that a body `client_id` naming another client is malformed, not a failed sign-in.

    RFC 6749 §2.3.1, §3.2.1: the client is the one its credentials name; a body `client_id` naming another
    makes the request malformed (§5.2), not a failed authentication, so it counts toward no lock."""
    basic_id = extract_basic_authorization(request.headers)[0]
    body_id = request.form.get("client_id")
    if basic_id and body_id and basic_id != body_id:
        raise InvalidRequestError("The 'client_id' in the body names another client than the HTTP Basic credentials.")


def _client_presenting_a_secret(request) -> str | None:
    client_id, client_secret = extract_basic_authorization(request.headers)
    if client_id and client_secret:
        return client_id
    if request.form.get("client_secret"):
        return request.form.get("client_id")
    return None
