"""`/_admin/clients`: a client registered while the mock runs works at once and as exactly as one from plan.json;
bad registrations get a short 4xx that names the field; a removed client's codes and tokens stop working."""

import pytest
import requests

from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, assert_oauth_error, s256

APP_CALLBACK = "com.example.app:/callback"


def _register(payer, **body) -> requests.Response:
    body = {"system_id": "demoplan", "client_id": "new-app", "redirect_uris": [APP_CALLBACK], **body}
    return requests.post(f"{payer.url}/_admin/clients", json=body, timeout=10)


def _sign_in_code(payer, client_id="new-app", redirect_uri=APP_CALLBACK, verifier="v" * 43, **params) -> str:
    url = payer.authorize_url(client_id=client_id, redirect_uri=redirect_uri, code_challenge=s256(verifier),
                              code_challenge_method="S256", **params)
    return payer.sign_in(url)["code"]


def test_a_registered_confidential_client_with_a_custom_scheme_works_at_once(payer):
    """RFC 8252 §7.1 private-use scheme, exact-matched (AZ-1); the secret is checked as plan.json's are."""
    response = _register(payer, client_secret="s3cret-of-the-test", name="Example App")
    assert response.status_code == 201, response.text
    assert response.json() == {"system_id": "demoplan", "client_id": "new-app", "name": "Example App",
                               "redirect_uris": [APP_CALLBACK], "public": False}
    assert response.headers["Location"] == "/_admin/clients/demoplan/new-app"
    code = _sign_in_code(payer)
    assert_oauth_error(payer.exchange(code, client=("new-app", "wrong"), redirect_uri=APP_CALLBACK,
                                      code_verifier="v" * 43), 401, "invalid_client")
    code = _sign_in_code(payer)
    exchanged = payer.exchange(code, client=("new-app", "s3cret-of-the-test"), redirect_uri=APP_CALLBACK,
                               code_verifier="v" * 43)
    assert exchanged.status_code == 200, exchanged.text


def test_a_registered_public_client_needs_pkce(payer):
    """RFC 9700 §2.1.1: public clients MUST use PKCE, registered ones too."""
    assert _register(payer).status_code == 201
    response = requests.get(payer.authorize_url(client_id="new-app", redirect_uri=APP_CALLBACK), allow_redirects=False)
    assert response.status_code == 302 and "error=invalid_request" in response.headers["Location"]
    assert response.headers["Location"].startswith(f"{APP_CALLBACK}?")


def test_a_port_less_loopback_registration_lets_only_the_port_vary(payer):
    """RFC 8252 §7.3, as for plan.json clients."""
    assert _register(payer, redirect_uris=["http://127.0.0.1/oauth/done"]).status_code == 201
    assert _sign_in_code(payer, redirect_uri="http://127.0.0.1:51234/oauth/done")
    refused = requests.get(payer.authorize_url(client_id="new-app", redirect_uri="http://127.0.0.1:51234/callback"),
                           allow_redirects=False)
    assert refused.status_code == 400 and "Location" not in refused.headers


def test_registered_scopes_cap_the_grant(payer):
    """RFC 6749 §3.3: the server may grant less than asked, and the token's `scope` says what it granted."""
    assert _register(payer, scopes=["patient/Coverage.read", "launch/patient"]).status_code == 201
    code = _sign_in_code(payer, scope="patient/*.read patient/Coverage.read launch/patient offline_access")
    tokens = payer.exchange(code, client="new-app", redirect_uri=APP_CALLBACK, code_verifier="v" * 43).json()
    assert tokens["scope"] == "patient/Coverage.read launch/patient"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{payer.url}/demoplan/r4/Coverage", headers=headers).status_code == 200
    assert requests.get(f"{payer.url}/demoplan/r4/ExplanationOfBenefit", headers=headers).status_code == 403


@pytest.mark.parametrize("change, status, message", [
    ({"redirect_uris": []}, 400, "redirect_uris must be a non-empty list"),
    ({"redirect_uris": "com.example.app:/callback"}, 400, "redirect_uris must be a non-empty list"),
    ({"redirect_uris": ["/callback"]}, 400, "is not an absolute URI (RFC 6749 section 3.1.2)"),
    ({"redirect_uris": ["com.example.app:/callback#done"]}, 400, "has a fragment (RFC 6749 section 3.1.2)"),
    ({"redirect_uris": ["javascript:alert(1)//"]}, 400, "which a browser acts on itself"),
    ({"redirect_uris": ["https:///callback"]}, 400, "has no host"),
    ({"redirect_uris": ["com.example.app:/call back"]}, 400, "characters that a URI may hold"),
    ({"client_id": ""}, 400, "client_id must be a non-empty string"),
    ({"client_id": "caf\u00e9"}, 400, "client_id must be printable ASCII"),
    ({"client_secret": ""}, 400, "client_secret must be printable ASCII or null"),
    ({"name": 7}, 400, "name must be a string"),
    ({"scopes": []}, 400, "scopes must be a non-empty list"),
    ({"secret": "x"}, 400, "Unknown field 'secret'"),
    ({"system_id": "nowhere"}, 404, "No plan 'nowhere'"),
    ({"system_id": ["demoplan"]}, 404, "No plan"),
])
def test_bad_registrations_are_refused_with_a_short_message(payer, change, status, message):
    response = _register(payer, **change)
    assert response.status_code == status and message in response.json()["error"], response.text


