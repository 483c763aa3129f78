"""SMART App Launch 2.x scopes enforced by the mock over real HTTP: resource-type scopes (v1 `.read`, v2 `.r`/`.s`),
granular scopes (`?type=`) in search, read, `_include` and `$everything`, 403 `insufficient_scope` (RFC 6750
§3.1), what is granted of write and `system/` scopes (RFC 6749 §3.3), the consent page's choice, and refresh
to a subset of the grant (RFC 6749 §6)."""

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from mockpayer.plans import BUNDLED_PLANS_DIR
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, assert_oauth_error, s256

CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PHARMACY_ONLY = f"patient/ExplanationOfBenefit.rs?type={CLAIM_TYPE}|pharmacy"
ORAL_ONLY = f"patient/ExplanationOfBenefit.rs?type={CLAIM_TYPE}|oral"
MEMBER = "demoplan-m1"


def member_eobs_by_claim_type() -> dict[str, set[str]]:
    """member1's EOB ids by claim type, read from the fixture itself."""
    bundle = json.loads((BUNDLED_PLANS_DIR / "demoplan" / "data" / "member-1.json").read_text())
    found: dict[str, set[str]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "ExplanationOfBenefit":
            [coding] = [coding for coding in resource["type"]["coding"] if coding["system"] == CLAIM_TYPE]
            found.setdefault(coding["code"], set()).add(resource["id"])
    return found


EOBS = member_eobs_by_claim_type()


class Api:
    """A member's FHIR API (member1's on demoplan unless told) with one access token."""

    def __init__(self, payer, token: str, system_id: str = "demoplan"):
        self.base, self.token = f"{payer.url}/{system_id}/r4", token

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.base}/{path}", params=params, timeout=10,
                            headers={"Authorization": f"Bearer {self.token}"})

    def ids(self, path: str, mode="match", **params) -> list[tuple[str, str]]:
        response = self.get(path, _count="1000", **params)
        assert response.status_code == 200, response.text
        return [(entry["resource"]["resourceType"], entry["resource"]["id"])
                for entry in response.json().get("entry", []) if entry["search"]["mode"] == mode]


def api(payer, scope: str) -> Api:
    return Api(payer, payer.tokens(scope=scope)["access_token"])


def assert_insufficient_scope(response: requests.Response) -> None:
    """RFC 6750 §3.1: 403 with `error="insufficient_scope"`; the body is an OperationOutcome, as every FHIR error."""
    assert response.status_code == 403, response.text
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert response.json()["resourceType"] == "OperationOutcome"


def test_the_fixture_has_several_claim_types():
    assert len(EOBS["pharmacy"]) >= 2 and len(EOBS) >= 3


def test_a_granular_scope_shows_one_claim_type_in_search_read_include_and_everything(payer):
    """SMART v2 granular scope `patient/ExplanationOfBenefit.rs?type=...|pharmacy`: the token sees exactly the
    pharmacy claims however it asks; other claims are as unknown as another member's (404); other types 403."""
    member = api(payer, f"{PHARMACY_ONLY} launch/patient")
    pharmacy = {("ExplanationOfBenefit", eob_id) for eob_id in EOBS["pharmacy"]}
    assert set(member.ids("ExplanationOfBenefit", patient=MEMBER)) == pharmacy
    assert set(member.ids("ExplanationOfBenefit")) == pharmacy
    assert member.ids("ExplanationOfBenefit", type=f"{CLAIM_TYPE}|professional") == []
    for eob_id in EOBS["pharmacy"]:
        assert member.get(f"ExplanationOfBenefit/{eob_id}").status_code == 200
    for claim_type in set(EOBS) - {"pharmacy"}:
        for eob_id in EOBS[claim_type]:
            assert member.get(f"ExplanationOfBenefit/{eob_id}").status_code == 404
    included = member.ids("ExplanationOfBenefit", mode="include", _include="ExplanationOfBenefit:*")
    assert set(member.ids("ExplanationOfBenefit", _include="ExplanationOfBenefit:*")) == pharmacy
    assert included == []  # Coverage, Patient, Organization: outside the grant
    assert set(member.ids(f"Patient/{MEMBER}/$everything")) == pharmacy
    assert set(member.ids(f"Patient/{MEMBER}/$everything", _type="ExplanationOfBenefit,Coverage")) == pharmacy
    for path in ("Coverage", f"Coverage/{MEMBER}-coverage", f"Patient/{MEMBER}", "Observation"):
        assert_insufficient_scope(member.get(path))


