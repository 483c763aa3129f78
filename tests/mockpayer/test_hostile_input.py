"""Hostile values at the authorization and token endpoints: exact redirect URIs (RFC 9700 §4.1.3, RFC 8252 §7.3),
and a short 4xx for every malformed parameter, never a 500 (RFC 6749 Appendix A gives each parameter's syntax)."""

import base64
from urllib.parse import quote

import pytest
import requests

from mockpayer.auth.parameters import MAX_LENGTH
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, s256

REGISTERED_LOOPBACK = "http://127.0.0.1:8765/callback"  # matches the registered http://127.0.0.1/callback


def _authorize_raw(payer, redirect_uri_query: str) -> requests.Response:
    """The authorization request with `redirect_uri` exactly as given, already percent-encoded."""
    url = (f"{payer.url}/oauth2/authorize/demoplan?client_id={DEMO_CONFIDENTIAL[0]}&scope=patient/*.read"
           f"&state=s&redirect_uri={redirect_uri_query}")
    return requests.get(url, allow_redirects=False, timeout=10)


def _assert_error_page(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]
    assert "Traceback" not in response.text and 'name="password"' not in response.text


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:8765/call%09back",  # TAB, dropped by URL parsers
    "http://127.0.0.1:8765/call%0Aback",
    "http://127.0.0.1:8765/callback%0D%0ASet-Cookie:%20x=1",
    "http://127.0.0.1:8765/callback?",  # an added empty query
    "http://127.0.0.1:8765/callback%3F",
    "http://127.0.0.1:8765/callback%23",
    "http://127.0.0.1:8765%5C@evil.com/callback",  # backslash: userinfo to some parsers, a path to others
    "http://127.0.0.1:8765/callback%5C",
    "http://user@127.0.0.1:8765/callback",
    "http://127.0.0.1:8765@evil.com/callback",
    "http://127.0.0.1:08765/callback",
    "http://127.0.0.1:/callback",
    "http://127.0.0.1:8765/callback%00",
    "http://127.0.0.1:8765/./callback",
    "http://127.0.0.1:8765//callback",
    "HTTP://127.0.0.1:8765/callback",
    "http://127.0.0.1:8765/callback%20",
    "%20http://127.0.0.1:8765/callback",
])
def test_redirect_uri_is_the_registered_string_exactly_rfc9700_4_1_3(payer, redirect_uri):
    """Anything but the registered string (a loopback port aside) gets the invalid-redirect page, 400."""
    response = _authorize_raw(payer, redirect_uri)
    _assert_error_page(response)
    assert "redirect" in response.text.lower()


def test_only_the_port_of_a_loopback_redirect_may_vary_rfc8252_7_3(payer):
    for port in ("8765", "1", "65535"):
        response = _authorize_raw(payer, f"http://127.0.0.1:{port}/callback")
        assert response.status_code == 200 and 'name="password"' in response.text


HOSTILE = [
    "x\r\nSet-Cookie: x=1",
    "x\ty",
    "x\x00",
    "x\x7f",
    "x\x1b[31m",
    "é",
    "x\u202egnp.exe",
    "\ufeffcode",
    "x" + "\U0001F600",
    "\ud7ff",
]
AUTHORIZE_PARAMETERS = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                        "code_challenge_method", "aud"]


@pytest.mark.parametrize("parameter", AUTHORIZE_PARAMETERS)
def test_hostile_values_at_the_authorization_endpoint_get_an_error_page(payer, parameter):
    """RFC 6749 Appendix A: no OAuth parameter holds control characters or non-ASCII; 400, no redirect, no 500."""
    for value in HOSTILE:
        url = payer.authorize_url(**{"response_type": "code", parameter: value})
        _assert_error_page(requests.get(url, allow_redirects=False, timeout=10))
        _assert_error_page(requests.post(url, data={"step": "login"}, allow_redirects=False, timeout=10))


@pytest.mark.parametrize("query", ["response_type=x%22", "response_type=%C3%A9", "scope=patient/*.read%22",
                                   "code_challenge_method=S256%5C", "redirect_uri=http://127.0.0.1:8765%22/callback"])
