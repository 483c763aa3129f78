"""A plan's worth of records whose every text field tries to run script: the pages must show it as text."""

SCRIPT = "<script>alert('x')</script>"
IMAGE = '<img src=x onerror="alert(1)">'

HOSTILE_PATIENT = {
    "resourceType": "Patient", "id": "evil-1",
    "name": [{"text": f"Mallory {SCRIPT}"}],
    "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{SCRIPT}{IMAGE}</div>'},
}
HOSTILE_ORGANIZATION = {"resourceType": "Organization", "id": "evil-org", "name": f"Clinic {IMAGE}"}
HOSTILE_CLAIM = {
    "resourceType": "ExplanationOfBenefit", "id": "evil-claim", "status": "active",
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
    "use": "claim", "patient": {"reference": "Patient/evil-1"}, "created": "2024-02-03T10:00:00Z",
    "insurer": {"display": SCRIPT}, "provider": {"reference": "Organization/evil-org"},
    "outcome": "complete", "billablePeriod": {"start": "2024-02-01", "end": "2024-02-01"},
    "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": "X", "display": f"Flu {SCRIPT}"}]}}],
    "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "Y", "display": f"Visit {IMAGE}"}]},
              "adjudication": [
                  {"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                            "code": "submitted"}]}, "amount": {"value": 100.5, "currency": "USD"}}]}],
    "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{SCRIPT}</div>'},
}
HOSTILE_RESOURCES = [HOSTILE_PATIENT, HOSTILE_ORGANIZATION, HOSTILE_CLAIM]