def test_an_include_shows_what_a_read_scope_reaches(payer):
    """`_include` reads by reference: the Coverage a pharmacy claim names appears once Coverage is granted."""
    member = api(payer, f"{PHARMACY_ONLY} patient/Coverage.r")
    included = member.ids("ExplanationOfBenefit", mode="include", _include="ExplanationOfBenefit:coverage")
    assert included == [("Coverage", f"{MEMBER}-coverage")]
    assert_insufficient_scope(member.get("Coverage"))  # `r` alone: no search


def test_scopes_on_one_type_add_up(payer):
    """SMART v2: "scopes ... are additive": pharmacy OR oral."""
    member = api(payer, f"{PHARMACY_ONLY} {ORAL_ONLY}")
    expected = {("ExplanationOfBenefit", eob_id) for eob_id in EOBS["pharmacy"] | EOBS["oral"]}
    assert set(member.ids("ExplanationOfBenefit")) == expected
    assert set(member.ids(f"Patient/{MEMBER}/$everything")) == expected


def test_read_and_search_are_separate_permissions(payer):
    """SMART v2: `.r` reads by id but cannot list; `.s` lists but cannot read by id; `$everything` lists."""
    some_claim = sorted(EOBS["professional"])[0]
    reader = api(payer, "patient/ExplanationOfBenefit.r")
    assert reader.get(f"ExplanationOfBenefit/{some_claim}").status_code == 200
    assert_insufficient_scope(reader.get("ExplanationOfBenefit"))
    assert_insufficient_scope(reader.get(f"Patient/{MEMBER}/$everything"))
    searcher = api(payer, "patient/ExplanationOfBenefit.s")
    assert len(searcher.ids("ExplanationOfBenefit")) == sum(map(len, EOBS.values()))
    assert_insufficient_scope(searcher.get(f"ExplanationOfBenefit/{some_claim}"))
    assert {kind for kind, _ in searcher.ids(f"Patient/{MEMBER}/$everything")} == {"ExplanationOfBenefit"}


def test_user_scopes_read_only_the_members_own_records_in_1up_mode(payer):
    """The seed's `scope=user/*.read`: the member is the user, and reaches their own records only."""
    tokens = payer.tokens(scope="user/*.read")
    assert tokens["scope"] == "user/*.read"
    member = Api(payer, tokens["access_token"])
    assert member.get(f"Patient/{MEMBER}").status_code == 200
    assert len(member.ids("ExplanationOfBenefit")) == sum(map(len, EOBS.values()))
    assert member.get("Patient/demoplan-m2").status_code == 404
    other_members_claims = set(payer.app.extensions["mockpayer"].resources["demoplan"].data.readable_by("demoplan-m2"))
    other_claim = sorted(key for key in other_members_claims if key[0] == "ExplanationOfBenefit")[0]
    assert member.get("/".join(other_claim)).status_code == 404
    assert not {key for key in member.ids("ExplanationOfBenefit")} & other_members_claims


@pytest.mark.parametrize("asked, granted", [
    ("user/*.* launch/patient", "user/*.read launch/patient"),
    ("patient/*.write patient/Coverage.read offline_access", "patient/Coverage.read offline_access"),
    ("system/*.read patient/ExplanationOfBenefit.rs", "patient/ExplanationOfBenefit.rs"),
    ("patient/*.cruds", "patient/*.rs"),
    ("patient/*.* patient/*.read", "patient/*.read"),
])
def test_write_and_system_scopes_are_never_granted_in_1up_mode(payer, asked, granted):
    """RFC 6749 §3.3: the server may grant less than asked and says what in `scope`; this API is read-only and
    for members, so writes lose their write half and `system/` scopes go."""
    tokens = payer.tokens(scope=asked)
    assert tokens["scope"] == granted
    assert payer.introspect(tokens["access_token"])["scope"] == granted


