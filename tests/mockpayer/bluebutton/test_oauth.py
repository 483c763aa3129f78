"""Blue Button mode's OAuth endpoints (`/v2/o/...`) over real HTTP: the paths, PKCE as CMS's SDK sends it and no
looser, its scopes, the consent page's choice to withhold personal information, refresh, revocation and
introspection, and which plans answer which paths."""

import base64
import hashlib
import json
import re
from datetime import datetime, timezone

import pytest
import requests

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.clock import Clock
from tests.mockpayer.bluebutton.driver import TIMEOUT, BlueButtonDriver, assert_detail, multipart, sdk_pkce
from tests.mockpayer.bluebutton.plan import BENEFICIARY, CALLBACK, CONFIDENTIAL, PUBLIC, SYSTEM_ID, write_plan
from tests.mockpayer.driver import assert_oauth_error

DEFAULT_SCOPE = "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read profile"


def _error_redirect(response: requests.Response) -> dict:
    """AZ-3: an error after the redirect URI is verified goes back to the app, with its state."""
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    return dict(pair.split("=", 1) for pair in location.split("?", 1)[1].split("&"))


@pytest.mark.parametrize("path", ["/v2/o/authorize/", "/v2/o/authorize"])
def test_authorize_answers_with_and_without_its_trailing_slash(bluebutton, path):
    """Blue Button's path is `/v2/o/authorize/`; CMS's SDK sends `/v2/o/authorize`: both show the sign-in page
    itself, not a redirect (a redirect would drop nothing, but an app must not need to follow one)."""
    verifier, challenge = sdk_pkce()
    url = bluebutton.authorize_url(code_challenge=challenge).replace("/v2/o/authorize/", path)
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 200 and 'name="step" value="login"' in response.text


def test_the_code_flow_with_the_sdks_padded_pkce_and_multipart_token_request(bluebutton):
    """RFC 6749 §4.1 and §5.1 with RFC 7636 S256 in the SDK's padded form: the token response carries what the
    SDK reads (`access_token`, `expires_in`, `token_type`, `scope`, `refresh_token`, `patient`); with no `scope`
    asked, Blue Button's default set is granted."""
    tokens = bluebutton.tokens()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 36000
    assert tokens["patient"] == BENEFICIARY[2] and tokens["refresh_token"]
    assert tokens["scope"] == DEFAULT_SCOPE


def test_pkce_is_required_of_a_confidential_client_too(bluebutton):
    """Blue Button requires PKCE (S256) of every client: no challenge is `invalid_request` at the app."""
    response = requests.get(bluebutton.authorize_url(code_challenge_method=None), allow_redirects=False,
                            timeout=TIMEOUT)
    assert _error_redirect(response)["error"] == "invalid_request"


def test_plain_pkce_is_refused(bluebutton):
    """PK-6: only S256."""
    verifier, _ = sdk_pkce()
    url = bluebutton.authorize_url(code_challenge=verifier.rstrip("="), code_challenge_method="plain")
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert _error_redirect(response)["error"] == "invalid_request"


@pytest.mark.parametrize("challenge", [
    "A" * 21 + "=" + "A" * 21,  # `=` inside, not at the end
    "A" * 42 + "===",  # more `=` than base64 ever writes
    "A" * 44 + "=",  # a length base64 does not pad
    "A" * 42 + "=",  # 42 characters take two `=`, not one
    "A" * 41 + "~=",  # padding after a character base64url does not write
    "A" * 39 + "=",  # padded, but shorter than RFC 7636's 43 once the padding is off
])
def test_no_looser_than_the_sdks_padding_at_authorize(bluebutton, challenge):
    """RFC 7636 §4.2 bends in Blue Button mode for exactly base64url's `=` padding of a 43-128 character
    challenge, as the SDK writes it; any other use of `=` is `invalid_request`."""
    response = requests.get(bluebutton.authorize_url(code_challenge=challenge), allow_redirects=False, timeout=TIMEOUT)
    assert _error_redirect(response)["error"] == "invalid_request"


def _code(bluebutton, challenge: str, client_id: str = CONFIDENTIAL[0]) -> str:
    return bluebutton.sign_in(bluebutton.authorize_url(client_id=client_id, code_challenge=challenge))["code"]


def _exchange(bluebutton, code: str, verifier: str) -> requests.Response:
    return bluebutton.token({"client_id": CONFIDENTIAL[0], "client_secret": CONFIDENTIAL[1], "code": code,
                             "grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": verifier})


def test_a_padded_verifier_that_does_not_match_is_invalid_grant(bluebutton):
    """PK-1 holds for the padded form: another verifier of the same shape fails the S256 comparison."""
    _, challenge = sdk_pkce()
    other_verifier, _ = sdk_pkce()
    assert_oauth_error(_exchange(bluebutton, _code(bluebutton, challenge), other_verifier), 400, "invalid_grant")


