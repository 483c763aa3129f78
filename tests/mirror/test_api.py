"""The mirror's read-only FHIR API (issue 6) through Flask's test client.

Reads, conditional reads, every error status, one base per source, metadata, and the bearer token of `mirror serve
--token`.

Rows: API-1 (405 per verb), API-2 (404s with an OperationOutcome), API-3 (strict handling), API-6 (JSON
only), IN-P1 (ids in paths), IN-J4 (body size), IN-Q1 (parameters are literals), BR-1 (401 without a token).
The store holds demoplan's member1 as a sync stores it (see stores.py).
"""

import json

import orjson
import pytest

from mirror.api import create_app
from tests.mirror.stores import MEMBER1, fill, member_records, observations, remove

HOST = "http://mirror.example:8123"  # links must be built from the request's own host (an exposed server's name)


@pytest.fixture(scope="module")
def records():
    return member_records()


@pytest.fixture
def one_plan(tmp_path, records):
    fill(tmp_path, "demo", records.values())
    return tmp_path


@pytest.fixture
def client(one_plan):
    return create_app(one_plan, bind_host="0.0.0.0").test_client()


def get(client, path, **kwargs):
    return client.get(path, base_url=HOST, **kwargs)


def outcome(response, status):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/fhir+json"
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["severity"] == "error"
    return body["issue"][0]


def entries(response):
    assert response.status_code == 200, response.data
    return [(entry["resource"]["resourceType"], entry["resource"]["id"])
            for entry in response.get_json(force=True).get("entry", [])]


# ---- read --------------------------------------------------------------------------------------------


def test_read_returns_the_stored_text_byte_for_byte(client, records):
    for (resource_type, resource_id), text in records.items():
        response = get(client, f"/fhir/{resource_type}/{resource_id}")
        assert response.status_code == 200
        assert response.data == text.encode("utf-8")
        assert response.headers["Content-Type"] == "application/fhir+json; charset=utf-8"


def test_read_has_an_etag_from_the_content_hash_and_last_modified(client, one_plan):
    from mirror.store import Store
    stored = Store(one_plan, read_only=True).get("demo", "Patient", MEMBER1)
    response = get(client, f"/fhir/Patient/{MEMBER1}")
    assert response.headers["ETag"] == f'"{stored.content_hash}"'
    assert response.last_modified is not None
    assert response.last_modified.strftime("%Y-%m-%dT%H:%M:%S") == stored.fetched_at[:19]


