"""Blue Button mode's FHIR API (`/v2/fhir/...`) and userinfo over real HTTP: reads and searches of the
beneficiary's own records, paging by `startIndex` and `_count`, its search parameters, and its errors."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.mockpayer.bluebutton.driver import TIMEOUT, assert_detail, entry_ids, link, sdk_pkce
from tests.mockpayer.bluebutton.plan import (
    BENEFICIARY, MBI, OTHER_BENEFICIARY, OTHER_CLAIM, SAMHSA_CLAIMS, SYSTEM_ID, claim_ids,
)

NOT_FOUND = "The requested resource does not exist"
FORBIDDEN = "You do not have permission to perform this action."
UPSTREAM = "An error occurred contacting the upstream server:"


@pytest.fixture
def token(bluebutton) -> str:
    return bluebutton.tokens()["access_token"]


def _claims(bluebutton, token, **params) -> set[str]:
    return {claim for page in bluebutton.pages("fhir/ExplanationOfBenefit/", token, **params)
            for claim in entry_ids(page)}


# ---- tokens (RFC 6750) --------------------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(bluebutton):
    """BR-1, RFC 6750 §3.1: no token, a challenge without an error code; Blue Button's realm and words."""
    response = bluebutton.get("fhir/ExplanationOfBenefit/")
    assert_detail(response, 401, "Authentication credentials were not provided.")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_bad_token_is_invalid_token(bluebutton):
    """BR-2, RFC 6750 §3.1: a token presented that is not one, `invalid_token` in the challenge."""
    response = bluebutton.get("fhir/Patient/", "not-a-token")
    assert_detail(response, 401, "Authentication credentials were not provided.")
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token is invalid."')


def test_an_expired_token_says_so(bluebutton, token):
    """BR-2: past its `expires_in`, the challenge says it has expired."""
    bluebutton.clock.advance(36001)
    response = bluebutton.get("fhir/Patient/", token)
    assert response.status_code == 401
    assert 'error_description="The access token has expired."' in response.headers["WWW-Authenticate"]


def test_a_token_in_the_query_is_refused(bluebutton, token):
    """RFC 6750 §2.3 is not offered: Blue Button answers a query `access_token` with 400."""
    response = bluebutton.get("fhir/Patient/", access_token=token)
    assert_detail(response, 400, "Using the access token in the query parameters is not supported. "
                                 "Use the Authorization header instead")


# ---- reads --------------------------------------------------------------------------------------------


def test_read_the_beneficiarys_patient_with_its_mbi(bluebutton, token):
    """A read answers the resource as the plan holds it; a Blue Button id keeps its leading hyphen."""
    patient = bluebutton.get(f"fhir/Patient/{BENEFICIARY[2]}", token)
    assert patient.status_code == 200 and patient.headers["Content-Type"].startswith("application/json")
    identifiers = {identifier["system"]: identifier["value"] for identifier in patient.json()["identifier"]}
    assert identifiers["http://hl7.org/fhir/sid/us-mbi"] == MBI


def test_read_a_claim_by_its_cms_id(bluebutton, token):
    claim = bluebutton.get("fhir/ExplanationOfBenefit/carrier--10000930037921", token)
    assert claim.status_code == 200 and claim.json()["id"] == "carrier--10000930037921"
    assert bluebutton.get("fhir/Coverage/part-a--10000000000001/", token).status_code == 200  # trailing slash too


@pytest.mark.parametrize("path", [f"fhir/Patient/{OTHER_BENEFICIARY[2]}", f"fhir/ExplanationOfBenefit/{OTHER_CLAIM}",
                                  "fhir/Coverage/part-a--10000000000002", "fhir/ExplanationOfBenefit/pde--1"])
def test_another_beneficiarys_record_is_as_unknown_as_a_missing_one(bluebutton, token, path):
    """A record of someone else is 404 in the same words as one that does not exist: ids cannot be probed."""
    assert_detail(bluebutton.get(path, token), 404, NOT_FOUND)