def test_the_padded_challenge_does_not_pass_for_its_verifier(bluebutton):
    """PK-2: the challenge sent back as the verifier (the `plain` downgrade) fails, padded or not."""
    _, challenge = sdk_pkce()
    assert_oauth_error(_exchange(bluebutton, _code(bluebutton, challenge), challenge), 400, "invalid_grant")


@pytest.mark.parametrize("bad_padding", ["A==", "=A", "AA="])
def test_a_verifier_with_padding_base64_would_not_write_is_invalid_request(bluebutton, bad_padding):
    """PK-4 for the padded form: 43 characters take exactly one `=`, 44 none; other padding, or `=` anywhere but
    at the end, is malformed, not merely wrong."""
    verifier, challenge = sdk_pkce()
    response = _exchange(bluebutton, _code(bluebutton, challenge), verifier[:42] + bad_padding)
    assert_oauth_error(response, 400, "invalid_request")


def _rfc7636_pair() -> tuple[str, str]:
    verifier = "v" * 43 + "-._~" + "w" * 20
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_a_strict_rfc7636_pair_still_works_in_bluebutton_mode(bluebutton):
    """The tolerance adds the padded form; RFC 7636's own form keeps working."""
    verifier, challenge = _rfc7636_pair()
    response = _exchange(bluebutton, _code(bluebutton, challenge), verifier)
    assert response.status_code == 200, response.text