def test_if_none_match_gives_304_and_a_stale_tag_the_resource(client):
    etag = get(client, f"/fhir/Patient/{MEMBER1}").headers["ETag"]
    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = get(client, f"/fhir/Patient/{MEMBER1}", headers={"If-None-Match": tag})
        assert response.status_code == 304 and response.data == b""
        assert response.headers["ETag"] == etag
    assert get(client, f"/fhir/Patient/{MEMBER1}", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_if_modified_since_gives_304_until_the_resource_changes(client):
    last_modified = get(client, f"/fhir/Patient/{MEMBER1}").headers["Last-Modified"]
    assert get(client, f"/fhir/Patient/{MEMBER1}", headers={"If-Modified-Since": last_modified}).status_code == 304
    older = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert get(client, f"/fhir/Patient/{MEMBER1}", headers={"If-Modified-Since": older}).status_code == 200


def test_a_resource_the_plan_removed_is_410(client, one_plan, records):
    eob_id = next(resource_id for resource_type, resource_id in records if resource_type == "ExplanationOfBenefit")
    remove(one_plan, "demo", "ExplanationOfBenefit", eob_id)
    issue = outcome(get(client, f"/fhir/ExplanationOfBenefit/{eob_id}"), 410)
    assert issue["code"] == "deleted"
    assert eob_id not in {resource_id for _, resource_id in entries(get(client, "/fhir/ExplanationOfBenefit"))}


def test_unknown_id_and_unknown_type_are_404(client):
    """API-2."""
    assert outcome(get(client, "/fhir/Patient/nobody"), 404)["code"] == "not-found"
    outcome(get(client, "/fhir/Foo/1"), 404)
    outcome(get(client, "/fhir/Foo"), 404)
    outcome(get(client, "/fhir/Period"), 404)  # a datatype, not a resource type
    outcome(get(client, "/fhir/Patient/1/$nothing"), 404)
    outcome(get(client, "/fhir/Patient/1/_history/1"), 404)


@pytest.mark.parametrize("bad_id", ["a%20b", "a%5Cb", "%00", "x" * 65, "a%2Cb", "%C3%A9", "a_b"])
def test_an_invalid_id_is_400(client, bad_id):
    """IN-P1: anything outside [A-Za-z0-9-.]{1,64} is refused before it reaches the store."""
    assert outcome(get(client, f"/fhir/Patient/{bad_id}"), 400)["code"] == "invalid"
    outcome(get(client, f"/fhir/Patient/{bad_id}/$everything"), 400)


@pytest.mark.parametrize("path", ["/fhir/Patient/..%2F..%2Fetc%2Fpasswd", "/fhir/Patient/%2e%2e%2fx",
                                  "/fhir/Patient/..", "/fhir/../fhir/Patient"])
def test_path_traversal_finds_nothing(client, path):
    """IN-P1: traversal spellings are 400 or 404, never a file."""
    response = get(client, path)
    assert response.status_code in (400, 404)
    if response.status_code != 404 or response.mimetype == "application/fhir+json":
        outcome(response, response.status_code)


# ---- what is refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/fhir/Patient", f"/fhir/Patient/{MEMBER1}", "/fhir/metadata", "/fhir/demo/Patient"])
def test_writes_are_405(client, verb, path):
    """API-1: one test per verb, with an OperationOutcome and Allow (POST that only reads: test_api_post.py)."""
    response = client.open(path, method=verb, base_url=HOST, data=b'{"resourceType":"Patient"}',
                           content_type="application/fhir+json")
    assert outcome(response, 405)["code"] == "not-supported"
    assert response.headers["Allow"] == "GET, HEAD"


def test_a_large_body_is_413(client):
    """IN-J4."""
    response = client.post("/fhir/Patient", base_url=HOST, data=b"x" * (5 * 1024 * 1024))
    assert outcome(response, 413)["code"] == "too-long"


@pytest.mark.parametrize("headers, query", [
    ({"Accept": "application/fhir+xml"}, ""),
    ({"Accept": "application/xml"}, ""),
    ({}, "?_format=xml"),
    ({}, "?_format=application/fhir+xml"),
    ({"Accept": "text/html"}, ""),
])
def test_xml_is_406(client, headers, query):
    """API-6."""
    assert outcome(get(client, f"/fhir/Patient/{MEMBER1}{query}", headers=headers), 406)["code"] == "not-supported"
    outcome(get(client, f"/fhir/metadata{query}", headers=headers), 406)


@pytest.mark.parametrize("accept", ["application/fhir+json", "application/json", "*/*", "application/json+fhir",
                                    "application/fhir+xml;q=0.9, application/fhir+json"])
def test_json_in_any_spelling_is_served(client, accept):
    """API-6: what fhirpy, fhirclient, the SMART JS client and the Blue Button SDK send."""
    assert get(client, f"/fhir/Patient/{MEMBER1}", headers={"Accept": accept}).status_code == 200
    assert get(client, f"/fhir/Patient/{MEMBER1}?_format=json").status_code == 200


def test_a_content_type_on_a_get_is_ignored(client):
    assert get(client, "/fhir/Patient", headers={"Content-Type": "multipart/form-data"}).status_code == 200


def test_head_answers_like_get_without_a_body(client):
    response = client.head(f"/fhir/Patient/{MEMBER1}", base_url=HOST)
    assert response.status_code == 200 and response.data == b"" and "ETag" in response.headers


def test_paths_outside_fhir_are_left_to_the_patient_pages(client):
    """Nothing but /fhir belongs to the API: elsewhere errors are not OperationOutcomes."""
    assert get(client, "/").mimetype != "application/fhir+json"
    assert get(client, "/no-such-page").mimetype != "application/fhir+json"
    assert get(client, "/fhirx/Patient").mimetype != "application/fhir+json"


# ---- one base per source -----------------------------------------------------------------------------


@pytest.fixture
def two_plans(tmp_path, records):
    """Two plans that both hold Patient/demoplan-m1, with different content, and other resources."""
    fill(tmp_path, "demo", records.values())
    other_patient = {"resourceType": "Patient", "id": MEMBER1, "name": [{"family": "Other"}]}
    fill(tmp_path, "other", [other_patient, *observations(3, patient=MEMBER1)])
    return tmp_path


def test_two_sources_holding_the_same_id_are_never_mixed_up(two_plans, records):
    client = create_app(two_plans, bind_host="0.0.0.0").test_client()
    demo = get(client, f"/fhir/demo/Patient/{MEMBER1}")
    other = get(client, f"/fhir/other/Patient/{MEMBER1}")
    assert demo.data == records[("Patient", MEMBER1)].encode()
    assert other.get_json(force=True)["name"] == [{"family": "Other"}]
    assert demo.headers["ETag"] != other.headers["ETag"]
    assert entries(get(client, "/fhir/other/Observation")) == [("Observation", f"obs-{n}") for n in range(3)]
    demo_observations = {key for key in records if key[0] == "Observation"}
    assert set(entries(get(client, f"/fhir/demo/Observation?patient={MEMBER1}&_count=1000"))) == demo_observations
    other_everything = entries(get(client, f"/fhir/other/Patient/{MEMBER1}/$everything"))
    assert sorted(other_everything) == [*[("Observation", f"obs-{n}") for n in range(3)], ("Patient", MEMBER1)]
    assert outcome(get(client, "/fhir/other/ExplanationOfBenefit/" + next(
        resource_id for resource_type, resource_id in records if resource_type == "ExplanationOfBenefit")), 404)


def test_the_short_base_exists_only_for_a_single_source(two_plans):
    client = create_app(two_plans, bind_host="0.0.0.0").test_client()
    issue = outcome(get(client, f"/fhir/Patient/{MEMBER1}"), 404)
    assert "/fhir/demo" in issue["diagnostics"] and "/fhir/other" in issue["diagnostics"]
    outcome(get(client, "/fhir/metadata"), 404)
    outcome(get(client, "/fhir/nosuchplan/Patient"), 404)


def test_the_single_source_answers_at_both_bases(client, records):
    short = get(client, f"/fhir/Patient/{MEMBER1}")
    named = get(client, f"/fhir/demo/Patient/{MEMBER1}")
    assert short.data == named.data == records[("Patient", MEMBER1)].encode()


def test_an_empty_store_says_to_sync_first(tmp_path):
    client = create_app(tmp_path / "nothing-yet", bind_host="0.0.0.0").test_client()
    assert "mirror sync" in outcome(get(client, "/fhir/metadata"), 404)["diagnostics"]


def test_links_are_absolute_on_the_requests_own_host_and_base(client):
    body = get(client, "/fhir/demo/Observation?_count=5").get_json(force=True)
    links = {link["relation"]: link["url"] for link in body["link"]}
    assert links["self"] == f"{HOST}/fhir/demo/Observation?_count=5"
    assert links["next"].startswith(f"{HOST}/fhir/demo/Observation?_count=5&_page_token=")
    assert all(entry["fullUrl"].startswith(f"{HOST}/fhir/demo/Observation/") for entry in body["entry"])
    short = get(client, "/fhir/Observation?_count=5").get_json(force=True)
    assert short["link"][0]["url"] == f"{HOST}/fhir/Observation?_count=5"


# ---- metadata ----------------------------------------------------------------------------------------


def test_metadata_lists_what_the_store_holds(client, records):
    statement = get(client, "/fhir/metadata").get_json(force=True)
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    assert statement["implementation"]["url"] == f"{HOST}/fhir"
    resources = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
    assert set(resources) == {resource_type for resource_type, _ in records}
    assert all({i["code"] for i in entry["interaction"]} == {"read", "search-type"} for entry in resources.values())
    assert resources["Patient"]["operation"][0]["name"] == "everything"
    eob_parameters = {p["name"] for p in resources["ExplanationOfBenefit"]["searchParam"]}
    assert {"_id", "_lastUpdated", "patient", "identifier", "type", "service-date", "created"} <= eob_parameters
    assert get(client, "/fhir/demo/metadata").get_json(force=True)["implementation"]["url"] == f"{HOST}/fhir/demo"


def test_metadata_follows_the_store(one_plan, client):
    remove(one_plan, "demo", "AllergyIntolerance",
           *[r["resource"]["id"] for r in get(client, "/fhir/AllergyIntolerance").get_json(force=True)["entry"]])
    statement = get(client, "/fhir/metadata").get_json(force=True)
    assert "AllergyIntolerance" not in {entry["type"] for entry in statement["rest"][0]["resource"]}


# ---- search: statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["_count=abc", "_count=-1", "_count=1.5", "_lastUpdated=yesterday",
                                   "_sort=name", "_include=Patient:nothing", "_summary=text", "patient:foo=1",
                                   "_count=1&_count=2", "_page_token=forged"])
