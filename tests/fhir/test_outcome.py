import pytest

from mirror.fhir.outcome import (
    ISSUE_TYPES, STATUS_ISSUE_TYPES, issue_type_for_status, operation_outcome, outcome_for_status,
)


def test_operation_outcome_shape():
    assert operation_outcome("error", "not-found", "Patient/x is not known") == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "diagnostics": "Patient/x is not known"}],
    }
    assert "diagnostics" not in operation_outcome("warning", "informational")["issue"][0]


@pytest.mark.parametrize(
    "status, code",
    [(400, "invalid"), (401, "login"), (403, "forbidden"), (404, "not-found"), (405, "not-supported"),
     (406, "not-supported"), (410, "deleted"), (413, "too-long"), (422, "processing"), (429, "throttled"),
     (500, "exception"), (503, "transient"), (418, "processing"), (599, "exception")],
)
def test_status_mapping(status, code):
    assert issue_type_for_status(status) == code


def test_every_mapped_type_is_an_r4_issue_type():
    assert set(STATUS_ISSUE_TYPES.values()) <= ISSUE_TYPES


def test_outcome_for_status():
    assert outcome_for_status(429, "slow down")["issue"][0] == {
        "severity": "error", "code": "throttled", "diagnostics": "slow down",
    }


@pytest.mark.parametrize("severity, code", [("bad", "invalid"), ("error", "bogus")])
def test_unknown_codes_are_programming_errors(severity, code):
    with pytest.raises(ValueError):
        operation_outcome(severity, code)


def test_outcomes_parse_with_strict_r4_models():
    from fhirclient.models.operationoutcome import OperationOutcome

    for status in STATUS_ISSUE_TYPES:
        OperationOutcome(outcome_for_status(status, "x"), strict=True)
