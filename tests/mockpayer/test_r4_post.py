"""POST where FHIR R4 reads with it, on the mock's member API and directory over real HTTP (issue 21):
`POST [base]/[type]/_search` with a form body (http.html 3.1.0.8) and `POST [base]/Patient/[id]/$everything`
with an empty or a `Parameters` body (operations.html: an operation that changes nothing may be invoked by GET
or POST). Every other write stays 405 (API-1); faults and scopes act on the POST forms as on the GET ones."""

import pytest
import requests
from fhirpy import SyncFHIRClient

from tests.mockpayer.test_faults import _ids, _link, _set_faults

PATIENT = "demoplan-m1"
EOB_QUERY = {"patient": PATIENT, "_count": "5"}


@pytest.fixture
def member(payer):
    """member1's token and the demoplan base it reads."""
    return payer.tokens()["access_token"], f"{payer.url}/demoplan/r4"


def call(method, url, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def outcome(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


def walk(first: dict, token: str) -> list[str]:
    """The ids of every page from `first` on, following each `next` link with GET, as a client does."""
    ids, page = [], first
    while True:
        ids += _ids(page)
        url = _link(page, "next")
        if url is None:
            return ids
        page = call("GET", url, token).json()


def test_post_search_answers_as_the_get_and_pages_by_get(member):
    """http.html 3.1.0.8: `POST [base]/[type]/_search` with form parameters has the GET's meaning; the answer
    is the GET's byte for byte, so its `self` and `next` links are GET URLs of `[base]/[type]`."""
    token, base = member
    by_get = call("GET", f"{base}/ExplanationOfBenefit", token, params=EOB_QUERY)
    by_post = call("POST", f"{base}/ExplanationOfBenefit/_search", token, data=EOB_QUERY)
    assert by_post.status_code == by_get.status_code == 200
    assert by_post.content == by_get.content
    first = by_post.json()
    assert _link(first, "next").startswith(f"{base}/ExplanationOfBenefit?")
    walked = walk(first, token)
    assert len(walked) == len(set(walked)) == first["total"] > 5


def test_post_search_combines_query_and_body_parameters(member):
    """search.html: parameters may appear in both the URL and the body, with the same meaning in either."""
    token, base = member
    split = call("POST", f"{base}/ExplanationOfBenefit/_search?_count=3", token, data={"patient": PATIENT})
    assert split.status_code == 200, split.text
    assert split.content == call("GET", f"{base}/ExplanationOfBenefit", token,
                                 params={"_count": "3", "patient": PATIENT}).content
    assert len(split.json()["entry"]) == 3
    query_only = call("POST", f"{base}/ExplanationOfBenefit/_search?_count=3&patient={PATIENT}", token)
    assert query_only.content == split.content


@pytest.mark.parametrize("body, content_type", [
    (b'{"patient": "demoplan-m1"}', "application/json"),
    (b"patient=demoplan-m1", "text/plain"),
    (b'--b\r\nContent-Disposition: form-data; name="patient"\r\n\r\ndemoplan-m1\r\n--b--\r\n',
     "multipart/form-data; boundary=b"),
])
def test_post_search_takes_only_a_form_body(member, body, content_type):
    """http.html 3.1.0.8: the body is application/x-www-form-urlencoded; another type is 415."""
    token, base = member
    response = call("POST", f"{base}/ExplanationOfBenefit/_search", token, data=body,
                    headers={"Content-Type": content_type})
    assert "x-www-form-urlencoded" in outcome(response, 415)["diagnostics"]


def test_post_search_format_in_the_body_is_negotiated(member):
    """search.html: `_format` in the form means what it means in the URL, and only JSON is served (API-6)."""
    token, base = member
    response = call("POST", f"{base}/ExplanationOfBenefit/_search", token, data={"_format": "xml"})
    outcome(response, 406)


def test_post_everything_with_an_empty_body_answers_as_the_get(member):
    """operations.html: `$everything` changes nothing, so POST (fhirpy's default) gets the GET's answer."""
    token, base = member
    url = f"{base}/Patient/{PATIENT}/$everything"
    by_post = call("POST", url + "?_count=7", token)
    assert by_post.status_code == 200, by_post.text
    assert by_post.content == call("GET", url + "?_count=7", token).content
    first = by_post.json()
    assert _link(first, "next").startswith(url + "?")
    walked = walk(first, token)
    assert len(walked) == len(set(walked)) == first["total"]


def test_post_everything_reads_a_parameters_body(member):
    """operations.html: the in-parameters of a POSTed operation come in a Parameters resource; `_type` and
    `_count` there select as they do in the URL, and combine with the URL's."""
    token, base = member
    url = f"{base}/Patient/{PATIENT}/$everything"
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueCode": "Coverage,Patient"}, {"name": "_count", "valueInteger": 1}]}
    by_post = call("POST", url, token, json=parameters, headers={"Content-Type": "application/fhir+json"})
    assert by_post.status_code == 200, by_post.text
    assert by_post.content == call("GET", url, token, params={"_type": "Coverage,Patient", "_count": "1"}).content
    types = {entry["resource"]["resourceType"] for entry in by_post.json()["entry"]}
    assert types <= {"Coverage", "Patient"} and len(by_post.json()["entry"]) == 1
    since_in_body = {"resourceType": "Parameters",
                     "parameter": [{"name": "_since", "valueInstant": "2999-01-01T00:00:00Z"}]}
    later = call("POST", url + "?_type=Coverage", token, json=since_in_body)
    assert later.status_code == 200 and later.json()["total"] == 0


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    (b"[]", "must be a Parameters resource"),
    (b'{"resourceType": "Patient"}', "must be a Parameters resource"),
    (b'{"resourceType": "Parameters", "parameter": {"name": "_count"}}', "must be a list"),
    (b'{"resourceType": "Parameters", "parameter": [{"valueInteger": 5}]}', "needs a name"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_count"}]}', "one primitive value"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_count", "valueInteger": 5, "valueString": "5"}]}',
     "one primitive value"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_type", "resource": {"resourceType": "Patient"}}]}',
     "one primitive value"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_count", "valueInteger": -1}]}', "_count"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_type", "valueCode": "no such type"}]}', "_type"),
    (b'{"resourceType": "Parameters", "parameter": [{"name": "_count", "valueQuantity": {"value": 5}}]}',
     "one primitive value"),
])
def test_post_everything_with_a_malformed_body_is_400(member, body, message):
    """IN-J1, IN-J3: a body that is not a Parameters resource of primitive values is a short 400
    OperationOutcome, never a 500."""
    token, base = member
    response = call("POST", f"{base}/Patient/{PATIENT}/$everything", token, data=body,
                    headers={"Content-Type": "application/fhir+json"})
    assert message in outcome(response, 400)["diagnostics"]


