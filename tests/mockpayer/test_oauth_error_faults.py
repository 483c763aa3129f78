"""`authorize_error` and `token_error`: the OAuth endpoints refusing on purpose the way RFC 6749 has them refuse,
picked by the usual fault conditions, and counted apart at the authorize endpoint."""

import pytest
import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, assert_oauth_error


def _set_faults(payer, system_id="demoplan", **spec) -> dict:
    response = requests.post(f"{payer.url}/_admin/faults", json={"system_id": system_id, **spec}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()[system_id]


def _authorize(payer, **params) -> requests.Response:
    return requests.get(payer.authorize_url(**params), allow_redirects=False, timeout=10)


def _redirected_error(response: requests.Response) -> str | None:
    """The `error` of a redirect back to the app, None for a response that is not one."""
    if response.status_code != 302:
        return None
    return dict(pair.split("=", 1) for pair in response.headers["Location"].split("?", 1)[1].split("&")).get("error")


@pytest.mark.parametrize("error", ["access_denied", "invalid_scope", "server_error", "temporarily_unavailable",
                                   "unauthorized_client", "invalid_request", "login_required"])
def test_authorize_error_redirects_to_the_app_with_the_error_and_state(payer, error):
    """RFC 6749 §4.1.2.1 (AZ-3): to the registered redirect URI, `error` and the `state` the app sent."""
    _set_faults(payer, authorize_error={"error": error, "times": 1})
    response = _authorize(payer, state="the-apps-state")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{CALLBACK}?") and f"error={error}" in location and "state=the-apps-state" in location
    assert "code=" not in location and "injected+fault+authorize_error" in location
    assert _authorize(payer).status_code == 200  # then the sign-in page


@pytest.mark.parametrize("error", ["invalid_client", "invalid_redirect_uri"])
def test_authorize_errors_about_the_client_or_redirect_get_the_error_page(payer, error):
    """RFC 6749 §4.1.2.1 first paragraph (AZ-2): never redirected, shown to the member."""
    _set_faults(payer, authorize_error={"error": error})
    response = _authorize(payer)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "This app&#39;s sign-in request is not valid" in response.text and "authorization request 1" in response.text


def test_authorize_error_conditions_count_authorization_requests_not_sign_in_steps(payer):
    """`every` counts the requests an app sends to the authorize endpoint: the pages' own form posts are the
    member's steps of one request. A request refused before it is checked is not counted either."""
    _set_faults(payer, authorize_error={"error": "server_error", "every": 2})
    assert payer.sign_in(payer.authorize_url())["code"]  # request 1: three form posts after it
    assert _redirected_error(_authorize(payer)) == "server_error"  # request 2
    assert _authorize(payer, client_id="nobody").status_code == 400  # not an authorization request it accepts
    assert _authorize(payer).status_code == 200  # request 3
    report = requests.get(f"{payer.url}/_admin/faults", timeout=10).json()["demoplan"]
    assert report["requests"]["authorize"] == 3 and report["hits"] == {"authorize_error": 1}


def test_authorize_error_from_to_and_reset(payer):
    _set_faults(payer, authorize_error={"error": "access_denied", "from": 2, "to": 3})
    assert [_redirected_error(_authorize(payer)) for _ in range(4)] == [None, "access_denied", "access_denied", None]
    assert requests.post(f"{payer.url}/_admin/reset", timeout=10).status_code == 200
    assert [_redirected_error(_authorize(payer)) for _ in range(2)] == [None, "access_denied"]


def test_authorize_error_at_a_rate_replays_with_the_seed(payer):
    _set_faults(payer, seed=11, authorize_error={"error": "temporarily_unavailable", "rate": 0.5})
    first = [_redirected_error(_authorize(payer)) for _ in range(12)]
    requests.post(f"{payer.url}/_admin/reset", timeout=10)
    assert [_redirected_error(_authorize(payer)) for _ in range(12)] == first
    assert set(first) == {None, "temporarily_unavailable"}


def test_token_error_once_then_the_same_code_works(payer):
    """RFC 6749 §5.2 JSON (TK-6); an error that says nothing against the code leaves it usable."""
    _set_faults(payer, token_error={"error": "unauthorized_client", "times": 1})
    code = payer.code()
    refused = payer.exchange(code)
    assert_oauth_error(refused, 400, "unauthorized_client")
    assert refused.headers["Cache-Control"] == "no-store" and "injected fault token_error" in refused.text
    assert payer.exchange(code).status_code == 200


def test_token_error_invalid_grant_spends_the_code(payer):
    """invalid_grant says the code is no good: it stays so, as a payer's own refusal would leave it."""
    _set_faults(payer, token_error={"error": "invalid_grant", "times": 1})
    code = payer.code()
    assert_oauth_error(payer.exchange(code), 400, "invalid_grant")
    assert_oauth_error(payer.exchange(code), 400, "invalid_grant")
    assert payer.exchange(payer.code()).status_code == 200


def test_token_error_invalid_client_with_basic_is_401_with_a_challenge(payer):
    """RFC 6749 §5.2: a client that used the Authorization header MUST get 401 and `WWW-Authenticate` of its
    scheme (TK-4); one that sent its secret in the body gets the status the rule names (400 by default)."""
    _set_faults(payer, token_error={"error": "invalid_client", "times": 2})
    form = {"grant_type": "authorization_code", "code": payer.code(), "redirect_uri": CALLBACK}
    basic = payer.token(form, auth=DEMO_CONFIDENTIAL)
    assert_oauth_error(basic, 401, "invalid_client")
    assert basic.headers["WWW-Authenticate"].startswith("Basic ")
    in_body = payer.exchange(form["code"])
    assert_oauth_error(in_body, 400, "invalid_client")
    assert "WWW-Authenticate" not in in_body.headers
    assert payer.exchange(form["code"]).status_code == 200


def test_token_error_401_carries_a_challenge_even_without_basic(payer):
    """RFC 9110 §15.5.2: every 401 names a scheme."""
    _set_faults(payer, token_error={"error": "invalid_client", "status": 401})
    refused = payer.exchange(payer.code())
    assert_oauth_error(refused, 401, "invalid_client")
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")


def test_token_error_aimed_at_refreshes_is_an_expired_refresh_token(payer):
    """`grant_type` picks refreshes among the token requests; invalid_grant leaves that refresh token dead (RFC
    6749 §6, §5.2), and nothing else: the access token works until it expires, and other grants still refresh."""
    _set_faults(payer, token_error={"error": "invalid_grant", "grant_type": "refresh_token", "times": 1})
    tokens = payer.tokens()  # the code exchange is not a refresh: untouched
    other = payer.tokens()
    assert_oauth_error(payer.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert_oauth_error(payer.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    assert payer.introspect(tokens["access_token"])["active"] is True
    assert payer.refresh(other["refresh_token"]).status_code == 200
    report = requests.get(f"{payer.url}/_admin/faults", timeout=10).json()["demoplan"]
    assert report["hits"] == {"token_error": 1} and report["requests"]["token"] == 5


def test_token_error_every_nth_token_request(payer):
    _set_faults(payer, token_error={"error": "invalid_request", "every": 2})
    statuses = [payer.exchange(payer.code()).status_code for _ in range(4)]
    assert statuses == [200, 400, 200, 400]


def test_token_error_at_blue_buttons_token_path(payer):
    """`bluebutton` mode's token endpoint is the same authorization server behind `/v2/o/token/`."""
    _set_faults(payer, "bluebutton", token_error={"error": "invalid_grant"})
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "bluebutton-public-app"}
    refused = requests.post(f"{payer.url}/bluebutton/v2/o/token/", data=form, timeout=10)
    assert_oauth_error(refused, 400, "invalid_grant")
    assert "injected fault token_error" in refused.json()["error_description"]


@pytest.mark.parametrize("spec, message", [
    ({"authorize_error": {}}, "authorize_error.error is needed (one of invalid_request, "),
    ({"authorize_error": {"error": "invalid_grant"}}, "authorize_error.error must be one of"),
    ({"authorize_error": {"error": "access_denied", "at": "token"}}, "acts at the authorize endpoint only"),
    ({"authorize_error": {"error": "access_denied", "page": 2}}, "the authorize endpoint has no pages"),
    ({"authorize_error": {"error": "access_denied", "status": 400}}, "unknown field 'status'"),
    ({"token_error": {}}, "token_error.error is needed"),
    ({"token_error": {"error": "access_denied"}}, "token_error.error must be one of"),
    ({"token_error": {"error": "invalid_grant", "status": 500}}, "token_error.status must be one of 400, 401"),
    ({"token_error": {"error": "invalid_grant", "status": 401}}, "status 401 is for invalid_client only"),
    ({"token_error": {"error": "invalid_grant", "grant_type": "password"}}, "token_error.grant_type must be one of"),
    ({"token_error": {"error": "invalid_grant", "at": "api"}}, "token_error acts at the token endpoint only"),
    ({"server_error": {"grant_type": "refresh_token"}}, "server_error: unknown field 'grant_type'"),
])
def test_bad_error_specs_are_refused_with_a_clear_message(payer, spec, message):
    response = requests.post(f"{payer.url}/_admin/faults", json={"system_id": "demoplan", **spec}, timeout=10)
    assert response.status_code == 400 and message in response.json()["error"], response.text
