"""The characters each OAuth parameter may hold, its length, and the token endpoint's rules on sending it.

Characters by RFC 6749 Appendix A, RFC 7636 §4.1 and RFC 3986 for URIs; the token endpoint's rules that each is sent
once and in the body (RFC 6749 §3.2).

Checked before authlib reads a request, so a hostile value gets a short `invalid_request` that names the
parameter and never repeats the value: authlib puts some values (a redirect URI, a response type) into
`error_description`, and raises on the characters RFC 6749 forbids there, which used to answer HTTP 500.
Empty values are skipped: RFC 6749 §3.1 treats them as omitted.
"""

from __future__ import annotations

import base64
import string
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import InvalidRequestError

VSCHAR = frozenset(map(chr, range(0x20, 0x7F)))
NQCHAR = VSCHAR - {" ", '"', "\\"}
NAME_CHAR = frozenset(string.ascii_letters + string.digits + "-._")
UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
URI_CHAR = UNRESERVED | frozenset(":/?#[]@!$&'()*+,;=%")

ALLOWED = {
    "client_id": VSCHAR,
    "client_secret": VSCHAR,
    "response_type": frozenset(string.ascii_letters + string.digits + "_ "),
    "redirect_uri": URI_CHAR,
    "scope": NQCHAR | {" "},
    "state": VSCHAR,
    "code": VSCHAR,
    "grant_type": NAME_CHAR | URI_CHAR,
    "refresh_token": VSCHAR,
    "code_challenge": UNRESERVED,
    "code_challenge_method": NAME_CHAR,
    "code_verifier": UNRESERVED,
    "token": VSCHAR,
    "token_type_hint": NAME_CHAR,
    "aud": URI_CHAR,
    "launch": VSCHAR,
    "nonce": VSCHAR,
}
# Blue Button mode: CMS's Python SDK pads its PKCE challenge and verifier with base64's `=`; where in them `=` may
# stand is checked with the challenge itself (server.PaddedS256CodeChallenge).
PADDED_PKCE = {**ALLOWED, "code_challenge": UNRESERVED | {"="}, "code_verifier": UNRESERVED | {"="}}
# Long enough for any real value (a URL, a list of granular scopes, a signed state), short enough that the two
# values the redirect echoes (redirect_uri, state) keep its Location header near 4 kB, well inside the 8000
# octets RFC 9110 §4.1 asks every HTTP party to handle.
MAX_LENGTH = 2048
AUTHORIZE_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                        "code_challenge_method", "aud", "launch", "nonce")
TOKEN_PARAMETERS = ("grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
                    "refresh_token", "scope", "token", "token_type_hint")


def check_parameters(values, names: tuple[str, ...], allowed: dict[str, frozenset[str]] = ALLOWED) -> None:
    """Raises `invalid_request` naming the first of `names` whose value (any of its values) is malformed."""
    for name in names:
        if any(len(value) > MAX_LENGTH for value in values.getlist(name)):
            raise InvalidRequestError(f"'{name}' is longer than {MAX_LENGTH} characters.")
        if any(not set(value) <= allowed[name] for value in values.getlist(name)):
            raise InvalidRequestError(f"'{name}' holds characters RFC 6749 does not allow in it.")


def check_in_body(query, names: tuple[str, ...]) -> None:
    """So that credentials sent in a URL query are refused at the token, revocation and introspection endpoints.

    RFC 6749 §3.2 (and RFC 7009 §2.1, RFC 7662 §2.1): a request to the token, revocation or introspection
    endpoint carries its parameters in the form body; one of `names` in the URL query is `invalid_request`, rather
    than read (as authlib reads some of them) or ignored (as others)."""
    for name in names:
        if name in query:
            raise InvalidRequestError(f"'{name}' is in the URL query: send it in the form body (RFC 6749 section 3.2).")


def check_sent_once(values, names: tuple[str, ...]) -> None:
    """So that a token request repeating a parameter is refused (RFC 6749 §3.2).

    RFC 6749 §3.2: token endpoint parameters 'MUST NOT be included more than once' (at the authorization
    endpoint, §3.1, authlib checks this itself, and answers by redirect once the redirect URI is known)."""
    for name in names:
        if len(values.getlist(name)) > 1:
            raise InvalidRequestError(f"'{name}' is sent more than once (RFC 6749 section 3.2).")


def check_basic_credentials(headers) -> None:
    """So that malformed HTTP Basic credentials get a clear 4xx rather than an exception.

    HTTP Basic client credentials must decode to `client_id:client_secret` in those parameters' characters
    (RFC 6749 §2.3.1); authlib fails with an exception on ones that are not ASCII base64 of UTF-8."""
    scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII characters in the header
        raise InvalidRequestError("The HTTP Basic credentials are not base64 of UTF-8 text.") from None
    client_id, _, client_secret = decoded.partition(":")
    if not set(unquote(client_id)) <= VSCHAR or not set(unquote(client_secret)) <= VSCHAR:
        raise InvalidRequestError("The HTTP Basic credentials hold characters RFC 6749 does not allow.")