def test_a_type_blue_button_does_not_serve_is_404(bluebutton, token):
    assert_detail(bluebutton.get("fhir/Observation/", token), 404,
                  "The requested resource type, Observation, is not supported")


@pytest.mark.parametrize("method, path", [
    ("POST", "fhir/Patient/"), ("POST", "fhir/ExplanationOfBenefit"), ("POST", "fhir/ExplanationOfBenefit/"),
    ("PUT", f"fhir/Patient/{BENEFICIARY[2]}"), ("PUT", f"fhir/Patient/{BENEFICIARY[2]}/"),
    ("DELETE", "fhir/Coverage/part-a--10000000000001"), ("PATCH", "fhir/ExplanationOfBenefit/carrier--10000930037921"),
    ("POST", "connect/userinfo"), ("POST", "connect/userinfo/"), ("PUT", "fhir/metadata"),
])
def test_writes_are_405(bluebutton, token, method, path):
    """The API is read-only: a method it does not take on a path it has is Blue Button's 405 with `Allow`
    (RFC 9110 §15.5.6), with or without the trailing slash, never 404."""
    response = requests.request(method, f"{bluebutton.root}/{path}", headers={"Authorization": f"Bearer {token}"},
                                json={"resourceType": "Patient"}, timeout=TIMEOUT)
    assert_detail(response, 405, f'Method "{method}" not allowed.')
    assert "GET" in response.headers["Allow"]


def test_other_methods_at_the_oauth_endpoints_are_405(bluebutton):
    """RFC 9110 §15.5.6 at `/v2/o/...` too, in RFC 6749's error JSON, with or without the slash."""
    for path in ("o/token", "o/token/", "o/revoke_token", "o/authorize"):
        response = requests.put(f"{bluebutton.root}/{path}", timeout=TIMEOUT)
        assert response.status_code == 405, path
        assert "POST" in response.headers["Allow"]