def test_a_bad_search_is_400(client, query):
    assert outcome(get(client, f"/fhir/ExplanationOfBenefit?{query}"), 400)["code"] == "invalid"


def test_unknown_parameters_are_ignored_unless_strict(client):
    """API-3: the self link shows what was applied."""
    body = get(client, "/fhir/Patient?nonsense=1").get_json(force=True)
    assert body["total"] == 1 and "nonsense" not in body["link"][0]["url"]
    outcome(get(client, "/fhir/Patient?nonsense=1", headers={"Prefer": "handling=strict"}), 400)


def test_search_values_are_literals(client):
    """IN-Q1: a regex-looking value is compared as text, not run."""
    response = get(client, "/fhir/Patient?name=(a%2B)%2B$")
    assert entries(response) == []
    assert entries(get(client, "/fhir/Patient?_id=.*")) == []


def test_count_defaults_to_50_and_is_clamped_at_1000(tmp_path):
    fill(tmp_path, "demo", observations(1100))
    client = create_app(tmp_path, bind_host="0.0.0.0").test_client()
    default = get(client, "/fhir/Observation").get_json(force=True)
    assert len(default["entry"]) == 50 and default["total"] == 1100
    clamped = get(client, "/fhir/Observation?_count=5000").get_json(force=True)
    assert len(clamped["entry"]) == 1000 and "_count=1000" in clamped["link"][0]["url"]
    assert get(client, "/fhir/Observation?_count=0").get_json(force=True)["total"] == 1100


