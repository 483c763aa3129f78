import copy

import pytest

from mirror.fhir.validation import validation_findings

IG_FOLDERS = ["carin-bb-2.0.0", "us-core-6.1.0", "plan-net-1.1.0", "formulary-1.0.1", "formulary-2.0.1"]
# The one published example that breaks the base spec: its narrative has a status but no div (corpus README).
KNOWN_INVALID = {("us-core-6.1.0", "DiagnosticReport-cbc.json")}


@pytest.mark.parametrize("folder", IG_FOLDERS)
def test_implementation_guide_examples_validate(corpus, folder):
    failures = {name: findings for name, resource in corpus(folder)
                if (findings := validation_findings(resource)) and (folder, name) not in KNOWN_INVALID}
    assert failures == {}


def test_the_known_invalid_example_is_reported(corpus):
    resource = dict(corpus("us-core-6.1.0"))["DiagnosticReport-cbc.json"]
    assert validation_findings(resource) == ["text.div: Value for the field 'div' is required."]


def test_a_synthea_bundle_validates_whole(corpus):
    # whole Synthea bundles are slow to validate; the smallest two are enough to cover Bundle nesting
    by_size = sorted(corpus("synthea-r4"), key=lambda item: len(str(item[1])))[:2]
    for name, bundle in by_size:
        assert validation_findings(bundle) == [], name


def test_findings_name_the_path_and_rule_but_not_the_value():
    findings = validation_findings(
        {"resourceType": "Patient", "id": "bad_id", "birthDate": "1970-13-45", "fooBar": "SSN-123-45-6789"}
    )
    assert len(findings) == 3
    assert findings[0].startswith("id: ") and findings[1].startswith("birthDate: ")
    assert findings[2] == "fooBar: Extra inputs are not permitted"
    assert not any("SSN" in finding or "bad_id" in finding or "1970" in finding for finding in findings)


def test_r4_data_that_r5_would_reject_is_accepted():
    # Coverage.class.value is a string in R4/R4B and an Identifier in R5
    coverage = {
        "resourceType": "Coverage", "status": "active", "beneficiary": {"reference": "Patient/p"},
        "payor": [{"reference": "Organization/o"}],
        "class": [{"type": {"text": "group"}, "value": "G-1"}],
    }
    assert validation_findings(coverage) == []


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ["not a JSON object"]),
        ([{"resourceType": "Patient"}], ["not a JSON object"]),
        ({}, ["resourceType is missing"]),
        ({"resourceType": 7}, ["resourceType is missing"]),
        ({"resourceType": "Foo"}, ["unknown resourceType 'Foo'"]),
        ({"resourceType": "HumanName"}, ["unknown resourceType 'HumanName'"]),  # a datatype, not a resource
        ({"resourceType": "DomainResource"}, ["unknown resourceType 'DomainResource'"]),
        ({"resourceType": "MedicinalProduct"}, ["unknown resourceType 'MedicinalProduct'"]),  # R4-only type
        ({"resourceType": "../../etc"}, ["unknown resourceType '../../etc'"]),
    ],
)
def test_bad_input_gives_findings_not_exceptions(value, expected):
    assert validation_findings(value) == expected


def test_deep_nesting_and_odd_values_do_not_raise():
    deep: dict = {"url": "http://x"}
    for _ in range(5000):
        deep = {"url": "http://x", "extension": [deep]}
    assert validation_findings({"resourceType": "Patient", "extension": [deep]})
    assert validation_findings({"resourceType": "Patient", "birthDate": float("nan")})


def test_a_failure_of_the_models_themselves_is_a_finding_not_an_exception():
    """fhir_core raises AttributeError for the extension of a required list of primitives given without its
    values (`_purpose` with no `purpose`): the fixtures' loader and the sync get a finding, never a traceback."""
    request = {"resourceType": "CoverageEligibilityRequest", "status": "active", "created": "2024-01-01",
               "_purpose": [{"extension": [{"url": "http://example.org/x", "valueString": "y"}]}],
               "patient": {"reference": "Patient/1"}, "insurer": {"reference": "Organization/1"}}
    assert validation_findings(request) == ["could not be validated: the R4B models failed on it (AttributeError)"]


def test_many_problems_are_summarised():
    patient = {"resourceType": "Patient", **{f"bogus{i}": i for i in range(30)}}
    findings = validation_findings(patient)
    assert len(findings) == 21 and findings[-1] == "... and 10 more"


def test_the_input_is_not_modified(corpus):
    _, eob = corpus("carin-bb-2.0.0")[5]
    before = copy.deepcopy(eob)
    validation_findings(eob)
    assert eob == before
