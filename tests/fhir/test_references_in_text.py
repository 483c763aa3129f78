"""raw_json.references_in_text finds exactly what references.iter_references finds in the parsed resource, on the
real examples (IG examples and Synthea Bundles, pretty-printed) and on hand-made edge cases. The order
differs (text order against the walk's own), so they are compared sorted."""

import json

import pytest

from mirror.fhir.raw_json import references_in_text
from mirror.fhir.references import iter_references
from tests.example_data import example_files


def test_every_example_agrees_with_the_parsed_walk():
    files = example_files()
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert sorted(references_in_text(text)) == sorted(iter_references(json.loads(text))), path.name
    compact = json.dumps(json.loads(files[0].read_text(encoding="utf-8")), separators=(",", ":"))
    assert sorted(references_in_text(compact)) == sorted(iter_references(json.loads(compact)))


@pytest.mark.parametrize("text", [
    '{"resourceType":"EOB","patient":{"reference":"Patient/1"},"related":[{"reference":{"value":"x"}}]}',
    '{"a":"text with \\"reference\\":\\"Patient/2\\" inside","b":{"reference":"Patient/3"}}',
    '{"contained":[{"resourceType":"Medication","id":"m","manufacturer":{"reference":"Organization/o"}}],'
    '"medicationReference":{"reference":"#m"}}',
    '{\n  "subject" : {\n    "reference"\t:\r\n "http:\\/\\/x.org\\/Patient\\/\\u0041"\n  }\n}',
    '{"note":"ends in a backslash \\\\","reference":"Patient/4"}',
    '{"list":[{"reference":"A/1"},{"reference":"B/2","display":"reference"}],"reference":"C/3"}',
    '{"x":{"reference":null},"y":{"reference":12},"z":{"referenced":"no"}}',
    '{"resourceType":"Patient","id":"no-references"}',
])
def test_edge_cases_agree_with_the_parsed_walk(text):
    assert sorted(references_in_text(text)) == sorted(iter_references(json.loads(text)))