# ---- search: what it finds -------------------------------------------------------------------------------


def parsed(records, resource_type):
    return {resource_id: json.loads(text) for (kind, resource_id), text in records.items() if kind == resource_type}


def found_ids(client, query):
    return {resource_id for _, resource_id in entries(get(client, f"/fhir/{query}&_count=1000"))}


def test_search_by_id_and_by_patient_in_both_forms(client, records):
    eobs = parsed(records, "ExplanationOfBenefit")
    some = sorted(eobs)[:2]
    assert found_ids(client, f"ExplanationOfBenefit?_id={some[0]}") == {some[0]}
    assert found_ids(client, f"ExplanationOfBenefit?_id={some[0]},{some[1]},nope") == set(some)
    assert entries(get(client, f"/fhir/ExplanationOfBenefit?_id={some[0]},{some[0]}")) == [
        ("ExplanationOfBenefit", some[0])]
    both_forms = get(client, f"/fhir/Observation?patient={MEMBER1},Patient/{MEMBER1}&_summary=count")
    assert both_forms.get_json(force=True)["total"] == len(parsed(records, "Observation"))
    for value in (MEMBER1, f"Patient/{MEMBER1}", f"http://elsewhere.example/r4/Patient/{MEMBER1}"):
        assert found_ids(client, f"ExplanationOfBenefit?patient={value}") == set(eobs)
    assert found_ids(client, "ExplanationOfBenefit?patient=demoplan-m2") == set()
    assert found_ids(client, f"Coverage?patient={MEMBER1}") == set(parsed(records, "Coverage"))
    assert found_ids(client, f"Observation?subject:Patient={MEMBER1}") == set(parsed(records, "Observation"))


