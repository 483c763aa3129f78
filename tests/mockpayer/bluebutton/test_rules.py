"""Blue Button mode's pure rules: BFD's paging links, the SAMHSA code families, and the one form of `=` padding
PKCE tolerates."""

import pytest

from mockpayer.auth.server import _without_base64_padding
from mockpayer.bluebutton.paging import page_links
from mockpayer.bluebutton.samhsa import is_samhsa_related

SEARCH = "https://api.example/v2/fhir/ExplanationOfBenefit"


def _starts(links: list[dict]) -> dict[str, str]:
    return {link["relation"]: link["url"].split("startIndex=")[1].split("&")[0] for link in links}


@pytest.mark.parametrize("start, count, total, expected", [
    (0, 10, 0, {"first": "0", "last": "0"}),
    (0, 10, 10, {"first": "0", "last": "0"}),
    (0, 10, 11, {"first": "0", "next": "10", "last": "10"}),
    (10, 10, 25, {"first": "0", "next": "20", "previous": "0", "last": "20"}),
    (5, 10, 25, {"first": "0", "next": "15", "previous": "0", "last": "20"}),
])
def test_bfd_page_links(start, count, total, expected):
    """`last` starts at the largest multiple of `_count` below the total; `previous` never before 0."""
    assert _starts(page_links(SEARCH, [("patient", "-1")], start, count, total)) == expected


def test_page_links_repeat_the_query():
    (first, last) = page_links(SEARCH, [("type", "carrier,pde"), ("patient", "-1")], 0, 5, 3)
    assert first["url"] == f"{SEARCH}?type=carrier%2Cpde&patient=-1&startIndex=0&_count=5"


def _claim(*codings, security=()):
    return {"resourceType": "ExplanationOfBenefit", "meta": {"security": list(security)},
            "diagnosis": [{"diagnosisCodeableConcept": {"coding": list(codings)}}]}


@pytest.mark.parametrize("system, code, related", [
    ("http://hl7.org/fhir/sid/icd-10-cm", "F10.20", True),
    ("http://hl7.org/fhir/sid/icd-10-cm", "f1120", True),
    ("http://hl7.org/fhir/sid/icd-10", " F19.9 ", True),
    ("http://hl7.org/fhir/sid/icd-10-cm", "F17.210", False),  # nicotine
    ("http://hl7.org/fhir/sid/icd-10-cm", "F32.9", False),
    ("http://hl7.org/fhir/sid/icd-9-cm", "303.90", True),
    ("http://hl7.org/fhir/sid/icd-9-cm", "305.1", False),  # tobacco
    ("http://hl7.org/fhir/sid/icd-9-cm", "305.00", True),
    ("http://snomed.info/sct", "F10.20", False),  # an F10 code in another system is no ICD code
])
def test_samhsa_diagnoses(system, code, related):
    assert is_samhsa_related(_claim({"system": system, "code": code})) is related


def test_samhsa_security_label():
    label = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "42CFRPart2"}
    assert is_samhsa_related(_claim(security=[label]))
    assert not is_samhsa_related(_claim(security=[{**label, "code": "R"}]))


@pytest.mark.parametrize("value, unpadded", [
    ("A" * 43 + "=", "A" * 43),
    ("A" * 42 + "==", "A" * 42),
    ("A" * 43, None),  # no padding: RFC 7636's own form, checked strictly elsewhere
    ("A" * 44 + "=", None),
    ("A" * 43 + "==", None),
    ("A" * 41 + "===", None),
    ("A" * 42 + ".=", None),
    ("=" * 4, None),
])
def test_only_base64url_padding_is_taken_off(value, unpadded):
    assert _without_base64_padding(value) == unpadded