def test_post_everything_takes_only_json(member):
    """IN-J3: a Parameters body is FHIR JSON; a form body to an operation is 415."""
    token, base = member
    response = call("POST", f"{base}/Patient/{PATIENT}/$everything", token, data={"_count": "5"})
    outcome(response, 415)


@pytest.mark.parametrize("method, path, allow", [
    ("POST", "ExplanationOfBenefit", "GET, HEAD"),  # create
    ("POST", f"Patient/{PATIENT}", "GET, HEAD"),
    ("PUT", f"Patient/{PATIENT}", "GET, HEAD"),
    ("POST", "metadata", "GET, HEAD"),
    ("GET", "ExplanationOfBenefit/_search", "POST"),
    ("PUT", "ExplanationOfBenefit/_search", "POST"),
    ("DELETE", "ExplanationOfBenefit/_search", "POST"),
    ("PUT", f"Patient/{PATIENT}/$everything", "GET, HEAD, POST"),
    ("PATCH", f"Patient/{PATIENT}/$everything", "GET, HEAD, POST"),
    ("DELETE", f"Patient/{PATIENT}/$everything", "GET, HEAD, POST"),
])
def test_other_methods_stay_405_with_allow(member, method, path, allow):
    """API-1 and RFC 9110 15.5.6: every write is 405 with the methods the path does take in `Allow`."""
    token, base = member
    response = call(method, f"{base}/{path}", token, json={"resourceType": "Patient"})
    assert outcome(response, 405)["code"] == "not-supported"
    assert response.headers["Allow"] == allow