def test_search_by_identifier_and_claim_type(client, records):
    eobs = parsed(records, "ExplanationOfBenefit")
    eob_id, eob = sorted(eobs.items())[0]
    identifier = eob["identifier"][0]
    assert found_ids(client, f"ExplanationOfBenefit?identifier={identifier['system']}|{identifier['value']}") == {eob_id}
    assert found_ids(client, f"ExplanationOfBenefit?identifier={identifier['value']}") == {eob_id}
    claim_type = eob["type"]["coding"][0]
    expected = {i for i, e in eobs.items() if e["type"]["coding"][0]["code"] == claim_type["code"]}
    assert found_ids(client, f"ExplanationOfBenefit?type={claim_type['system']}|{claim_type['code']}") == expected
    assert 0 < len(expected) < len(eobs)


def test_search_by_service_date_created_and_last_updated(client, records):
    eobs = parsed(records, "ExplanationOfBenefit")
    years = sorted({e["billablePeriod"]["start"][:4] for e in eobs.values()})
    year = years[len(years) // 2]
    in_year = {i for i, e in eobs.items() if e["billablePeriod"]["start"][:4] == year}
    assert found_ids(client, f"ExplanationOfBenefit?service-date={year}") == in_year
    created = {i for i, e in eobs.items() if e["created"][:4] >= year}
    assert found_ids(client, f"ExplanationOfBenefit?created=ge{year}") == created
    updated = {i for i, e in eobs.items() if e["meta"]["lastUpdated"][:4] < year}
    assert found_ids(client, f"ExplanationOfBenefit?_lastUpdated=lt{year}") == updated
    assert found_ids(client, f"ExplanationOfBenefit?_lastUpdated=ge{year}&_lastUpdated=lt{year}") == set()


def test_include_brings_the_referenced_resources_once(client, records):
    body = get(client, f"/fhir/ExplanationOfBenefit?patient={MEMBER1}&_include=ExplanationOfBenefit:*"
                       "&_count=1000").get_json(force=True)
    matches = [e for e in body["entry"] if e["search"]["mode"] == "match"]
    included = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in body["entry"]
                if e["search"]["mode"] == "include"]
    assert len(matches) == body["total"] == len(parsed(records, "ExplanationOfBenefit"))
    assert len(included) == len(set(included)) > 0
    assert {"Patient", "Coverage", "Organization"} <= {kind for kind, _ in included}
    assert all(key in records for key in included)


def test_sort_by_last_updated_and_date(client, records):
    eobs = parsed(records, "ExplanationOfBenefit")
    newest_first = entries(get(client, "/fhir/ExplanationOfBenefit?_sort=-_lastUpdated&_count=1000"))
    stamps = [eobs[resource_id]["meta"]["lastUpdated"] for _, resource_id in newest_first]
    assert len(stamps) == len(eobs)
    from mirror.fhir.dates import date_range
    instants = [date_range(stamp).start for stamp in stamps]
    assert instants == sorted(instants, reverse=True)
    observations_by_date = entries(get(client, "/fhir/Observation?_sort=date&_count=1000"))
    all_observations = parsed(records, "Observation")
    dates = [date_range(all_observations[i]["effectiveDateTime"]).start for _, i in observations_by_date]
    assert dates == sorted(dates)