def test_only_json_is_served(bluebutton, token):
    """XML asked for is 406; `*/*` and FHIR JSON are answered (the SDK sends `*/*`)."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{bluebutton.root}/fhir/Patient/{BENEFICIARY[2]}"
    assert_detail(requests.get(url, headers={**headers, "Accept": "application/fhir+xml"}, timeout=TIMEOUT), 406,
                  "Could not satisfy the request Accept header.")
    fhir = requests.get(url, headers={**headers, "Accept": "application/fhir+json"}, timeout=TIMEOUT)
    assert fhir.status_code == 200 and fhir.headers["Content-Type"].startswith("application/fhir+json")


# ---- searches and paging ------------------------------------------------------------------------------


def test_patient_search_is_the_beneficiary_alone(bluebutton, token):
    """Blue Button binds a Patient search to the beneficiary (`_id`), whatever else it asks."""
    bundle = bluebutton.get("fhir/Patient/", token, _id=OTHER_BENEFICIARY[2]).json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["total"] == 1 and entry_ids(bundle) == [BENEFICIARY[2]]
    assert [entry["relation"] for entry in bundle["link"]] == ["first", "last", "self"]


def test_paging_by_start_index_and_count(bluebutton, token):
    """BFD's paging: `_count` from `startIndex`, absolute `first`/`next`/`previous`/`last` links that repeat the
    query on the host the app called; following `next` reaches every claim once (SY-5)."""
    first = bluebutton.get("fhir/ExplanationOfBenefit/", token, _count=3).json()
    assert first["total"] == len(claim_ids()) and len(first["entry"]) == 3
    assert [entry["relation"] for entry in first["link"]] == ["first", "next", "last", "self"]
    next_url = link(first, "next")
    assert next_url.startswith(f"{bluebutton.root}/fhir/ExplanationOfBenefit?")
    query = parse_qs(urlsplit(next_url).query)
    assert query["startIndex"] == ["3"] and query["_count"] == ["3"] and query["patient"] == [BENEFICIARY[2]]
    assert parse_qs(urlsplit(link(first, "last")).query)["startIndex"] == ["6"]
    second = requests.get(next_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT).json()
    assert parse_qs(urlsplit(link(second, "previous")).query)["startIndex"] == ["0"]
    pages = bluebutton.pages("fhir/ExplanationOfBenefit/", token, _count=3)
    assert [len(page["entry"]) for page in pages] == [3, 3, 1]
    seen = [claim for page in pages for claim in entry_ids(page)]
    assert sorted(seen) == sorted(claim_ids())


def test_count_is_also_read_as_count_without_underscore(bluebutton, token):
    """Blue Button reads `count` as `_count`."""
    assert len(bluebutton.get("fhir/ExplanationOfBenefit/", token, count=2).json()["entry"]) == 2


def test_the_default_page_is_ten(bluebutton, token):
    bundle = bluebutton.get("fhir/ExplanationOfBenefit/", token).json()
    assert len(bundle["entry"]) == len(claim_ids()) and link(bundle, "next") is None
    assert parse_qs(urlsplit(link(bundle, "first")).query)["_count"] == ["10"]


def test_a_start_index_past_the_end_is_an_empty_page(bluebutton, token):
    bundle = bluebutton.get("fhir/ExplanationOfBenefit/", token, startIndex=50).json()
    assert bundle["total"] == len(claim_ids()) and bundle["entry"] == [] and link(bundle, "next") is None


@pytest.mark.parametrize("params, detail", [
    ({"_count": "51"}, "value must be at most 50"),
    ({"_count": "-1"}, "value must be at least 0"),
    ({"_count": "ten"}, "expected int"),
    ({"startIndex": "x"}, "expected int"),
    ({"_count": "0"}, UPSTREAM + "Invalid pageSize '0'"),
    ({"startIndex": "-3"}, UPSTREAM + "Value for startIndex cannot be negative: -3"),
    ({"type": "claim"}, "the type parameter value is not valid"),
    ({"type": "http://example.org/types|carrier"}, "the type parameter value is not valid"),
    ({"service-date": "2022-01-01"}, "the service-date operator is not valid"),
    ({"_lastUpdated": "eq2023-01-05"}, "the _lastUpdated operator is not valid"),
])
def test_bad_search_parameters_get_blue_buttons_400(bluebutton, token, params, detail):
    """Blue Button's own checks in its words; what its data server would refuse in BFD's words behind its own."""
    assert_detail(bluebutton.get("fhir/ExplanationOfBenefit/", token, **params), 400, detail)


def test_a_date_the_data_server_cannot_read_is_an_upstream_400(bluebutton, token):
    response = bluebutton.get("fhir/ExplanationOfBenefit/", token, **{"service-date": "gtsoon"})
    assert response.status_code == 400 and response.json()["detail"].startswith(UPSTREAM)


@pytest.mark.parametrize("value, expected", [
    ("carrier", {"carrier--10000930037921", "carrier--10000930037922"}),
    ("PDE,inpatient", {"pde--10000930000004", "inpatient--10000930000002"}),
    ("https://bluebutton.cms.gov/resources/codesystem/eob-type|snf", {"snf--10000930000005"}),
    ("https://bluebutton.cms.gov/resources/codesystem/eob-type|", None),
])
def test_search_by_claim_type(bluebutton, token, value, expected):
    """`type` takes Blue Button's claim types, bare or in its `eob-type` system, any case, comma-separated; the
    system alone means every type."""
    assert _claims(bluebutton, token, type=value) == (claim_ids() if expected is None else expected)


def test_search_by_service_date(bluebutton, token):
    """`service-date` reads `billablePeriod` and an item's `servicedDate` (a Part D fill); two values are a range."""
    found = _claims(bluebutton, token, **{"service-date": ["ge2021-06-01", "lt2022-01-04"]})
    assert found == {"carrier--10000930037922", "pde--10000930000004", "inpatient--10000930000002"}


