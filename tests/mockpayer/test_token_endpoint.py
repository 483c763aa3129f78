"""The token endpoint's refusals: codes, client authentication, methods (TK-1..TK-6)."""

import pytest
import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, assert_oauth_error


def test_code_is_single_use_and_a_replay_revokes_what_it_issued(payer):
    """TK-1."""
    code = payer.code()
    first = payer.exchange(code)
    assert first.status_code == 200
    tokens = first.json()
    assert payer.introspect(tokens["access_token"])["active"] is True
    assert_oauth_error(payer.exchange(code), 400, "invalid_grant")
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    refresh = payer.refresh(tokens["refresh_token"])
    assert_oauth_error(refresh, 400, "invalid_grant")


def test_code_expires_after_the_plans_lifetime(payer):
    """TK-2: 300 s for demoplan, moved on the test clock rather than slept."""
    fresh = payer.code()
    assert payer.exchange(fresh).status_code == 200
    stale = payer.code()
    payer.clock.advance(301)
    assert_oauth_error(payer.exchange(stale), 400, "invalid_grant")


def test_code_is_bound_to_client_and_redirect_uri(payer):
    """TK-3."""
    assert_oauth_error(payer.exchange(payer.code(), redirect_uri="http://127.0.0.1:8765/other"), 400, "invalid_grant")
    other_client = payer.exchange(payer.code(), client="demo-public-app")
    assert_oauth_error(other_client, 400, "invalid_grant")


def test_bogus_code_and_unknown_client(payer):
    """TK-4."""
    assert_oauth_error(payer.exchange("not-a-code"), 400, "invalid_grant")
    unknown = payer.token({"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
                          auth=("nobody", "secret"))
    assert_oauth_error(unknown, 401, "invalid_client")
    assert "WWW-Authenticate" in unknown.headers


def test_wrong_client_secret_is_401_invalid_client(payer):
    response = payer.exchange(payer.code(), client=(DEMO_CONFIDENTIAL[0], "wrong-secret"))
    assert_oauth_error(response, 401, "invalid_client")
    basic = payer.token({"grant_type": "authorization_code", "code": payer.code(), "redirect_uri": CALLBACK},
                        auth=(DEMO_CONFIDENTIAL[0], "wrong-secret"))
    assert_oauth_error(basic, 401, "invalid_client")


def test_confidential_client_must_authenticate(payer):
    code = payer.code()
    response = payer.token({"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                            "client_id": DEMO_CONFIDENTIAL[0]})
    assert_oauth_error(response, 401, "invalid_client")


def test_get_on_the_token_endpoint_is_405(payer):
    """TK-5."""
    response = requests.get(payer.url + "/oauth2/token", timeout=10)
    assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["Allow"] == "POST"


def test_json_body_is_not_a_token_request(payer):
    """TK-5: only form bodies are read."""
    response = requests.post(payer.url + "/demoplan/oauth2/token", timeout=10,
                             json={"grant_type": "authorization_code", "code": payer.code()}, auth=DEMO_CONFIDENTIAL)
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_unknown_grant_type(payer):
    response = payer.token({"grant_type": "password", "username": "member1", "password": "pass-member1"},
                           auth=DEMO_CONFIDENTIAL)
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_tokens_are_unique_and_long(payer):
    """TK-9: at least 43 URL-safe characters (256 random bits), never repeated."""
    seen = set()
    for _ in range(5):
        tokens = payer.tokens()
        for name in ("access_token", "refresh_token"):
            assert len(tokens[name]) >= 43
            seen.add(tokens[name])
    assert len(seen) == 10


# ---- client authentication in plain words; parameters in the body --------------------------------------------

PLAIN = ("Client authentication failed: the client's credentials are missing or wrong, or the client may not "
         "authenticate this way here.")
SMART_CONFIDENTIAL = "smart-confidential-app"


@pytest.mark.parametrize("path, client_id", [("/oauth2/token", DEMO_CONFIDENTIAL[0]),
                                             ("/smartplan/oauth2/token", SMART_CONFIDENTIAL)])
@pytest.mark.parametrize("credentials", ["wrong secret by HTTP Basic", "wrong secret in the body", "no secret",
                                         "a secret for a public client"])
def test_a_failed_client_authentication_is_said_plainly(payer, path, client_id, credentials):
    """RFC 6749 §5.2 `invalid_client`, its `error_description` in words an app's developer reads, in 1up and SMART
    modes alike: never the server's own names for its methods (authlib's "cannot authenticate with methods")."""
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK}
    auth = None
    if credentials == "wrong secret by HTTP Basic":
        auth = (client_id, "wrong")
    elif credentials == "wrong secret in the body":
        data |= {"client_id": client_id, "client_secret": "wrong"}
    elif credentials == "no secret":
        data["client_id"] = client_id
    else:
        data |= {"client_id": client_id.replace("confidential", "public"), "client_secret": "made-up"}
    response = payer.token(data, auth=auth, path=path)
    assert_oauth_error(response, 401, "invalid_client")
    assert response.json()["error_description"] == PLAIN


@pytest.mark.parametrize("endpoint", ["revoke", "introspect"])
def test_a_failed_client_authentication_at_revocation_and_introspection_is_said_plainly(payer, endpoint):
    response = payer.token({"token": "x", "client_id": DEMO_CONFIDENTIAL[0], "client_secret": "wrong"},
                           path=f"/oauth2/{endpoint}")
    assert response.json() == {"error": "invalid_client", "error_description": PLAIN}


@pytest.mark.parametrize("in_query", ["grant_type", "code", "refresh_token", "client_secret"])
def test_token_request_parameters_in_the_query_are_refused(payer, in_query):
    """RFC 6749 §3.2 and §2.3.1: a token request's parameters travel in the form body. One in the URL query is
    `invalid_request` naming it, whichever it is (`grant_type` there used to be read and `refresh_token` not),
    and the code is not spent."""
    code = payer.code()
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1], "refresh_token": "x"}
    query = {in_query: data.pop(in_query)}
    if in_query != "refresh_token":
        data.pop("refresh_token")
    response = payer.token(data, params=query)
    assert_oauth_error(response, 400, "invalid_request")
    assert f"'{in_query}' is in the URL query" in response.json()["error_description"]
    assert payer.exchange(code).status_code == 200


