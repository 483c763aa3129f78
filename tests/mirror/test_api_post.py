"""POST where FHIR R4 reads with it, on `mirror serve`'s API over a real loopback port (issue 21).

`POST [base]/[type]/_search` (http.html 3.1.0.8) and `POST [base]/Patient/[id]/$everything` (operations.html) are
answered as their GET forms; every other write stays 405 (API-1). The Parameters edge cases are the mock's tests
(tests/mockpayer/test_r4_post.py): both servers read bodies with the same code, mirror/http/fhir_flask.py.

The store holds demoplan's member1 as a sync stores it (see stores.py).
"""

import pytest
from fhirpy import SyncFHIRClient

from mirror.api import create_app
from mirror.http.wsgi_server import start_in_thread
from tests.mirror.stores import MEMBER1, fill, member_records
from tests.mockpayer.test_faults import _ids, _link
from tests.mockpayer.test_r4_post import call, outcome, walk

TOKEN = "a-long-random-token-for-tests"
EOB_QUERY = {"patient": MEMBER1, "_count": "5"}


@pytest.fixture(scope="module")
def records():
    return member_records()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, records):
    folder = tmp_path_factory.mktemp("served")
    fill(folder, "demo", records.values())
    return folder


@pytest.fixture(scope="module")
def served(data_dir):
    server = start_in_thread(create_app(data_dir))
    yield server.url
    server.stop()


@pytest.mark.parametrize("base_path", ["/fhir", "/fhir/demo"])
def test_post_search_answers_as_the_get_and_pages_by_get(served, records, base_path):
    """http.html 3.1.0.8: the POST form's answer is the GET's byte for byte, on the short base and the
    source's; its `next` links are GET URLs of `[base]/[type]` that walk every match once."""
    base = served + base_path
    by_post = call("POST", f"{base}/ExplanationOfBenefit/_search", data=EOB_QUERY)
    assert by_post.status_code == 200, by_post.text
    assert by_post.content == call("GET", f"{base}/ExplanationOfBenefit", params=EOB_QUERY).content
    assert _link(by_post.json(), "next").startswith(f"{base}/ExplanationOfBenefit?")
    walked = walk(by_post.json(), None)
    assert sorted(walked) == sorted(i for t, i in records if t == "ExplanationOfBenefit")


def test_post_search_combines_query_and_body_parameters(served):
    """search.html: parameters in the URL and in the body combine, with the same meaning in either place."""
    base = served + "/fhir"
    split = call("POST", f"{base}/ExplanationOfBenefit/_search?_count=3", data={"patient": MEMBER1})
    by_get = call("GET", f"{base}/ExplanationOfBenefit", params={"_count": "3", "patient": MEMBER1})
    assert split.content == by_get.content
    assert len(_ids(split.json())) == 3
    assert call("POST", f"{base}/ExplanationOfBenefit/_search?_count=3&patient={MEMBER1}").content == split.content


def test_post_search_takes_only_a_form_body(served):
    """http.html 3.1.0.8: the body is application/x-www-form-urlencoded; JSON is 415."""
    response = call("POST", f"{served}/fhir/ExplanationOfBenefit/_search", json={"patient": MEMBER1})
    outcome(response, 415)


def test_post_everything_answers_as_the_get(served):
    """operations.html: `$everything` by POST, with an empty body or a Parameters body, is the GET's answer."""
    url = f"{served}/fhir/Patient/{MEMBER1}/$everything"
    by_get = call("GET", url, params={"_type": "Coverage,Patient", "_count": "1"})
    assert call("POST", url + "?_type=Coverage,Patient&_count=1").content == by_get.content
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "_type", "valueCode": "Coverage,Patient"}, {"name": "_count", "valueInteger": 1}]}
    by_post = call("POST", url, json=parameters, headers={"Content-Type": "application/fhir+json"})
    assert by_post.status_code == 200, by_post.text
    assert by_post.content == by_get.content
    walked = walk(by_post.json(), None)
    assert len(walked) == len(set(walked)) == by_post.json()["total"] >= 2


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/fhir+json", 400),
    (b'{"resourceType": "Bundle"}', "application/json", 400),
    (b"_count=5", "application/x-www-form-urlencoded", 415),
])
def test_post_everything_with_a_bad_body(served, body, content_type, status):
    """IN-J1, IN-J3: a body that is not a Parameters resource is 400, another content type 415."""
    response = call("POST", f"{served}/fhir/Patient/{MEMBER1}/$everything", data=body,
                    headers={"Content-Type": content_type})
    outcome(response, status)


@pytest.mark.parametrize("method, path, allow", [
    ("POST", f"Patient/{MEMBER1}", "GET, HEAD"),
    ("GET", "ExplanationOfBenefit/_search", "POST"),
    ("PUT", "ExplanationOfBenefit/_search", "POST"),
    ("PATCH", f"demo/Patient/{MEMBER1}/$everything", "GET, HEAD, POST"),
    ("DELETE", f"Patient/{MEMBER1}/$everything", "GET, HEAD, POST"),
])
def test_other_methods_stay_405_with_allow(served, method, path, allow):
    """API-1 and RFC 9110 15.5.6: 405 with the methods the path does take (POST to a type: test_api.py)."""
    response = call(method, f"{served}/fhir/{path}", json={"resourceType": "Patient"})
    assert outcome(response, 405)["code"] == "not-supported"
    assert response.headers["Allow"] == allow


def test_post_forms_need_the_token(data_dir):
    """BR-1: with `--token`, the POST forms are refused without it, like every other request."""
    server = start_in_thread(create_app(data_dir, token=TOKEN))
    try:
        base = server.url + "/fhir"
        for url in (f"{base}/ExplanationOfBenefit/_search", f"{base}/Patient/{MEMBER1}/$everything"):
            outcome(call("POST", url), 401)
            assert call("POST", url, TOKEN).status_code == 200
    finally:
        server.stop()


def test_fhirpy_execute_everything_by_post(served, records):
    """fhirpy's `execute` POSTs by default: `$everything` answers it, with and without a Parameters body."""
    fhir = SyncFHIRClient(served + "/fhir")
    bundle = fhir.execute(f"Patient/{MEMBER1}/$everything", params={"_count": 5})
    assert bundle["total"] == len(records) and len(bundle["entry"]) == 5
    coverage_only = fhir.execute(f"Patient/{MEMBER1}/$everything", data={
        "resourceType": "Parameters", "parameter": [{"name": "_type", "valueCode": "Coverage"}]})
    assert sorted(_ids(coverage_only)) == sorted(i for t, i in records if t == "Coverage")
    assert fhir.execute(f"Patient/{MEMBER1}/$everything", method="get", params={"_count": 5}) == bundle