@pytest.mark.parametrize("asked, granted", [
    ("patient/*.write launch/patient offline_access", "launch/patient offline_access"),
    ("system/*.read openid fhirUser", "openid fhirUser"),
    ("user/Coverage.cud offline_access", "offline_access"),
])
def test_1up_mode_drops_write_and_system_scopes_and_grants_what_remains(payer, asked, granted):
    """RFC 6749 §3.3 in `1up` mode: what cannot be granted is dropped, even when no records remain; the token's
    `scope` says what was granted, and the API then answers 403 `insufficient_scope` to every read."""
    tokens = payer.tokens(scope=asked)
    assert tokens["scope"] == granted
    assert payer.introspect(tokens["access_token"])["scope"] == granted
    assert_insufficient_scope(Api(payer, tokens["access_token"]).get("ExplanationOfBenefit"))


@pytest.mark.parametrize("scope", ["system/*.read patient/*.write", "patient/*.write email"])
def test_1up_mode_answers_invalid_scope_when_nothing_at_all_remains(payer, scope):
    """RFC 6749 §4.1.2.1: with every word dropped there is nothing to issue: `invalid_scope`, by redirect with
    the state."""
    response = requests.get(payer.authorize_url(scope=scope), allow_redirects=False)
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["error"] == ["invalid_scope"] and params["state"] == ["state-123"] and "code" not in params


def smart_authorize_url(payer, scope: str) -> str:
    return payer.authorize_url(system_id="smartplan", client_id="smart-confidential-app", response_type="code",
                               scope=scope, aud=f"{payer.url}/smartplan/r4", code_challenge=s256("v" * 43),
                               code_challenge_method="S256")


@pytest.mark.parametrize("scope", ["system/*.read", "patient/*.write", "patient/*.write system/*.read",
                                   "user/Coverage.cud", "user/*.write openid fhirUser launch/patient"])
def test_smart_mode_answers_invalid_scope_when_nothing_grantable_remains(payer, scope):
    """RFC 6749 §4.1.2.1, SMART App Launch: `invalid_scope` by redirect, with the state, before any sign-in."""
    response = requests.get(smart_authorize_url(payer, scope), allow_redirects=False)
    assert response.status_code in (302, 303)
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["error"] == ["invalid_scope"] and params["state"] == ["state-123"] and "code" not in params


def smart_token_request(payer, data: dict) -> requests.Response:
    return requests.post(f"{payer.url}/smartplan/oauth2/token", timeout=10, data={
        **data, "client_id": "smart-confidential-app", "client_secret": _smart_secret(payer)})


def smart_tokens(payer, scope: str) -> dict:
    location = complete_mock_login(requests.Session(), smart_authorize_url(payer, scope), "smart1", "pass-smart1")
    code = parse_qs(urlsplit(location).query)["code"][0]
    response = smart_token_request(payer, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                                           "code_verifier": "v" * 43})
    assert response.status_code == 200, response.text
    return response.json()


def test_smart_mode_grants_the_read_half_of_what_remains(payer):
    """RFC 6749 §3.3 in `smart` mode: `patient/*.*` becomes `patient/*.read`, and the token says so."""
    assert smart_tokens(payer, "patient/*.* system/*.read openid")["scope"] == "patient/*.read openid"