def test_post_forms_need_the_token(payer):
    """BR-1: the POST forms are the API, behind the bearer token like the GET forms."""
    base = f"{payer.url}/demoplan/r4"
    for url in (f"{base}/ExplanationOfBenefit/_search", f"{base}/Patient/{PATIENT}/$everything"):
        response = call("POST", url)
        outcome(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scopes_limit_the_post_forms_as_the_get_forms(payer):
    """BR-4: a token for Patient and Coverage searches Coverage by POST, is refused EOBs with 403
    insufficient_scope, and its POSTed `$everything` holds no EOB."""
    token = payer.tokens(scope="patient/Patient.read patient/Coverage.read launch/patient")["access_token"]
    base = f"{payer.url}/demoplan/r4"
    assert call("POST", f"{base}/Coverage/_search", token, data={"patient": PATIENT}).json()["total"] >= 1
    refused = call("POST", f"{base}/ExplanationOfBenefit/_search", token, data={"patient": PATIENT})
    outcome(refused, 403)
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    everything = call("POST", f"{base}/Patient/{PATIENT}/$everything?_count=1000", token).json()
    types = {entry["resource"]["resourceType"] for entry in everything["entry"]}
    assert "Coverage" in types and "ExplanationOfBenefit" not in types


@pytest.mark.parametrize("path", ["ExplanationOfBenefit/_search", f"Patient/{PATIENT}/$everything"])
def test_faults_act_on_the_post_forms(payer, member, path):
    """API-5: a refusal (rate_limit, before the answer) and a reshaping (loop_next, on page 1) fire on the POST
    forms, which go through the same fault-injected views as the GETs."""
    token, base = member
    _set_faults(payer, rate_limit={"every": 1, "retry_after": 3})
    limited = call("POST", f"{base}/{path}", token, params={"_count": "5"})
    assert outcome(limited, 429)["code"] == "throttled" and limited.headers["Retry-After"] == "3"
    _set_faults(payer, loop_next={"page": 1})
    looped = call("POST", f"{base}/{path}", token, params={"_count": "5"})
    assert looped.status_code == 200, looped.text
    assert _link(looped.json(), "next") == _link(looped.json(), "self")


def test_directory_search_by_post(payer):
    """http.html 3.1.0.8 on the public directory: POST `_search` needs no token and answers as the GET."""
    base = f"{payer.url}/demoplan/directory/r4"
    by_post = call("POST", f"{base}/Organization/_search", data={"_count": "2"})
    assert by_post.status_code == 200, by_post.text
    assert by_post.content == call("GET", f"{base}/Organization", params={"_count": "2"}).content
    assert len(by_post.json()["entry"]) == 2


def test_fhirpy_execute_everything_by_post(member):
    """fhirpy's `execute` POSTs by default: `$everything` answers it, with and without a Parameters body."""
    token, base = member
    fhir = SyncFHIRClient(base, authorization=f"Bearer {token}")
    bundle = fhir.execute(f"Patient/{PATIENT}/$everything", params={"_count": 5})
    assert bundle["resourceType"] == "Bundle" and bundle["total"] > 5 and len(bundle["entry"]) == 5
    coverage_only = fhir.execute(f"Patient/{PATIENT}/$everything", data={
        "resourceType": "Parameters", "parameter": [{"name": "_type", "valueCode": "Coverage"}]})
    assert coverage_only["total"] >= 1
    assert {entry["resource"]["resourceType"] for entry in coverage_only["entry"]} == {"Coverage"}
    assert fhir.execute(f"Patient/{PATIENT}/$everything", method="get", params={"_count": 5}) == bundle


def test_an_unparsable_parameters_body_never_500s(member):
    """IN-J1: deep nesting and a lone surrogate are refused as JSON, with a 400."""
    token, base = member
    for body in (b"[" * 100_000, b'{"resourceType": "Parameters", "parameter": [{"name": "\\ud800"}]}'):
        response = call("POST", f"{base}/Patient/{PATIENT}/$everything", token, data=body,
                        headers={"Content-Type": "application/fhir+json"})
        outcome(response, 400)