def test_search_by_last_updated(bluebutton, token):
    """`_lastUpdated` on claims and on coverage alike."""
    assert _claims(bluebutton, token, _lastUpdated="gt2023-03-01") == {
        "inpatient--10000930000002", "outpatient--10000930000003", "pde--10000930000004", "snf--10000930000005"}
    coverage = bluebutton.get("fhir/Coverage/", token, _lastUpdated="gt2023-03-01").json()
    assert coverage["total"] == 0
    assert bluebutton.get("fhir/Coverage/", token, _lastUpdated="le2023-03-01").json()["total"] == 3


def test_exclude_samhsa(bluebutton, token):
    """`excludeSAMHSA=true` leaves out the claims of substance use disorder treatment (42 CFR Part 2): by diagnosis
    (ICD-10-CM F10.20) and by BFD's `42CFRPart2` security label; any other value leaves them in, as BFD reads it;
    the page links carry the parameter on."""
    assert _claims(bluebutton, token, excludeSAMHSA="true") == claim_ids() - SAMHSA_CLAIMS
    assert _claims(bluebutton, token, excludeSAMHSA="false") == claim_ids()
    bundle = bluebutton.get("fhir/ExplanationOfBenefit/", token, excludeSAMHSA="true", _count=2).json()
    assert bundle["total"] == len(claim_ids() - SAMHSA_CLAIMS)
    assert parse_qs(urlsplit(link(bundle, "next")).query)["excludeSAMHSA"] == ["true"]


def test_a_search_may_not_name_another_beneficiary(bluebutton, token):
    """Blue Button binds searches to the token's beneficiary: naming another is 403."""
    assert_detail(bluebutton.get("fhir/ExplanationOfBenefit/", token, patient=OTHER_BENEFICIARY[2]), 403, FORBIDDEN)
    assert_detail(bluebutton.get("fhir/Coverage/", token, beneficiary=f"Patient/{OTHER_BENEFICIARY[2]}"), 403,
                  FORBIDDEN)
    own = bluebutton.get("fhir/Coverage/", token, beneficiary=f"Patient/{BENEFICIARY[2]}").json()
    assert sorted(entry_ids(own)) == ["part-a--10000000000001", "part-b--10000000000001", "part-d--10000000000001"]


def test_unknown_parameters_are_ignored(bluebutton, token):
    """Blue Button drops parameters it does not take, as it does `_format`."""
    bundle = bluebutton.get("fhir/ExplanationOfBenefit/", token, status="cancelled", _format="xml").json()
    assert bundle["total"] == len(claim_ids())


# ---- userinfo and discovery ---------------------------------------------------------------------------


def test_userinfo(bluebutton, token):
    """Blue Button's userinfo: `sub` and `patient` are the beneficiary's Patient id; names from their Patient."""
    info = bluebutton.get("connect/userinfo", token).json()
    assert info["sub"] == info["patient"] == BENEFICIARY[2]
    assert (info["given_name"], info["family_name"], info["name"]) == ("Jane X", "Doe", "Jane X Doe")
    assert set(info) == {"sub", "patient", "name", "given_name", "family_name", "email", "iat"}


def test_userinfo_with_a_trailing_slash_answers_the_same(bluebutton, token):
    """Blue Button's userinfo route takes the trailing slash too."""
    assert bluebutton.get("connect/userinfo/", token).json() == bluebutton.get("connect/userinfo", token).json()
    assert_detail(bluebutton.get("connect/userinfo/"), 401, "Authentication credentials were not provided.")


def test_userinfo_without_a_token_is_401(bluebutton):
    assert_detail(bluebutton.get("connect/userinfo"), 401, "Authentication credentials were not provided.")