def test_smart_mode_lets_a_refresh_narrow_to_a_scope_that_reads_nothing(payer):
    """RFC 6749 §6 allows any subset of the grant. `invalid_scope` at authorize answers a request whose records
    were all refused; a refresh to `openid fhirUser` asks for no records, on purpose (a fresh id_token, say),
    and its token says just that: it reads nothing, and without `offline_access` it ends the refreshes."""
    tokens = smart_tokens(payer, "patient/*.read openid fhirUser offline_access")
    response = smart_token_request(payer, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                           "scope": "openid fhirUser"})
    assert response.status_code == 200, response.text
    narrowed = response.json()
    assert narrowed["scope"] == "openid fhirUser" and "id_token" in narrowed and "refresh_token" not in narrowed
    assert_insufficient_scope(Api(payer, narrowed["access_token"], "smartplan").get("ExplanationOfBenefit"))


def _smart_secret(payer) -> str:
    return payer.app.extensions["mockpayer"].plans["smartplan"].clients["smart-confidential-app"].client_secret


# the consent page ---------------------------------------------------------------------------------------------


def consent_page(payer, scope: str) -> str:
    session = requests.Session()
    page = session.get(payer.authorize_url(scope=scope))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    consent = session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1",
                                           "password": "pass-member1"})
    assert consent.status_code == 200 and 'value="consent"' in consent.text
    return consent.text


def member_types(payer) -> list[str]:
    """The types of record demoplan holds for member1, read from the loaded plan."""
    return sorted(payer.app.extensions["mockpayer"].resources["demoplan"].data.readable_by_type(MEMBER))


def boxes(text: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="share" value="([^"]*)" checked>', text)


def test_the_consent_page_offers_a_box_per_kind_of_record_in_plain_words(payer):
    """What the member will share, in plain words; never "change": nothing this API grants can write. The
    wildcard (granted as `patient/*.read`) is a box per type of record the member has."""
    text = html.unescape(consent_page(payer, f"patient/*.* {PHARMACY_ONLY} patient/Coverage.r launch/patient "
                                             "offline_access"))
    assert {"ExplanationOfBenefit", "Coverage", "Patient"} <= set(member_types(payer))
    assert boxes(text) == [f"patient/{kind}.read" for kind in member_types(payer)] + [PHARMACY_ONLY,
                                                                                       "patient/Coverage.r"]
    assert "See your insurance coverage" in text and "See your claims (explanations of benefit)" in text
    assert "See your claims (explanations of benefit), only those whose type is pharmacy" in text
    assert "Open your insurance coverage, one at a time" in text
    assert "Keep access after you close the app" in text
    assert "Read and change" not in text and "can only read your records, never change them" in text