def test_quotes_and_backslashes_where_the_syntax_has_none_get_an_error_page(payer, query):
    """The values that made authlib raise on `error_description` (HTTP 500) now get a 400 page."""
    url = payer.authorize_url(redirect_uri=None, scope=None) + "&" + query
    if "redirect_uri=" not in query:
        url += "&redirect_uri=" + quote(CALLBACK, safe="")
    _assert_error_page(requests.get(url, allow_redirects=False, timeout=10))


TOKEN_PARAMETERS = ["grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier",
                    "refresh_token", "scope"]


def _assert_invalid_request(response: requests.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request", body
    assert "Traceback" not in response.text
    assert all(0x20 <= ord(char) <= 0x7E and char not in '"\\' for char in body.get("error_description", ""))


@pytest.mark.parametrize("parameter", TOKEN_PARAMETERS)
def test_hostile_values_at_the_token_endpoint_get_invalid_request(payer, parameter):
    """RFC 6749 §5.2: `invalid_request`, and an `error_description` in the characters §5.2 allows."""
    for value in HOSTILE:
        data = {"grant_type": "authorization_code", "code": "c", "redirect_uri": CALLBACK,
                "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1], parameter: value}
        _assert_invalid_request(payer.token(data))


@pytest.mark.parametrize("endpoint, parameter", [("revoke", "token"), ("introspect", "token"),
                                                 ("introspect", "token_type_hint")])
def test_hostile_values_at_revocation_and_introspection_get_invalid_request(payer, endpoint, parameter):
    for value in HOSTILE:
        data = {"token": "t", parameter: value}
        _assert_invalid_request(payer.token(data, auth=DEMO_CONFIDENTIAL, path=f"/oauth2/{endpoint}"))


@pytest.mark.parametrize("credentials", [b"\xe9\xff:secret", "demo-confidential-app:x\r\ny".encode(),
                                         b"demo-confidential-app%0D%0A:x", "é:é".encode()])
def test_hostile_basic_credentials_get_invalid_request(payer, credentials):
    """RFC 6749 §2.3.1: client_id and client_secret in Basic are *VSCHAR; non-UTF-8 bytes used to answer 500."""
    header = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
    _assert_invalid_request(requests.post(payer.url + "/oauth2/token", headers=header,
                                          data={"grant_type": "authorization_code", "code": "c"}, timeout=10))


@pytest.mark.parametrize("endpoint", ["token", "revoke", "introspect"])
def test_a_basic_header_that_is_not_ascii_gets_invalid_request(payer, endpoint):
    """RFC 6749 §2.3.1 (Basic credentials are base64, ASCII): raw non-ASCII bytes after `Basic` used to answer 500."""
    header = {"Authorization": b"Basic \xc3\xa9"}
    response = requests.post(f"{payer.url}/oauth2/{endpoint}", headers=header, timeout=10,
                             data={"grant_type": "authorization_code", "code": "c", "token": "t"})
    _assert_invalid_request(response)


SIGN_IN_FIELDS = {"login": ["csrf_token", "step", "username", "password"], "mfa": ["code"],
                  "consent": ["share", "decision"]}


def _form(payer, session: requests.Session, url: str, step: str) -> dict:
    """The fields a browser posts at `step`, its session brought to that page (member2 has a one-time code)."""
    page = session.get(url, timeout=10)
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    login = {"csrf_token": csrf, "step": "login", "username": "member2", "password": "pass-member2"}
    if step == "login":
        return login
    assert 'value="mfa"' in session.post(url, data=login, timeout=10).text
    mfa = {"csrf_token": csrf, "step": "mfa", "code": "246810"}
    if step == "mfa":
        return mfa
    assert 'value="consent"' in session.post(url, data=mfa, timeout=10).text
    return {"csrf_token": csrf, "step": "consent", "share": "patient/*.read", "decision": "allow"}


@pytest.mark.parametrize("step, field", [(step, field) for step, fields in SIGN_IN_FIELDS.items() for field in fields])
def test_hostile_values_in_the_sign_in_forms_get_4xx_or_the_flow_not_500(payer, step, field):
    """Every hostile value in a sign-in form field, posted with a live session cookie, gets a page or a redirect:
    `csrf_token=é` used to answer 500 (a str compared with hmac.compare_digest)."""
    url = payer.authorize_url()
    for value in HOSTILE:
        session = requests.Session()
        data = {**_form(payer, session, url, step), field: value}
        response = session.post(url, data=data, allow_redirects=False, timeout=10)
        assert response.status_code < 500 and "Traceback" not in response.text, (field, value, response.text)
        if field in ("csrf_token", "step", "username", "password", "code"):
            assert 400 <= response.status_code < 500, (field, value)


def _sent_twice(data: dict, parameter: str, again: str | None = None) -> list[tuple[str, str]]:
    return [*data.items(), (parameter, data[parameter] if again is None else again)]


def test_a_parameter_sent_twice_is_invalid_request_rfc6749_3_2(payer):
    """RFC 6749 §3.2: 'Request and response parameters MUST NOT be included more than once': `code=<real>&code=zzz`
    used to be exchanged, the first value winning. Refused before the code is spent."""
    verifier = "v" * 43
    exchange = {"grant_type": "authorization_code", "code": payer.code(code_challenge=s256(verifier),
                                                                           code_challenge_method="S256"),
                "redirect_uri": CALLBACK, "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1],
                "code_verifier": verifier}
    for parameter in exchange:
        _assert_invalid_request(payer.token(_sent_twice(exchange, parameter, "zzz" if parameter == "code" else None)))
    tokens = payer.token(exchange)
    assert tokens.status_code == 200, tokens.text
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"],
               "scope": "patient/*.read"}
    for parameter in refresh:
        _assert_invalid_request(payer.token(_sent_twice(refresh, parameter), auth=DEMO_CONFIDENTIAL))
    assert payer.token(refresh, auth=DEMO_CONFIDENTIAL).status_code == 200


@pytest.mark.parametrize("endpoint", ["revoke", "introspect"])
def test_a_parameter_sent_twice_at_revocation_and_introspection_is_invalid_request_rfc6749_3_2(payer, endpoint):
    data = {"token": payer.tokens()["access_token"], "token_type_hint": "access_token"}
    for parameter in data:
        _assert_invalid_request(payer.token(_sent_twice(data, parameter), auth=DEMO_CONFIDENTIAL,
                                            path=f"/oauth2/{endpoint}"))
    assert payer.introspect(data["token"])["active"] is True


@pytest.mark.parametrize("parameter", ["state", "response_type", "redirect_uri", "scope", "client_id", "nonce"])
def test_an_overlong_value_at_authorize_gets_an_error_page_without_it(payer, parameter):
    """A value past MAX_LENGTH characters is `invalid_request` on the error page and is never echoed: a 100 kB
    `state` used to come back in a 100 kB Location header that HTTP clients refuse to read."""
    value = "a" * (MAX_LENGTH + 1)
    response = requests.get(payer.authorize_url(**{"response_type": "code", parameter: value}),
                            allow_redirects=False, timeout=10)
    _assert_error_page(response)
    assert value not in response.text and parameter in response.text
    assert len(response.headers.get("Location", "")) < MAX_LENGTH


def test_a_value_at_the_limit_is_accepted(payer):
    state = "s" * MAX_LENGTH
    assert payer.sign_in(payer.authorize_url(state=state))["state"] == state


@pytest.mark.parametrize("parameter", ["code", "client_secret", "code_verifier", "redirect_uri"])
def test_an_overlong_value_at_the_token_endpoint_is_invalid_request(payer, parameter):
    data = {"grant_type": "authorization_code", "code": "c", "redirect_uri": CALLBACK,
            "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1], "code_verifier": "v" * 43,
            parameter: "a" * (MAX_LENGTH + 1)}
    response = payer.token(data)
    _assert_invalid_request(response)
    assert data[parameter] not in response.text
