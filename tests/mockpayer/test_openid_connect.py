"""OpenID Connect on the mock: the id_token, discovery, the key set at `jwks_uri`, and UserInfo.

The id_token by OIDC Core §2, §3.1.3.7, §12.2; discovery by OIDC Discovery 1.0 §3, §4.3 and SMART App Launch
`sso-openid-connect`; UserInfo by OIDC Core §5.3 and RFC 6750 §3.1.

Every id_token here is verified as an app would: the key set is fetched from the `jwks_uri` that discovery
names, and joserfc checks the RS256 signature against it.
"""

import json
import logging
import secrets
import shutil
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.clock import Clock
from mockpayer.plans import BUNDLED_PLANS_DIR, PlanError, load_plan
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, PayerDriver, s256

OPENID = "openid fhirUser patient/*.read offline_access"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _configuration(url: str, headers=None) -> dict:
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def _verified(id_token: str, jwks_uri: str, headers=None) -> jwt.Token:
    """The id_token decoded with the key set served at `jwks_uri`; joserfc refuses a bad signature."""
    key_set = requests.get(jwks_uri, headers=headers, timeout=10).json()
    token = jwt.decode(id_token, KeySet.import_key_set(key_set), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] in {key["kid"] for key in key_set["keys"]}
    return token


def _check_times(token: jwt.Token, clock: Clock, issuer: str, audience: str) -> None:
    """`iss`, `aud` and `exp` as an app validates them, at the mock's own time (OIDC Core §3.1.3.7)."""
    registry = jwt.JWTClaimsRegistry(now=int(clock.now()), iss={"essential": True, "value": issuer},
                                     aud={"essential": True, "value": audience}, sub={"essential": True},
                                     iat={"essential": True}, exp={"essential": True})
    registry.validate(token.claims)


def _smart_public_tokens(payer: PayerDriver, scope: str, **extra) -> dict:
    """The strict `smartplan` with its public client: `aud`, `state` and PKCE S256."""
    verifier = secrets.token_urlsafe(48)
    url = payer.authorize_url(system_id="smartplan", client_id="smart-public-app", response_type="code", scope=scope,
                              aud=f"{payer.url}/smartplan/r4", code_challenge=s256(verifier),
                              code_challenge_method="S256", **extra)
    code = payer.sign_in(url, "smart1", "pass-smart1")["code"]
    response = payer.exchange(code, client="smart-public-app", code_verifier=verifier)
    assert response.status_code == 200, response.text
    return response.json()


# ---- the id_token -----------------------------------------------------------------------------------


