"""CORS on what a browser SMART app fetches, and none on what only navigations or local tools should reach.

SMART App Launch 2.x: apps in a browser call discovery, token and FHIR endpoints with `fetch`.

Preflights follow the Fetch standard's CORS protocol: an `OPTIONS` with `Access-Control-Request-Method` (and
`-Headers`) must answer 2xx with the allowing headers, or the browser never sends the request.
"""

import pytest
import requests

APP_ORIGIN = "http://127.0.0.1:5173"
BROWSER_APP_URLS = [
    ("GET", "/smartplan/r4/.well-known/smart-configuration"),
    ("GET", "/smartplan/r4/metadata"),
    ("GET", "/smartplan/r4/.well-known/openid-configuration"),
    ("GET", "/smartplan/r4/.well-known/jwks.json"),
    ("GET", "/smartplan/oauth2/userinfo"),
    ("POST", "/smartplan/r4/ExplanationOfBenefit/_search"),
    ("GET", "/smartplan/r4/ExplanationOfBenefit"),
    ("GET", "/smartplan/r4/Patient/smartplan-m1/$everything"),
    ("GET", "/smartplan/directory/r4/metadata"),
    ("POST", "/smartplan/oauth2/token"),
    ("POST", "/oauth2/token"),
    ("POST", "/smartplan/oauth2/revoke"),
    ("POST", "/smartplan/oauth2/introspect"),
]


def _preflight(url: str, method: str, headers: str = "authorization, content-type") -> requests.Response:
    return requests.options(url, headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": method,
                                          "Access-Control-Request-Headers": headers}, timeout=10)


@pytest.mark.parametrize(("method", "path"), BROWSER_APP_URLS)
def test_preflight_allows_a_browser_app(payer, method, path):
    """Fetch standard, CORS-preflight: 2xx, the method allowed, `Authorization` and `Content-Type` allowed."""
    response = _preflight(payer.url + path, method)
    assert 200 <= response.status_code < 300
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"].split(", ")
    allowed = {name.strip().lower() for name in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers  # no cookies: `*` stays valid


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_preflight_for_a_write_is_not_allowed(payer, method):
    """The member API is read-only (FHIR R4 http.html): a browser is never told it may write."""
    response = _preflight(f"{payer.url}/smartplan/r4/ExplanationOfBenefit", method)
    assert "Access-Control-Allow-Methods" not in response.headers


def test_answers_and_errors_are_readable_by_the_app(payer):
    """A 401 from the API and a 400 from the token endpoint carry CORS headers, so the app can read why;
    `WWW-Authenticate`, `Retry-After` and the `Date` a Retry-After date is read against are exposed to its script
    (RFC 6750 §3, RFC 9110 §10.2.3, §6.6.1)."""
    unauthorized = requests.get(f"{payer.url}/smartplan/r4/ExplanationOfBenefit", headers={"Origin": APP_ORIGIN},
                                timeout=10)
    assert unauthorized.status_code == 401
    assert unauthorized.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {name.strip() for name in unauthorized.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"WWW-Authenticate", "Retry-After", "Location", "Date"} <= exposed
    refused = requests.post(f"{payer.url}/smartplan/oauth2/token", data={"grant_type": "authorization_code"},
                            headers={"Origin": APP_ORIGIN}, timeout=10)
    assert refused.status_code in (400, 401)
    assert refused.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/oauth2/authorize/smartplan", "/smartplan/oauth2/authorize", "/_admin/faults"])
def test_sign_in_pages_and_admin_answer_no_other_origin(payer, path):
    """RFC 9700 §2.6/AZ-9: the authorization endpoint does not support CORS; `/_admin` serves this machine only."""
    preflight = _preflight(payer.url + path, "POST")
    plain = requests.get(payer.url + path, headers={"Origin": APP_ORIGIN}, timeout=10)
    for response in (preflight, plain):
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(("path", "allow"), [
    ("/smartplan/r4/ExplanationOfBenefit", "GET, HEAD, OPTIONS"),
    ("/smartplan/r4/ExplanationOfBenefit/_search", "POST, OPTIONS"),
    ("/smartplan/r4/Patient/smartplan-m1/$everything", "GET, HEAD, POST, OPTIONS"),
])
def test_options_on_the_api_names_the_methods_the_path_takes(payer, path, allow):
    """RFC 9110 §9.3.7 and §10.2.1: `OPTIONS` tells the methods the path takes, the same `Allow` a 405 gives."""
    response = _preflight(payer.url + path, "GET")
    assert response.status_code == 204
    assert response.headers["Allow"] == allow