def test_summary_count_and_elements(client, records):
    body = get(client, "/fhir/Observation?_summary=count").get_json(force=True)
    assert body["total"] == len(parsed(records, "Observation")) and "entry" not in body or body["entry"] == []
    cut = get(client, "/fhir/Patient?_elements=birthDate").get_json(force=True)["entry"][0]["resource"]
    assert set(cut) <= {"resourceType", "id", "meta", "birthDate"} and "birthDate" in cut
    assert any(tag["code"] == "SUBSETTED" for tag in cut["meta"]["tag"])


# ---- $everything -------------------------------------------------------------------------------------------


def test_everything_holds_the_member_and_what_their_records_name(client, records):
    """The synced member's records are exactly their compartment plus what it references."""
    body = get(client, f"/fhir/Patient/{MEMBER1}/$everything?_count=1000").get_json(force=True)
    assert body["type"] == "searchset" and body["total"] == len(records)
    assert {(e["resource"]["resourceType"], e["resource"]["id"]) for e in body["entry"]} == set(records)
    texts = orjson.loads(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_count=1000").data)
    assert len(texts["entry"]) == len(records)


def test_everything_does_not_reach_another_patients_records(tmp_path, records):
    fill(tmp_path, "demo", [*records.values(), *member_records("demoplan-m2").values()])
    client = create_app(tmp_path, bind_host="0.0.0.0").test_client()
    mine = set(entries(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_count=1000")))
    assert mine == set(records)


def test_everything_filters_by_type_and_since(client, records):
    only = entries(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_type=Patient,Coverage"))
    assert {kind for kind, _ in only} == {"Patient", "Coverage"}
    since = entries(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_since=2100-01-01T00:00:00Z"))
    assert since == []


def test_everything_errors(client, one_plan):
    outcome(get(client, "/fhir/Patient/nobody/$everything"), 404)
    outcome(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_count=abc"), 400)
    outcome(get(client, f"/fhir/Patient/{MEMBER1}/$everything?_since=soon"), 400)
    remove(one_plan, "demo", "Patient", MEMBER1)
    outcome(get(client, f"/fhir/Patient/{MEMBER1}/$everything"), 410)


# ---- the token -------------------------------------------------------------------------------------------


def test_with_a_token_every_request_needs_it(one_plan):
    """BR-1: no token, 401 with a realm and no error code; a wrong one, invalid_token."""
    client = create_app(one_plan, token="s3cret-token", bind_host="0.0.0.0").test_client()
    missing = get(client, f"/fhir/Patient/{MEMBER1}")
    outcome(missing, 401)
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="payer-mirror"'
    wrong = get(client, f"/fhir/Patient/{MEMBER1}", headers={"Authorization": "Bearer s3cret-tokeX"})
    outcome(wrong, 401)
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "s3cret" not in wrong.get_data(as_text=True)
    basic = get(client, "/fhir/metadata", headers={"Authorization": "Basic czNjcmV0LXRva2Vu"})
    outcome(basic, 401)
    right = get(client, f"/fhir/Patient/{MEMBER1}", headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200
    outcome(client.post("/fhir/Patient", base_url=HOST), 401)  # the token is checked before anything else


def test_a_loopback_mirror_answers_only_loopback_host_names(tmp_path):
    """DNS rebinding: a web page cannot reach the member's records by pointing its own name at 127.0.0.1."""
    from mirror.api import create_app

    client = create_app(tmp_path).test_client()
    assert client.get("/fhir/metadata", headers={"Host": "127.0.0.1:8080"}).status_code != 400
    assert client.get("/", headers={"Host": "localhost:8080"}).status_code == 200
    refused = client.get("/fhir/metadata", headers={"Host": "evil.example:8080"})
    assert refused.status_code == 400 and refused.get_json()["resourceType"] == "OperationOutcome"
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    exposed = create_app(tmp_path, bind_host="0.0.0.0").test_client()
    assert exposed.get("/", headers={"Host": "my-laptop.lan:8080"}).status_code == 200