def test_smart_configuration(bluebutton):
    """DS-1 in Blue Button's shape: its endpoints (the token endpoint with its trailing slash, the authorization
    endpoint as CMS's documentation writes it, with the slash), S256, its scopes; and, as Blue Button's, no
    `userinfo_endpoint` or `fhir_metadata_uri` (CMS's server deletes both from this document), so an app that
    works against the mock does not lean on keys Blue Button's does not have."""
    config = bluebutton.get("fhir/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"] == f"{bluebutton.root}/o/authorize/"
    assert config["token_endpoint"] == f"{bluebutton.root}/o/token/"
    assert config["revocation_endpoint"] == f"{bluebutton.root}/o/revoke_token"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "patient/ExplanationOfBenefit.rs" in config["scopes_supported"]
    assert not {"userinfo_endpoint", "fhir_metadata_uri"} & set(config)


def test_the_advertised_authorization_endpoint_shows_the_sign_in_page(bluebutton):
    """The URL the configuration names answers, as the one without the slash does (test_oauth.py)."""
    config = bluebutton.get("fhir/.well-known/smart-configuration").json()
    _, challenge = sdk_pkce()
    url = bluebutton.authorize_url(code_challenge=challenge).replace(f"{bluebutton.root}/o/authorize/",
                                                                   config["authorization_endpoint"])
    page = requests.get(url, timeout=TIMEOUT)
    assert page.status_code == 200 and 'name="password"' in page.text


def test_openid_configuration_names_userinfo_and_the_fhir_metadata(bluebutton):
    """Blue Button's `/v2/connect/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): where CMS's
    server publishes `userinfo_endpoint` and `fhir_metadata_uri`, its issuer the host; both URLs answer."""
    document = bluebutton.get("connect/.well-known/openid-configuration").json()
    assert document["issuer"] == bluebutton.url
    assert document["userinfo_endpoint"] == f"{bluebutton.root}/connect/userinfo"
    assert document["fhir_metadata_uri"] == f"{bluebutton.root}/fhir/metadata"
    assert document["token_endpoint"] == f"{bluebutton.root}/o/token/"
    assert "refresh_token" in document["grant_types_supported"]
    assert requests.get(document["fhir_metadata_uri"], timeout=TIMEOUT).json()["resourceType"] == "CapabilityStatement"
    assert_detail(requests.get(document["userinfo_endpoint"], timeout=TIMEOUT), 401,
                  "Authentication credentials were not provided.")


def test_openid_configuration_under_the_plan_prefix(beside_demoplan):
    """Beside other plans the document is under `/{system-id}/v2/...`, its issuer and URLs with the prefix."""
    document = beside_demoplan.get("connect/.well-known/openid-configuration").json()
    assert document["issuer"] == f"{beside_demoplan.url}/{SYSTEM_ID}"
    assert document["userinfo_endpoint"] == f"{beside_demoplan.root}/connect/userinfo"


def test_metadata(bluebutton):
    """DS-2: the three types, Blue Button's search parameters, and the oauth-uris extension fhirclient reads."""
    statement = bluebutton.get("fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert [resource["type"] for resource in rest["resource"]] == ["Patient", "Coverage", "ExplanationOfBenefit"]
    eob = rest["resource"][2]
    assert {"type", "service-date", "excludeSAMHSA", "startIndex"} <= {param["name"] for param in eob["searchParam"]}
    uris = {extension["url"]: extension["valueUri"] for extension in rest["security"]["extension"][0]["extension"]}
    assert uris["token"] == f"{bluebutton.root}/o/token/"


def test_a_browser_app_may_call_the_api_and_the_token_endpoint(bluebutton):
    """CORS, as for the other plans' APIs: a preflight from any origin is answered, without credentials."""
    for path in ("fhir/ExplanationOfBenefit/", "o/token/", "connect/userinfo", "connect/userinfo/",
                 "connect/.well-known/openid-configuration"):
        response = requests.options(f"{bluebutton.root}/{path}", timeout=TIMEOUT, headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert response.headers.get("Access-Control-Allow-Origin") == "*", path