def test_id_token_verifies_against_jwks_uri_and_carries_the_claims(payer):
    """OIDC Core §3.1.3.7 and SMART App Launch: RS256 with a `kid`, `iss` the FHIR base, `aud` the client,
    `iat`/`exp` in the mock's clock, `nonce` echoed (§3.1.2.1), `fhirUser` the member's Patient as an absolute URL."""
    payer.clock.advance(30 * 24 * 3600)  # a clock far from the wall clock shows the times come from the mock
    tokens = payer.tokens(scope=OPENID, nonce="n-0S6_WzA2Mj")
    config = _configuration(f"{payer.url}/demoplan/r4/.well-known/smart-configuration")
    token = _verified(tokens["id_token"], config["jwks_uri"])
    claims = token.claims
    issuer = f"{payer.url}/demoplan/r4"
    assert config["issuer"] == claims["iss"] == issuer
    assert claims["aud"] == DEMO_CONFIDENTIAL[0]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["iat"] >= time.time() + 29 * 24 * 3600
    assert claims["exp"] - claims["iat"] == 3600  # the plan's access token lifetime
    assert claims["auth_time"] <= claims["iat"]  # the member signed in for this request (§3.1.2.1 `max_age`)
    _check_times(token, payer.clock, issuer, DEMO_CONFIDENTIAL[0])
    assert claims["fhirUser"] == f"{issuer}/Patient/demoplan-m1"
    # The fhirUser URL resolves to the member's Patient with the access token issued alongside it.
    patient = requests.get(claims["fhirUser"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10)
    assert patient.status_code == 200 and patient.json()["id"] == "demoplan-m1"


def test_prompt_none_answers_login_required(payer):
    """OIDC Core §3.1.2.6: with `prompt=none` and nobody signed in (the mock keeps no sign-in session), the app
    gets `login_required` at its redirect URI, with its `state`, and no page is shown."""
    response = requests.get(payer.authorize_url(scope=OPENID, prompt="none"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    assert "error=login_required" in location and "state=state-123" in location


@pytest.mark.parametrize("parameter", ["nonce", "prompt", "max_age"])
def test_an_openid_parameter_sent_twice_is_refused(payer, parameter):
    """RFC 6749 §3.1 (parameters at most once), for the OpenID Connect ones: `invalid_request` at the app's
    redirect URI, with its state, and no sign-in page."""
    url = payer.authorize_url(scope=OPENID) + f"&{parameter}=1&{parameter}=2"
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?") and "error=invalid_request" in location and "state=state-123" in location


def test_public_client_on_the_strict_plan_gets_an_id_token(payer):
    """SMART `sso-openid-connect` on `smartplan` (PKCE, `aud`): `aud` is the public client's id; no nonce unless sent."""
    tokens = _smart_public_tokens(payer, "launch/patient openid fhirUser patient/*.rs")
    config = _configuration(f"{payer.url}/smartplan/r4/.well-known/openid-configuration")
    token = _verified(tokens["id_token"], config["jwks_uri"])
    _check_times(token, payer.clock, config["issuer"], "smart-public-app")
    assert token.claims["fhirUser"] == f"{payer.url}/smartplan/r4/Patient/smartplan-m1"
    assert "nonce" not in token.claims


def test_no_id_token_without_openid(payer):
    """OIDC Core §3.1.3.3: an id_token answers an OpenID request, and only a request with `openid` is one."""
    tokens = payer.tokens(scope="fhirUser patient/*.read offline_access")
    assert "id_token" not in tokens


def test_no_fhir_user_claim_without_the_fhir_user_scope(payer):
    """SMART App Launch: `fhirUser` is in the id_token when the `fhirUser` scope was granted, and only then."""
    tokens = payer.tokens(scope="openid patient/*.read offline_access")
    config = _configuration(f"{payer.url}/demoplan/r4/.well-known/openid-configuration")
    claims = _verified(tokens["id_token"], config["jwks_uri"]).claims
    assert "fhirUser" not in claims and claims["sub"]


def test_sub_is_stable_for_a_member_and_is_not_their_username(payer):
    """OIDC Core §2: `sub` is locally unique and never reassigned, so apps compare it across sessions,
    and across restarts of the mock; it is not the member's sign-in name."""
    jwks_uri = f"{payer.url}/demoplan/r4/.well-known/jwks.json"
    first = _verified(payer.tokens(scope=OPENID)["id_token"], jwks_uri).claims["sub"]
    second = _verified(payer.tokens(scope=OPENID)["id_token"], jwks_uri).claims["sub"]
    other = payer.sign_in(payer.authorize_url(scope=OPENID), "member3", "pass-member3")["code"]
    other_sub = _verified(payer.exchange(other).json()["id_token"], jwks_uri).claims["sub"]
    assert first == second and first != other_sub
    assert "member1" not in first and "pass-member1" not in first
    restarted = start_in_thread(create_app(clock=Clock()))
    try:
        again = PayerDriver(restarted.url, None, Clock())
        claims = _verified(again.tokens(scope=OPENID)["id_token"], f"{again.url}/demoplan/r4/.well-known/jwks.json").claims
    finally:
        restarted.stop()
    assert claims["sub"] == first


def test_refresh_with_openid_issues_a_fresh_id_token(payer):
    """OIDC Core §12.2: a refresh issues a new id_token with the same `iss`, `sub` and `aud`, a new `iat`, and no nonce."""
    tokens = payer.tokens(scope=OPENID, nonce="first-nonce")
    jwks_uri = f"{payer.url}/demoplan/r4/.well-known/jwks.json"
    before = _verified(tokens["id_token"], jwks_uri).claims
    payer.clock.advance(600)
    refreshed = payer.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    token = _verified(refreshed.json()["id_token"], jwks_uri)
    after = token.claims
    assert refreshed.json()["id_token"] != tokens["id_token"]
    assert (after["iss"], after["sub"], after["aud"], after["fhirUser"]) == (
        before["iss"], before["sub"], before["aud"], before["fhirUser"])
    assert after["iat"] >= before["iat"] + 600
    assert "nonce" not in after
    assert after.get("auth_time", before["auth_time"]) == before["auth_time"]  # if present, the original one
    _check_times(token, payer.clock, before["iss"], DEMO_CONFIDENTIAL[0])


def test_refresh_narrowed_without_openid_has_no_id_token(payer):
    """RFC 6749 §6 narrowing: a refresh asking for a scope without `openid` is not an OpenID request."""
    tokens = payer.tokens(scope=OPENID)
    refreshed = payer.refresh(tokens["refresh_token"], scope="patient/*.read offline_access")
    assert refreshed.status_code == 200, refreshed.text
    assert "id_token" not in refreshed.json()


def test_key_set_holds_public_members_only(payer):
    """RFC 7517 §5/RFC 7518 §6.3: the served set lets anyone verify and no one sign."""
    key_set = _configuration(f"{payer.url}/demoplan/r4/.well-known/jwks.json")
    [key] = key_set["keys"]
    assert key["kty"] == "RSA" and key["kid"] and {"n", "e"} <= set(key)
    assert not set(PRIVATE_MEMBERS) & set(key)
    other = _configuration(f"{payer.url}/smartplan/r4/.well-known/jwks.json")["keys"][0]
    assert other["kid"] != key["kid"]  # a key per plan


def test_no_id_token_or_private_key_reaches_the_log(payer, caplog):
    """WB-4 for OpenID Connect: the id_token and the signing key stay out of the server's log, even at DEBUG."""
    caplog.set_level(logging.DEBUG)
    tokens = payer.tokens(scope=OPENID)
    payer.refresh(tokens["refresh_token"])
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("urllib3"))
    assert "POST /oauth2/token 200" in logged
    private = payer.app.extensions["mockpayer"].auth_servers["demoplan"].signing_key.get().as_dict(private=True)
    for secret in (tokens["id_token"], *(private[member] for member in PRIVATE_MEMBERS)):
        assert secret not in logged


def test_introspection_carries_the_id_token_claims(payer):
    """SMART token introspection: when an id_token was issued, `iss` and `sub` (SHALL) and `fhirUser` (SHOULD),
    equal to the id_token's; without `openid`, the same `sub` and neither of the others."""
    tokens = payer.tokens(scope=OPENID)
    claims = _verified(tokens["id_token"], f"{payer.url}/demoplan/r4/.well-known/jwks.json").claims
    introspected = payer.introspect(tokens["access_token"])
    assert introspected["active"] is True
    assert {key: introspected[key] for key in ("iss", "sub", "fhirUser")} == {
        key: claims[key] for key in ("iss", "sub", "fhirUser")}
    plain = payer.introspect(payer.tokens(scope="fhirUser patient/*.read")["access_token"])
    assert plain["sub"] == claims["sub"] and "iss" not in plain and "fhirUser" not in plain


# ---- discovery --------------------------------------------------------------------------------------

DISCOVERY_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
                      "subject_types_supported", "id_token_signing_alg_values_supported")


def test_openid_configuration_answers_at_the_issuer(payer):
    """OIDC Discovery 1.0 §3 required fields (and the recommended ones a SMART app reads); §4.3: `issuer` equals
    the URL the document was fetched under, and the id_token's `iss`, exactly. RS256 is listed (SMART)."""
    issuer = f"{payer.url}/smartplan/r4"
    config = _configuration(f"{issuer}/.well-known/openid-configuration")
    assert set(DISCOVERY_REQUIRED) <= set(config)
    assert config["issuer"] == issuer
    assert config["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert config["userinfo_endpoint"] == f"{payer.url}/smartplan/oauth2/userinfo"
    assert config["response_types_supported"] == ["code"]
    assert config["subject_types_supported"] == ["public"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "fhirUser", "profile"} <= set(config["scopes_supported"])
    assert {"sub", "iss", "aud", "exp", "iat", "fhirUser"} <= set(config["claims_supported"])
    assert {"client_secret_basic", "none"} <= set(config["token_endpoint_auth_methods_supported"])
    smart = _configuration(f"{issuer}/.well-known/smart-configuration")
    assert "sso-openid-connect" in smart["capabilities"]
    assert {key: smart[key] for key in ("issuer", "jwks_uri", "userinfo_endpoint", "token_endpoint")} == {
        key: config[key] for key in ("issuer", "jwks_uri", "userinfo_endpoint", "token_endpoint")}
    tokens = _smart_public_tokens(payer, "launch/patient openid fhirUser patient/*.rs")
    assert _verified(tokens["id_token"], config["jwks_uri"]).claims["iss"] == config["issuer"]


def test_openid_connect_by_host_name(payer):
    """The seed's host names: the issuer is `api.<base_url>/r4`, documents and keys answer there, the token
    endpoint on `auth.<base_url>` issues an id_token with that issuer, and UserInfo answers on the auth host."""
    port = payer.url.rsplit(":", 1)[1]
    api, auth = f"api.1updemohealthplan.com:{port}", f"auth.1updemohealthplan.com:{port}"
    config = _configuration(f"{payer.url}/r4/.well-known/openid-configuration", headers={"Host": api})
    issuer = f"http://{api}/r4"
    assert config["issuer"] == issuer
    assert config["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert config["userinfo_endpoint"] == f"http://{auth}/oauth2/userinfo"
    assert _configuration(f"{payer.url}/r4/.well-known/smart-configuration", headers={"Host": api})["issuer"] == issuer
    code = payer.code(scope=OPENID)
    response = requests.post(f"{payer.url}/oauth2/token", headers={"Host": auth}, timeout=10,
                             data={"client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1], "code": code,
                                   "grant_type": "authorization_code", "redirect_uri": CALLBACK})
    assert response.status_code == 200, response.text
    tokens = response.json()
    token = _verified(tokens["id_token"], f"{payer.url}/r4/.well-known/jwks.json", headers={"Host": api})
    assert token.claims["iss"] == issuer
    assert token.claims["fhirUser"] == f"{issuer}/Patient/demoplan-m1"
    info = requests.get(f"{payer.url}/oauth2/userinfo", timeout=10,
                        headers={"Host": auth, "Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == token.claims["sub"]


# ---- a plan's own key -------------------------------------------------------------------------------


def test_a_plan_json_signing_key_signs_the_id_tokens(tmp_path):
    """`"signing_key": {private RSA JWK}` in plan.json: the served set is its public half (so an app's cached
    keys survive a restart) and id_tokens verify with it."""
    key = RSAKey.generate_key(2048, private=True)
    folder = tmp_path / "demoplan"
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", folder)
    plan = json.loads((folder / "plan.json").read_text())
    plan["signing_key"] = {**key.as_dict(private=True), "kid": "plan-key-1"}
    (folder / "plan.json").write_text(json.dumps(plan))
    clock = Clock()
    server = start_in_thread(create_app(tmp_path, clock=clock))
    try:
        own = PayerDriver(server.url, None, clock)
        served = _configuration(f"{own.url}/demoplan/r4/.well-known/jwks.json")
        id_token = own.tokens(scope=OPENID)["id_token"]
    finally:
        server.stop()
    assert served["keys"] == [{**key.as_dict(private=False), "kid": "plan-key-1"}]
    token = jwt.decode(id_token, key, algorithms=["RS256"])
    assert token.header["kid"] == "plan-key-1"


@pytest.mark.filterwarnings("ignore:Key size should be")  # joserfc warns on the 1024-bit key it is shown
@pytest.mark.parametrize("signing_key", [
    "-----BEGIN PRIVATE KEY-----",
    {"kty": "oct", "k": "c2VjcmV0"},
    {"kty": "RSA", "n": "sXch", "e": "AQAB"},
    "public",
    "small",
    "es256",
])
def test_a_bad_signing_key_is_one_clear_line(tmp_path, signing_key):
    """plan.json's `signing_key` must be a private RSA JWK of 2048 bits or more for RS256; the one-line error
    names the field and never repeats the key."""
    if signing_key == "public":
        signing_key = RSAKey.generate_key(2048, private=True).as_dict(private=False)
    elif signing_key == "small":
        signing_key = RSAKey.generate_key(1024, private=True).as_dict(private=True)
    elif signing_key == "es256":
        signing_key = {**RSAKey.generate_key(2048, private=True).as_dict(private=True), "alg": "ES256"}
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps({
        "system_id": "p", "name": "P", "base_url": "p.example", "signing_key": signing_key,
        "clients": [{"client_id": "c", "client_secret": None, "redirect_uris": ["http://127.0.0.1/cb"]}]}))
    with pytest.raises(PlanError) as raised:
        load_plan(folder)
    message = str(raised.value)
    assert "plan.json: signing_key must be a private RSA JWK" in message and "\n" not in message
    if isinstance(signing_key, dict) and "d" in signing_key:
        assert signing_key["d"] not in message


# ---- UserInfo ---------------------------------------------------------------------------------------


def _userinfo(payer, token: str | None, method="GET", system_id="demoplan") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, f"{payer.url}/{system_id}/oauth2/userinfo", headers=headers, timeout=10)


def _challenge(response: requests.Response) -> str:
    assert response.headers["WWW-Authenticate"].startswith("Bearer "), response.headers
    return response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_answers_who_the_member_is(payer, method):
    """OIDC Core §5.3.1/§5.3.2 (GET or POST, bearer token): `sub` equal to the id_token's, `fhirUser` with that
    scope, and `name` with `profile` (§5.4), from the member in plan.json."""
    tokens = payer.tokens(scope=f"{OPENID} profile")
    sub = _verified(tokens["id_token"], f"{payer.url}/demoplan/r4/.well-known/jwks.json").claims["sub"]
    response = _userinfo(payer, tokens["access_token"], method)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {"sub": sub, "fhirUser": f"{payer.url}/demoplan/r4/Patient/demoplan-m1",
                               "name": "Ana Rivera", "preferred_username": "member1"}


def test_userinfo_without_profile_or_fhir_user_says_only_sub(payer):
    """OIDC Core §5.4: profile claims only for the `profile` scope; SMART: `fhirUser` only for its scope."""
    tokens = payer.tokens(scope="openid patient/*.read")
    response = _userinfo(payer, tokens["access_token"])
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"sub"}


def test_userinfo_without_openid_is_insufficient_scope(payer):
    """RFC 6750 §3.1: a token without `openid` gets 403 `insufficient_scope`, and the challenge names the scope."""
    response = _userinfo(payer, payer.tokens(scope="fhirUser profile patient/*.read")["access_token"])
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = _challenge(response)
    assert 'error="insufficient_scope"' in challenge and 'scope="openid"' in challenge


def test_userinfo_refuses_a_bad_token(payer):
    """RFC 6750 §3.1: an unknown, expired or revoked token, a refresh token, or another plan's token gets 401
    `invalid_token` with the challenge; no bearer token (none, or another scheme) gets it without an error code."""
    tokens = payer.tokens(scope=OPENID)
    revoked = payer.tokens(scope=OPENID)["access_token"]
    assert requests.post(f"{payer.url}/oauth2/revoke", data={"token": revoked}, auth=DEMO_CONFIDENTIAL,
                         timeout=10).status_code == 200
    smart = _smart_public_tokens(payer, "launch/patient openid patient/*.rs")["access_token"]
    for token in ("not-a-token", tokens["refresh_token"], revoked, smart):
        response = _userinfo(payer, token)
        assert response.status_code == 401, token
        assert response.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in _challenge(response)
    assert _userinfo(payer, smart, system_id="smartplan").status_code == 200  # its own plan answers
    for authorization in (None, "Bearer", "Basic ZGVtbzpkZW1v"):
        missing = requests.get(f"{payer.url}/demoplan/oauth2/userinfo", timeout=10,
                               headers={"Authorization": authorization} if authorization else {})
        assert missing.status_code == 401, authorization
        assert _challenge(missing) == 'Bearer realm="demoplan"'
        assert "error" not in missing.json()  # RFC 6750 §3.1: no error code, in the body either
    payer.clock.advance(3601)
    expired = _userinfo(payer, tokens["access_token"])
    assert expired.status_code == 401 and 'error="invalid_token"' in _challenge(expired)
