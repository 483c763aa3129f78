import pytest

from mirror.fhir.references import (
    ABSOLUTE, CONTAINED, RELATIVE, URN, InvalidReference, Reference, iter_references, parse_reference,
    reference_target,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Patient/123", Reference(RELATIVE, "Patient", "123")),
        ("Patient/-19990000001", Reference(RELATIVE, "Patient", "-19990000001")),  # BB2 synthetic ids
        ("Patient/a.b-C", Reference(RELATIVE, "Patient", "a.b-C")),
        ("Observation/o1/_history/2", Reference(RELATIVE, "Observation", "o1", "2")),
        (
            "https://api.example.com/r4/Patient/123",
            Reference(ABSOLUTE, "Patient", "123", base="https://api.example.com/r4"),
        ),
        ("http://host:8080/Patient/1", Reference(ABSOLUTE, "Patient", "1", base="http://host:8080")),
        (
            "https://h/fhir/baseDstu3/Endpoint/Endpoint-71/_history/3",
            Reference(ABSOLUTE, "Endpoint", "Endpoint-71", "3", base="https://h/fhir/baseDstu3"),
        ),
        (
            "urn:uuid:9d1ebcf3-6f87-4d4a-8bd4-0c8b3a9f6b2e",
            Reference(URN, urn="urn:uuid:9d1ebcf3-6f87-4d4a-8bd4-0c8b3a9f6b2e"),
        ),
        ("urn:oid:2.16.840.1.113883", Reference(URN, urn="urn:oid:2.16.840.1.113883")),
        ("#med1", Reference(CONTAINED, id="med1")),
        ("#", Reference(CONTAINED)),
    ],
)
def test_every_reference_form_parses(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "", "Patient", "Patient/", "/Patient/1", "Patient/../x", "../Patient/1", "patient/1", "Patient/a_b",
        "Patient/1/extra", "Patient/1/_history", "Patient/%2e%2e", "Patient/" + "x" * 65,
        "Patient?identifier=x", "https://h/r4/Patient/1?x=1", "https://h/Patient", "https://[bad/Patient/1",
        "urn:uuid:not-a-uuid", "urn:oid:1.x", "#a/b", "Patient/1\\x", None, 5,
    ],
)
def test_malformed_references_are_refused(text):
    with pytest.raises(InvalidReference) as raised:
        parse_reference(text)
    assert isinstance(raised.value, ValueError)


def test_reference_target_gives_type_and_id_or_none():
    assert reference_target("Patient/1") == ("Patient", "1")
    assert reference_target("https://payer.example/r4/Coverage/c-9/_history/1") == ("Coverage", "c-9")
    assert reference_target("#med1") is None
    assert reference_target("urn:uuid:9d1ebcf3-6f87-4d4a-8bd4-0c8b3a9f6b2e") is None
    assert reference_target("../etc/passwd") is None
    assert reference_target(None) is None


def test_iter_references_walks_everything_including_contained():
    resource = {
        "resourceType": "MedicationRequest",
        "contained": [{"resourceType": "Medication", "id": "m", "manufacturer": {"reference": "Organization/o"}}],
        "medicationReference": {"reference": "#m"},
        "subject": {"reference": "Patient/p", "display": "P"},
        "related": [{"reference": {"system": "s", "value": "not a Reference"}}],  # EOB-style Identifier
        "note": [{"text": "reference"}],
    }
    assert list(iter_references(resource)) == ["Organization/o", "#m", "Patient/p"]


def test_iter_references_survives_deep_nesting():
    deep = {"reference": "Patient/1"}
    for _ in range(5000):
        deep = {"extension": [deep]}
    assert list(iter_references(deep)) == ["Patient/1"]


def test_corpus_references_all_parse(corpus):
    # CARIN BB's 76 references are all relative and resolve in their folder (corpus README)
    resources = corpus("carin-bb-2.0.0")
    known = {(r["resourceType"], r["id"]) for _, r in resources}
    references = [text for _, resource in resources for text in iter_references(resource)]
    assert len(references) == 76
    assert all(parse_reference(text).kind == RELATIVE for text in references)
    assert {reference_target(text) for text in references} <= known