def test_a_refresh_with_its_token_in_the_query_is_refused(payer):
    tokens = payer.tokens()
    response = payer.token({"grant_type": "refresh_token"}, auth=DEMO_CONFIDENTIAL,
                           params={"refresh_token": tokens["refresh_token"]})
    assert_oauth_error(response, 400, "invalid_request")
    assert "'refresh_token' is in the URL query" in response.json()["error_description"]
    assert payer.refresh(tokens["refresh_token"]).status_code == 200  # unspent


def test_a_query_that_is_no_token_parameter_is_ignored(payer):
    """RFC 6749 §3.2 lets an endpoint's URI carry a query of its own; what is not a token parameter changes
    nothing."""
    response = payer.token({"grant_type": "authorization_code", "code": payer.code(), "redirect_uri": CALLBACK},
                           auth=DEMO_CONFIDENTIAL, params={"utm_source": "docs"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("endpoint", ["revoke", "introspect"])
def test_the_token_in_the_query_of_revocation_and_introspection_is_refused(payer, endpoint):
    """RFC 7009 §2.1, RFC 7662 §2.1: `token` in the form body; in the query it is `invalid_request`."""
    token = payer.tokens()["access_token"]
    response = payer.token({}, auth=DEMO_CONFIDENTIAL, path=f"/oauth2/{endpoint}", params={"token": token})
    assert_oauth_error(response, 400, "invalid_request")
    assert "'token' is in the URL query" in response.json()["error_description"]
    assert payer.introspect(token)["active"] is True