def test_the_padded_form_stays_refused_in_the_other_modes(payer):
    """PK-4: `1up` and `smart` modes stay RFC 7636 strict: the SDK's padded challenge is `invalid_request`."""
    _, challenge = sdk_pkce()
    response = requests.get(payer.authorize_url(code_challenge=challenge, code_challenge_method="S256"),
                            allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400 and "code_challenge" in response.text


def test_refresh_with_http_basic_and_client_id_in_a_multipart_body(bluebutton):
    """The SDK's refresh: HTTP Basic client credentials plus `client_id` in the multipart body (RFC 6749 §6);
    the refresh token rotates and the old one is refused (RT-1, RT-3)."""
    tokens = bluebutton.tokens()
    fields = {"client_id": CONFIDENTIAL[0], "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = bluebutton.token(fields, auth=CONFIDENTIAL)
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["refresh_token"] != tokens["refresh_token"] and body["patient"] == BENEFICIARY[2]
    assert bluebutton.get("fhir/Patient/", body["access_token"]).status_code == 200
    assert_oauth_error(bluebutton.token(fields, auth=CONFIDENTIAL), 400, "invalid_grant")


def test_a_public_client_signs_in_with_pkce_alone(bluebutton):
    """RFC 9700 §2.1.1: a public client authenticates by PKCE; its tokens read like the others."""
    tokens = bluebutton.tokens(client=PUBLIC)
    assert bluebutton.get("fhir/ExplanationOfBenefit/", tokens["access_token"]).status_code == 200


def test_revoke_token_then_the_api_refuses_it(bluebutton):
    """RFC 7009 at `/v2/o/revoke_token/`: 200, and the token is then `invalid_token` (BR-2)."""
    tokens = bluebutton.tokens()
    response = requests.post(f"{bluebutton.root}/o/revoke_token/", files=multipart({"token": tokens["access_token"]}),
                             auth=CONFIDENTIAL, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    refused = bluebutton.get("fhir/Patient/", tokens["access_token"])
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_introspect(bluebutton):
    """RFC 7662 at `/v2/o/introspect/`, for the client that holds the token (IN-1)."""
    tokens = bluebutton.tokens()
    response = requests.post(f"{bluebutton.root}/o/introspect/", data={"token": tokens["access_token"]},
                             auth=CONFIDENTIAL, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is True and body["scope"] == DEFAULT_SCOPE and body["patient"] == BENEFICIARY[2]


@pytest.mark.parametrize("scope", ["patient/*.read", "patient/Observation.read", "patient/Patient.read offline_access"])
def test_a_scope_blue_button_does_not_know_fails_the_request(bluebutton, scope):
    """Blue Button grants its own scopes only and refuses a request with any other: `invalid_scope` at the app
    (RFC 6749 §4.1.2.1)."""
    _, challenge = sdk_pkce()
    response = requests.get(bluebutton.authorize_url(scope=scope, code_challenge=challenge), allow_redirects=False,
                            timeout=TIMEOUT)
    assert _error_redirect(response)["error"] == "invalid_scope"


def test_smart_v2_scopes_are_granted_as_asked(bluebutton):
    """Blue Button's v2 forms: `.rs` reads and searches; `.s` searches only, so a read by id is 403."""
    tokens = bluebutton.tokens(scope="patient/ExplanationOfBenefit.rs patient/Patient.s")
    assert tokens["scope"] == "patient/ExplanationOfBenefit.rs patient/Patient.s"
    token = tokens["access_token"]
    assert bluebutton.get("fhir/ExplanationOfBenefit/carrier--10000930037921", token).status_code == 200
    assert bluebutton.get("fhir/Patient/", token).status_code == 200
    assert_detail(bluebutton.get(f"fhir/Patient/{BENEFICIARY[2]}", token), 403,
                  "You do not have permission to perform this action.")
    assert_detail(bluebutton.get("fhir/Coverage/", token), 403, "You do not have permission to perform this action.")


def test_withholding_personal_information_at_consent(bluebutton):
    """Blue Button's "share demographic info" choice, declined: the grant loses `patient/Patient.*` and `profile`,
    so Patient reads and searches and userinfo are 403, while claims and coverage still read."""
    tokens = bluebutton.tokens(choose={"share_demographic_scopes": "false"})
    assert tokens["scope"] == "patient/Coverage.read patient/ExplanationOfBenefit.read"
    token = tokens["access_token"]
    forbidden = "You do not have permission to perform this action."
    assert_detail(bluebutton.get(f"fhir/Patient/{BENEFICIARY[2]}", token), 403, forbidden)
    assert_detail(bluebutton.get("fhir/Patient/", token), 403, forbidden)
    assert_detail(bluebutton.get("connect/userinfo", token), 403, forbidden)
    assert bluebutton.get("fhir/ExplanationOfBenefit/", token).status_code == 200
    assert bluebutton.get("fhir/Coverage/", token).status_code == 200


def test_the_consent_page_offers_the_choice_and_shares_only_when_told(bluebutton):
    """The page shows the choice, checked to share; a consent form that leaves the choice out shares nothing
    personal, as Blue Button treats an unanswered choice."""
    _, challenge = sdk_pkce()
    tokens = bluebutton.tokens()
    assert "profile" in tokens["scope"]
    session = requests.Session()
    page = session.get(bluebutton.authorize_url(code_challenge=challenge), timeout=TIMEOUT)
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    consent = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": BENEFICIARY[0],
                                           "password": BENEFICIARY[1]}, timeout=TIMEOUT)
    assert 'type="radio" name="share_demographic_scopes" value="true" checked' in consent.text
    assert 'name="share"' not in consent.text  # no box per kind of record: Blue Button's page has none
    csrf = consent.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = session.post(page.url, data={"csrf_token": csrf, "step": "consent", "decision": "allow"},
                        allow_redirects=False, timeout=TIMEOUT)
    assert done.status_code == 303 and "code=" in done.headers["Location"]


def test_a_bluebutton_plan_answers_only_its_own_paths(beside_demoplan):
    """A Blue Button plan is not reachable by the 1up or SMART shapes, nor a 1up plan by Blue Button's: an app
    that works against the mock works against the payer it stands for."""
    url = beside_demoplan.url
    assert requests.get(f"{url}/{SYSTEM_ID}/r4/metadata", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{url}/oauth2/authorize/{SYSTEM_ID}", timeout=TIMEOUT).status_code == 404
    assert_detail(requests.get(f"{url}/demoplan/v2/fhir/metadata", timeout=TIMEOUT), 404,
                  "The plan demoplan answers the 1up and SMART paths.")
    assert requests.get(f"{url}/{SYSTEM_ID}/v2/fhir/metadata", timeout=TIMEOUT).status_code == 200


def test_among_several_plans_the_root_paths_answer_nothing(beside_demoplan):
    """Only a Blue Button plan served alone (or by its host name) answers at `/v2/...`; beside others, its paths
    are under `/{system-id}/v2/...`, where the whole flow works."""
    assert beside_demoplan.get("fhir/metadata").status_code == 200
    assert requests.get(f"{beside_demoplan.url}/v2/fhir/metadata", timeout=TIMEOUT).status_code == 404
    tokens = beside_demoplan.tokens()
    bundle = beside_demoplan.get("fhir/ExplanationOfBenefit/", tokens["access_token"]).json()
    assert bundle["link"][0]["url"].startswith(f"{beside_demoplan.url}/{SYSTEM_ID}/v2/fhir/ExplanationOfBenefit?")


def test_a_code_from_the_bluebutton_plan_is_not_redeemed_at_the_1up_token_endpoint(beside_demoplan):
    """The bare `/oauth2/token` finds 1up and SMART plans only: a Blue Button code there names no client it
    serves (`invalid_client`), and stays unspent for its own endpoint."""
    verifier, challenge = _rfc7636_pair()
    code = _code(beside_demoplan, challenge)
    fields = {"client_id": CONFIDENTIAL[0], "client_secret": CONFIDENTIAL[1], "code": code,
              "grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": verifier}
    assert_oauth_error(requests.post(f"{beside_demoplan.url}/oauth2/token", data=fields, timeout=TIMEOUT),
                       401, "invalid_client")
    assert beside_demoplan.token(fields).status_code == 200


# ---- access_grant_expiration ------------------------------------------------------------------------------

GRANT_FORMAT = "%Y-%m-%d %H:%M:%SZ"  # Blue Button's: `2025-09-05 19:17:53Z`, UTC
REFRESH_LIFETIME = 90 * 24 * 3600  # the test plan's, the plans' default


def _grant_end(body: dict) -> float:
    return datetime.strptime(body["access_grant_expiration"], GRANT_FORMAT).replace(tzinfo=timezone.utc).timestamp()


def test_the_token_response_says_when_the_grant_ends(bluebutton):
    """Blue Button's token response adds `access_grant_expiration`: for an app with refresh tokens (its "13 months"
    category) when the beneficiary's grant ends, here the refresh token lifetime after sign-in, to the second."""
    before = int(bluebutton.clock.now())
    tokens = bluebutton.tokens()
    after = bluebutton.clock.now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", tokens["access_grant_expiration"])
    assert before + REFRESH_LIFETIME <= _grant_end(tokens) <= after + REFRESH_LIFETIME


def test_a_refresh_keeps_the_grants_end(bluebutton):
    """A refresh a day later names the same end, as Blue Button's data access grant is not moved by refreshing; the
    refresh tokens stop working then, and a refresh after it is `invalid_grant` (RFC 6749 §5.2)."""
    tokens = bluebutton.tokens()
    bluebutton.clock.advance(24 * 3600)
    fields = {"client_id": CONFIDENTIAL[0], "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = bluebutton.token(fields, auth=CONFIDENTIAL)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_grant_expiration"] == tokens["access_grant_expiration"]
    bluebutton.clock.advance(_grant_end(tokens) - bluebutton.clock.now() + 1)
    again = {**fields, "refresh_token": refreshed.json()["refresh_token"]}
    assert_oauth_error(bluebutton.token(again, auth=CONFIDENTIAL), 400, "invalid_grant")


def test_without_refresh_tokens_the_grant_ends_with_the_access_token(tmp_path):
    """Blue Button's "10 hours" category: no refresh token, and the grant ends when the access token does
    (`expires_in` from now)."""
    plans = write_plan(tmp_path / "plans")
    plan_json = plans / SYSTEM_ID / "plan.json"
    settings = json.loads(plan_json.read_text())
    settings["tokens"]["refresh"] = False
    plan_json.write_text(json.dumps(settings))
    clock = Clock()
    server = start_in_thread(create_app(plans, clock=clock))
    try:
        driver = BlueButtonDriver(server.url, clock)
        before = int(clock.now())
        tokens = driver.tokens()
        after = clock.now()
    finally:
        server.stop()
    assert "refresh_token" not in tokens
    assert before + tokens["expires_in"] <= _grant_end(tokens) <= after + tokens["expires_in"]


def test_other_modes_add_no_grant_expiration(payer):
    """`access_grant_expiration` is Blue Button's own: the 1up and SMART token responses stay RFC 6749's."""
    assert "access_grant_expiration" not in payer.tokens()


# ---- the token endpoint's refusals, in Blue Button mode --------------------------------------------------


def test_a_wrong_secret_is_said_plainly(bluebutton):
    """RFC 6749 §5.2 `invalid_client` at `/v2/o/token/`, in words, not the server's names for its methods."""
    response = bluebutton.token({"client_id": CONFIDENTIAL[0], "client_secret": "wrong", "code": "x",
                                 "grant_type": "authorization_code", "redirect_uri": CALLBACK})
    assert_oauth_error(response, 401, "invalid_client")
    assert "methods" not in response.json()["error_description"]
    assert response.json()["error_description"].startswith("Client authentication failed")


def test_parameters_in_the_query_are_refused(bluebutton):
    """RFC 6749 §3.2, as Blue Button's server (oauthlib) refuses a query on a token request: `invalid_request`."""
    tokens = bluebutton.tokens()
    response = requests.post(f"{bluebutton.root}/o/token/", params={"grant_type": "refresh_token"},
                             files=multipart({"refresh_token": tokens["refresh_token"]}), auth=CONFIDENTIAL,
                             timeout=TIMEOUT)
    assert_oauth_error(response, 400, "invalid_request")
    assert "'grant_type' is in the URL query" in response.json()["error_description"]