def test_missing_fields_are_named(payer):
    response = requests.post(f"{payer.url}/_admin/clients", json={"client_id": "x", "redirect_uris": [CALLBACK]})
    assert response.status_code == 400 and "system_id is required" in response.json()["error"]
    response = requests.post(f"{payer.url}/_admin/clients", json={"system_id": "demoplan", "redirect_uris": [CALLBACK]})
    assert response.status_code == 400 and response.json()["error"] == "client_id is required."
    response = requests.post(f"{payer.url}/_admin/clients", data="client_id=x")
    assert response.status_code == 400 and "application/json" in response.json()["error"]


def test_a_client_id_taken_is_a_conflict(payer):
    assert _register(payer).status_code == 201
    assert _register(payer).status_code == 409
    taken = _register(payer, client_id=DEMO_CONFIDENTIAL[0])
    assert taken.status_code == 409 and "already has a client" in taken.json()["error"]


def test_the_listing_names_every_client_and_no_secret(payer):
    assert _register(payer, client_secret="never-shown-again").status_code == 201
    listed = requests.get(f"{payer.url}/_admin/clients", params={"system_id": "demoplan"}).json()
    assert list(listed) == ["demoplan"]
    assert [client["client_id"] for client in listed["demoplan"]] == [
        DEMO_CONFIDENTIAL[0], "demo-public-app", "new-app"]
    everything = requests.get(f"{payer.url}/_admin/clients").text
    assert "never-shown-again" not in everything and DEMO_CONFIDENTIAL[1] not in everything


def test_removing_a_client_revokes_what_it_was_issued(payer):
    """Its access and refresh tokens are revoked (RFC 7662: introspection says inactive), its codes void; 404
    the second time; and a plan.json client can be removed too, until the mock restarts."""
    tokens = payer.tokens()
    code = payer.code()
    assert requests.delete(f"{payer.url}/_admin/clients/demoplan/{DEMO_CONFIDENTIAL[0]}").status_code == 204
    assert requests.delete(f"{payer.url}/_admin/clients/demoplan/{DEMO_CONFIDENTIAL[0]}").status_code == 404
    assert requests.delete(f"{payer.url}/_admin/clients/nowhere/x").status_code == 404
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{payer.url}/demoplan/r4/Patient/demoplan-m1", headers=headers).status_code == 401
    assert_oauth_error(payer.exchange(code), 401, "invalid_client")
    assert requests.post(f"{payer.url}/_admin/clients", json={
        "system_id": "demoplan", "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1],
        "redirect_uris": [CALLBACK]}).status_code == 201
    assert payer.introspect(tokens["access_token"]) == {"active": False}
    assert payer.introspect(tokens["refresh_token"]) == {"active": False}
    assert_oauth_error(payer.exchange(code), 400, "invalid_grant")
    assert payer.tokens()["access_token"]


def test_a_client_id_with_a_slash_can_be_removed(payer):
    assert _register(payer, client_id="team/app").status_code == 201
    assert requests.delete(f"{payer.url}/_admin/clients/demoplan/team%2Fapp").status_code == 204


def test_reset_keeps_registered_clients(payer):
    """`/_admin/reset` rewinds run state (fault counters, lockouts); a registration is set-up, like a fault spec."""
    assert _register(payer).status_code == 201
    assert requests.post(f"{payer.url}/_admin/reset").status_code == 200
    assert _sign_in_code(payer)


def test_a_web_page_of_another_site_cannot_register_a_client(payer):
    """A cross-site form POST needs no preflight: its Origin gives it away."""
    body = {"system_id": "demoplan", "client_id": "evil", "redirect_uris": ["https://evil.example/cb"]}
    response = requests.post(f"{payer.url}/_admin/clients", json=body, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert [c["client_id"] for c in requests.get(f"{payer.url}/_admin/clients").json()["demoplan"]] == [
        DEMO_CONFIDENTIAL[0], "demo-public-app"]
