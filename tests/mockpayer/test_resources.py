"""Loading a plan's resources: every file shape, and a report line instead of a crash for each bad input."""

import json

from mockpayer.resources import StoredResource, load_resources

PATIENT = {"resourceType": "Patient", "id": "-p.1", "name": [{"text": "Zoë"}]}


def _write(folder, name, content):
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_single_files_are_served_exactly_as_written(tmp_path):
    text = '{"resourceType":"Coverage", "id":"c1","status":"active",  "x": 100.50}\n'
    _write(tmp_path, "c.json", text)
    loaded = load_resources(tmp_path)
    assert loaded.get("Coverage", "c1").text == text.strip()


def test_transaction_bundle_urns_become_relative_references(tmp_path):
    uuid_patient, uuid_claim = "urn:uuid:6e0fb0c8-8b45-4ab1-9a54-6ad0d3b3a5a1", "urn:uuid:0a8a3b9e-0c7a-4e6c-8d6e-2b6f1f0d3c11"
    _write(tmp_path, "t.json", {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": uuid_patient, "resource": {"resourceType": "Patient", "name": [{"text": "No Id"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": uuid_claim, "resource": {"resourceType": "Claim", "id": "cl1", "patient": {"reference": uuid_patient},
                                             "total": {"value": 10.10}},
         "request": {"method": "POST", "url": "Claim"}},
    ]})
    loaded = load_resources(tmp_path)
    patient_id = uuid_patient[len("urn:uuid:"):]
    assert loaded.get("Patient", patient_id).resource["id"] == patient_id
    claim = loaded.get("Claim", "cl1")
    assert claim.resource["patient"] == {"reference": f"Patient/{patient_id}"}
    assert "10.1" in claim.text and uuid_patient not in claim.text
    assert loaded.readable_by(patient_id) == {("Patient", patient_id), ("Claim", "cl1")}


def test_ndjson_and_searchset_bundles(tmp_path):
    _write(tmp_path, "p.ndjson", json.dumps(PATIENT) + "\n\n" + json.dumps({**PATIENT, "id": "p2"}) + "\n")
    _write(tmp_path, "s.json", {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Organization", "id": "o1"}, "search": {"mode": "include"}}]})
    loaded = load_resources(tmp_path)
    assert {key for key in loaded.resources} == {("Patient", "-p.1"), ("Patient", "p2"), ("Organization", "o1")}
    assert json.loads(loaded.get("Patient", "-p.1").text)["name"][0]["text"] == "Zoë"


def test_later_duplicate_wins_with_a_warning(tmp_path):
    _write(tmp_path, "a.json", PATIENT)
    _write(tmp_path, "b.json", {**PATIENT, "gender": "female"})
    loaded = load_resources(tmp_path)
    assert loaded.get("Patient", "-p.1").resource["gender"] == "female"
    [problem] = loaded.problems
    assert problem.severity == "warning" and "a.json" in problem.message and problem.file == "b.json"


def test_bad_input_is_reported_and_the_rest_served(tmp_path):
    _write(tmp_path, "good.json", PATIENT)
    _write(tmp_path, "broken.json", "{not json")
    _write(tmp_path, "array.json", "[1, 2]")
    _write(tmp_path, "no-type.json", {"id": "x"})
    _write(tmp_path, "bad-id.json", {"resourceType": "Patient", "id": "a/b"})
    _write(tmp_path, "deep.json", "[" * 100000)
    (tmp_path / "latin1.json").write_bytes('{"resourceType": "Patient", "id": "l", "x": "é"}'.encode("latin-1"))
    loaded = load_resources(tmp_path)
    assert set(loaded.resources) == {("Patient", "-p.1")}
    assert {problem.file for problem in loaded.problems} == {
        "broken.json", "array.json", "no-type.json", "bad-id.json", "deep.json", "latin1.json"}
    assert all(problem.severity == "error" for problem in loaded.problems)


def test_ordered_views_are_in_id_order_and_follow_every_add(tmp_path):
    """`of_type` and `readable_by_type` are kept between requests; adding a resource must show in both."""
    claims = [{"resourceType": "Claim", "id": claim_id, "patient": {"reference": "Patient/p2"},
               "provider": {"reference": "Organization/o1"}} for claim_id in ("c3", "c1")]
    resources = [{**PATIENT, "id": "p2"}, *claims, {"resourceType": "Organization", "id": "o1"}]
    _write(tmp_path, "p.ndjson", "\n".join(json.dumps(resource) for resource in resources))
    loaded = load_resources(tmp_path)
    assert [stored.key for stored in loaded.of_type("Claim")] == [("Claim", "c1"), ("Claim", "c3")]
    readable = loaded.readable_by_type("p2")
    assert {resource_type: [stored.key[1] for stored in found] for resource_type, found in readable.items()} == \
        {"Claim": ["c1", "c3"], "Organization": ["o1"], "Patient": ["p2"]}
    assert loaded.readable_by_type("p2") is readable  # kept, not worked out again

    later = {**claims[0], "id": "c2"}
    loaded.add(StoredResource(json.dumps(later), later, "later.json"))
    assert [stored.key[1] for stored in loaded.of_type("Claim")] == ["c1", "c2", "c3"]
    assert [stored.key[1] for stored in loaded.readable_by_type("p2")["Claim"]] == ["c1", "c2", "c3"]


def test_profiles_are_kept_between_reads_and_follow_every_add(tmp_path):
    """The CapabilityStatement's profiles per type are read off the resources once, and again after an add."""
    claim = {"resourceType": "Claim", "id": "c1", "meta": {"profile": ["http://example.org/claim|1.0", 7]}}
    _write(tmp_path, "c.json", claim)
    loaded = load_resources(tmp_path)
    assert loaded.profiles_by_type() == {"Claim": ["http://example.org/claim"]}
    loaded.profiles_by_type()["Claim"].append("changed by a caller")
    assert loaded.profiles_by_type() == {"Claim": ["http://example.org/claim"]}

    later = {**claim, "id": "c2", "meta": {"profile": ["http://example.org/other-claim"]}}
    loaded.add(StoredResource(json.dumps(later), later, "later.json"))
    assert loaded.profiles_by_type() == {"Claim": ["http://example.org/claim", "http://example.org/other-claim"]}
