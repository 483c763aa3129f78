import json

import orjson
import pytest

from mirror.fhir.bundles import (
    bundle_entry, bundle_json, collection_bundle, entry_resources, next_page_url, resource_url, searchset_bundle,
)

RAW_EOB = '{"resourceType":"ExplanationOfBenefit","id":"e1","created":"2020-01-01T10:00:00.0314215+00:00",' \
          '"total":[{"amount":{"value":100.50,"currency":"USD"}}]}'
RAW_PATIENT = b'  {"resourceType": "Patient", "id": "-1", "birthDate": "1970"}\n'


def test_searchset_bundle_shape():
    links = [{"relation": "self", "url": "https://h/r4/ExplanationOfBenefit?_count=10"}]
    bundle = searchset_bundle(
        [bundle_entry("https://h/r4/ExplanationOfBenefit/e1", {"resourceType": "ExplanationOfBenefit"},
                      mode="match")],
        total=1,
        links=links,
    )
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["link"] == links
    assert bundle["entry"][0]["search"] == {"mode": "match"}
    assert "total" not in searchset_bundle([], total=None, links=links)
    assert searchset_bundle([], total=0, links=[])["link"] == []  # the key is always there


def test_entry_modes_are_checked():
    assert bundle_entry("u", mode="include")["search"] == {"mode": "include"}
    assert "search" not in bundle_entry("u")
    with pytest.raises(ValueError):
        bundle_entry("u", mode="matched")


def test_resource_url():
    assert resource_url("https://h/r4/", "Patient", "-1") == "https://h/r4/Patient/-1"


def test_bundle_json_splices_resources_byte_for_byte():
    envelope = searchset_bundle(
        [bundle_entry("https://h/r4/ExplanationOfBenefit/e1", mode="match"),
         bundle_entry("https://h/r4/Patient/-1", mode="include")],
        total=1,
        links=[{"relation": "self", "url": "https://h/r4/ExplanationOfBenefit"}],
    )
    text = bundle_json(envelope, [RAW_EOB, RAW_PATIENT])
    assert RAW_EOB.encode() in text  # 7-digit fraction and 100.50 untouched
    assert RAW_PATIENT.strip() in text
    parsed = json.loads(text)
    assert parsed["total"] == 1 and parsed["type"] == "searchset"
    assert [e["resource"]["id"] for e in parsed["entry"]] == ["e1", "-1"]
    assert parsed["entry"][1]["search"] == {"mode": "include"}
    assert "resource" not in envelope["entry"][0]  # the envelope is not modified


def test_bundle_json_without_entries_and_with_empty_entry_objects():
    assert json.loads(bundle_json(collection_bundle([]), [])) == {
        "resourceType": "Bundle", "type": "collection", "entry": [],
    }
    assert json.loads(bundle_json({"resourceType": "Bundle", "entry": [{}]}, ["{}"]))["entry"] == [{"resource": {}}]


@pytest.mark.parametrize(
    "entries, resources",
    [
        ([{"fullUrl": "u"}], []),
        ([{"fullUrl": "u", "resource": {}}], ["{}"]),
        ([{"fullUrl": "u"}], ["[1]"]),
        ([{"fullUrl": "u"}], ['"text"']),
    ],
)
def test_bundle_json_refuses_mismatched_input(entries, resources):
    with pytest.raises(ValueError):
        bundle_json({"resourceType": "Bundle", "type": "collection", "entry": entries}, resources)


def test_client_side_readers():
    page = {
        "resourceType": "Bundle", "type": "searchset",
        "link": [{"relation": "self", "url": "s"}, {"relation": "next", "url": "https://h/r4/EOB?_page_token=x"}],
        "entry": [{"resource": {"id": "a"}}, {"fullUrl": "no resource"}, {"resource": {"id": "b"}}],
    }
    assert next_page_url(page) == "https://h/r4/EOB?_page_token=x"
    assert [r["id"] for r in entry_resources(page)] == ["a", "b"]
    assert next_page_url({"link": [{"relation": "next"}]}) is None
    assert next_page_url({}) is None and entry_resources({}) == []


def test_real_synthea_bundle_reads(corpus):
    name, bundle = corpus("synthea-r4")[0]
    resources = entry_resources(bundle)
    assert resources and len(resources) == len(bundle["entry"]), name
    assert next_page_url(bundle) is None


def test_envelope_is_serialised_with_orjson_semantics():
    # non-ASCII stays UTF-8, as orjson writes it
    text = bundle_json(collection_bundle([bundle_entry("https://h/r4/Practitioner/n")]), ['{"name":"Núñez"}'])
    assert orjson.loads(text)["entry"][0]["resource"]["name"] == "Núñez"