def sign_in(payer, scope: str, untick=(), allow=True) -> dict:
    location = complete_mock_login(requests.Session(), payer.authorize_url(scope=scope), "member1", "pass-member1",
                                   allow=allow, untick=untick)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_unticking_a_kind_of_record_narrows_the_grant(payer):
    """The grant follows the member's choice: the token's `scope` lists only what stayed ticked."""
    redirect = sign_in(payer, "patient/ExplanationOfBenefit.read patient/Coverage.read launch/patient offline_access",
                       untick=["patient/Coverage.read"])
    response = payer.exchange(redirect["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["scope"] == "patient/ExplanationOfBenefit.read launch/patient offline_access"
    member = Api(payer, tokens["access_token"])
    assert len(member.ids("ExplanationOfBenefit")) == sum(map(len, EOBS.values()))
    assert_insufficient_scope(member.get("Coverage"))
    assert payer.refresh(tokens["refresh_token"]).json()["scope"] == tokens["scope"]


def test_unticking_every_kind_of_record_is_a_refusal(payer):
    """RFC 6749 §4.1.2.1: a member who shares nothing has denied the request: `access_denied`, with the state."""
    redirect = sign_in(payer, "patient/ExplanationOfBenefit.read patient/Coverage.read launch/patient",
                       untick=["patient/ExplanationOfBenefit.read", "patient/Coverage.read"])
    assert redirect["error"] == "access_denied" and redirect["state"] == "state-123" and "code" not in redirect


def test_unticking_one_type_of_a_wildcard_grants_the_others_in_its_form(payer):
    """The member can keep one kind of record from an app that asked for all of them (`user/*.read`, the
    seed's): the grant lists the types still ticked, in the wildcard's context and permissions."""
    redirect = sign_in(payer, "user/*.read launch/patient offline_access", untick=["user/Coverage.read"])
    tokens = payer.exchange(redirect["code"]).json()
    kept = [f"user/{kind}.read" for kind in member_types(payer) if kind != "Coverage"]
    assert tokens["scope"] == " ".join(kept + ["launch/patient", "offline_access"])
    member = Api(payer, tokens["access_token"])
    assert_insufficient_scope(member.get("Coverage"))
    assert_insufficient_scope(member.get(f"Coverage/{MEMBER}-coverage"))
    assert len(member.ids("ExplanationOfBenefit")) == sum(map(len, EOBS.values()))
    assert member.get(f"Patient/{MEMBER}").status_code == 200


def test_a_wildcard_left_whole_stays_the_wildcard(payer):
    """Every box of a wildcard ticked: the grant is the wildcard as asked, not a list of today's types."""
    redirect = sign_in(payer, "patient/*.rs launch/patient")
    assert payer.exchange(redirect["code"]).json()["scope"] == "patient/*.rs launch/patient"


def test_unticking_every_type_of_a_wildcard_is_a_refusal(payer):
    """RFC 6749 §4.1.2.1: `access_denied`, with the state."""
    redirect = sign_in(payer, "patient/*.read launch/patient",
                       untick=[f"patient/{kind}.read" for kind in member_types(payer)])
    assert redirect["error"] == "access_denied" and redirect["state"] == "state-123" and "code" not in redirect


def post_consent(payer, scope: str, shares: list[str]) -> str:
    """Signs member1 in, posts the consent form with exactly these `share` values, and returns the granted scope."""
    session = requests.Session()
    page = session.get(payer.authorize_url(scope=scope))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    session.post(page.url, data={"csrf_token": csrf, "step": "login", "username": "member1",
                                 "password": "pass-member1"})
    final = session.post(page.url, allow_redirects=False, data=[
        ("csrf_token", csrf), ("step", "consent"), *[("share", share) for share in shares], ("decision", "allow")])
    code = parse_qs(urlsplit(final.headers["Location"]).query)["code"][0]
    return payer.exchange(code).json()["scope"]


@pytest.mark.parametrize("scope, shares, granted", [
    ("patient/Coverage.read launch/patient", ["patient/Coverage.read", "patient/*.read"],
     "patient/Coverage.read launch/patient"),
    ("patient/*.read", ["patient/Coverage.read", "patient/Immunization.read", "patient/Coverage.rs", "user/*.read"],
     "patient/Coverage.read"),  # member1 has no Immunization: that box was never offered
])
def test_a_forged_consent_form_cannot_add_a_scope(payer, scope, shares, granted):
    """Only the scopes offered can come back ticked."""
    assert "Immunization" not in member_types(payer)
    assert post_consent(payer, scope, shares) == granted


def test_a_wildcard_sent_back_itself_shares_all_it_covers(payer):
    """A client that posts the form without reading it (the README's curl) may send the asked wildcard itself."""
    assert post_consent(payer, "patient/*.read offline_access", ["patient/*.read"]) == "patient/*.read offline_access"


def test_a_consent_with_only_non_record_scopes_grants_them(payer):
    """No box to untick (openid, launch/patient): Allow grants them as listed."""
    redirect = sign_in(payer, "launch/patient openid")
    assert payer.exchange(redirect["code"]).json()["scope"] == "launch/patient openid"


# refresh ------------------------------------------------------------------------------------------------------


def test_a_refresh_may_narrow_to_one_granular_scope(payer):
    """RFC 6749 §6: the refresh may ask for any subset of the grant; SMART v2 granular scopes are scopes like any."""
    tokens = payer.tokens(scope=f"{PHARMACY_ONLY} {ORAL_ONLY} offline_access")
    assert tokens["scope"] == f"{PHARMACY_ONLY} {ORAL_ONLY} offline_access"
    narrower = payer.refresh(tokens["refresh_token"], scope=PHARMACY_ONLY)
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["scope"] == PHARMACY_ONLY
    member = Api(payer, narrower.json()["access_token"])
    assert set(member.ids("ExplanationOfBenefit")) == {("ExplanationOfBenefit", eob_id) for eob_id in EOBS["pharmacy"]}
    wider = payer.refresh(narrower.json()["refresh_token"], scope=f"{PHARMACY_ONLY} patient/ExplanationOfBenefit.rs")
    assert_oauth_error(wider, 400, "invalid_scope")


def test_a_refresh_may_narrow_a_wildcard_to_a_granular_scope(payer):
    """RFC 6749 §6 with SMART scopes read by meaning: `patient/*.read` covers a pharmacy-only EOB scope, though
    not word for word; the new token's `scope` is what was asked, and it sees just that."""
    tokens = payer.tokens(scope="patient/*.read offline_access")
    narrower = payer.refresh(tokens["refresh_token"], scope=f"{PHARMACY_ONLY} offline_access")
    assert narrower.status_code == 200, narrower.text
    assert narrower.json()["scope"] == f"{PHARMACY_ONLY} offline_access"
    member = Api(payer, narrower.json()["access_token"])
    assert set(member.ids("ExplanationOfBenefit")) == {("ExplanationOfBenefit", eob_id) for eob_id in EOBS["pharmacy"]}
    assert_insufficient_scope(member.get("Coverage"))
    back = payer.refresh(narrower.json()["refresh_token"], scope="patient/*.read offline_access")
    assert_oauth_error(back, 400, "invalid_scope")  # the new grant is the narrower one


def test_a_refresh_may_ask_for_a_v1_read_scope_in_v2_grammar(payer):
    """SMART v2: `.read` means `.rs`, so a grant of `patient/ExplanationOfBenefit.read` covers `.rs` and `.s`."""
    tokens = payer.tokens(scope="patient/ExplanationOfBenefit.read offline_access")
    v2 = payer.refresh(tokens["refresh_token"], scope="patient/ExplanationOfBenefit.rs offline_access")
    assert v2.status_code == 200, v2.text
    search_only = payer.refresh(v2.json()["refresh_token"], scope="patient/ExplanationOfBenefit.s offline_access")
    assert search_only.status_code == 200, search_only.text
    member = Api(payer, search_only.json()["access_token"])
    assert len(member.ids("ExplanationOfBenefit")) == sum(map(len, EOBS.values()))
    assert_insufficient_scope(member.get(f"ExplanationOfBenefit/{sorted(EOBS['oral'])[0]}"))


@pytest.mark.parametrize("granted, asked", [
    ("patient/ExplanationOfBenefit.s", "patient/ExplanationOfBenefit.rs"),
    (f"{PHARMACY_ONLY}", f"{ORAL_ONLY}"),
    ("patient/*.read", "user/*.read"),
    ("patient/*.read", "patient/*.write"),
    ("patient/*.read", "patient/Observation.rs?nonsense=1"),
])
def test_a_refresh_wider_than_the_grant_in_meaning_is_invalid_scope(payer, granted, asked):
    """RFC 6749 §6: a permission, a query, a context or a scope this server cannot apply beyond the grant."""
    tokens = payer.tokens(scope=f"{granted} offline_access")
    assert_oauth_error(payer.refresh(tokens["refresh_token"], scope=asked), 400, "invalid_scope")


def test_the_granted_scope_is_what_the_client_reads_back(payer):
    """TK-7 with a write asked: the token response's `scope` is the grant, not the request."""
    response = payer.exchange(payer.code(scope="patient/*.* launch/patient"), client=DEMO_CONFIDENTIAL)
    assert response.json()["scope"] == "patient/*.read launch/patient"
