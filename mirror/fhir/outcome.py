"""OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html).

The body of every error both servers return, with the R4 issue type
(https://hl7.org/fhir/R4/valueset-issue-type.html) that fits the HTTP status.

Diagnostics are shown to whoever made the request and may be logged: callers must never put access or
refresh tokens, client secrets, authorization codes or passwords in them.
"""

from collections.abc import Mapping
from types import MappingProxyType

SEVERITIES = ("fatal", "error", "warning", "information")
ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
    "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
    "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule", "conflict", "transient",
    "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled", "informational",
})

STATUS_ISSUE_TYPES: Mapping[int, str] = MappingProxyType({
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    500: "exception",
    501: "not-supported",
    502: "transient",
    503: "transient",
    504: "timeout",
})


def operation_outcome(severity: str, code: str, diagnostics: str | None = None) -> dict:
    """An OperationOutcome with one issue; `severity` and `code` must be R4 codes (ValueError otherwise)."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown issue severity {severity!r}")
    if code not in ISSUE_TYPES:
        raise ValueError(f"unknown issue type {code!r}")
    issue: dict = {"severity": severity, "code": code}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def issue_type_for_status(status: int) -> str:
    """The issue type for an HTTP error status; unlisted 4xx are `processing`, unlisted 5xx `exception`."""
    if status in STATUS_ISSUE_TYPES:
        return STATUS_ISSUE_TYPES[status]
    return "exception" if status >= 500 else "processing"


def outcome_for_status(status: int, diagnostics: str | None = None) -> dict:
    """The OperationOutcome body for an error response with this status (severity `error`)."""
    return operation_outcome("error", issue_type_for_status(status), diagnostics)
