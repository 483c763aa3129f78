"""A small Blue Button-shaped plan folder, written by hand for these tests: two beneficiaries with CMS's ids
(leading hyphens, `carrier--...`), an MBI, Coverage for Parts A, B and D, and claims of several types, two of
them SAMHSA-related (one by its diagnosis, one by its security label)."""

from __future__ import annotations

import json
from pathlib import Path

SYSTEM_ID = "bbtest"
CONFIDENTIAL = ("bb-confidential-app", "bb-secret-not-for-production")
PUBLIC = "bb-public-app"
SDK_CALLBACK = "http://localhost:3000/api/bluebutton/callback/"
CALLBACK = "http://127.0.0.1:8765/callback"
BENEFICIARY = ("BBUser00000", "PW00000!", "-10000000000001")
OTHER_BENEFICIARY = ("BBUser00001", "PW00001!", "-10000000000002")
MBI = "1S00E00AA00"
EOB_TYPE = "https://bluebutton.cms.gov/resources/codesystem/eob-type"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ICD_10 = "http://hl7.org/fhir/sid/icd-10-cm"

# (id, eob-type code, claim-type code, date of service (billablePeriod or item), lastUpdated, ICD-10 code, labelled)
CLAIMS = [
    ("carrier--10000930037921", "CARRIER", "professional", "2021-03-01", "2023-01-05", "I10", False),
    ("carrier--10000930037922", "CARRIER", "professional", "2021-06-10", "2023-01-05", "F10.20", False),
    ("dme--10000930000001", "DME", "professional", "2020-11-05", "2023-01-05", "E11.9", False),
    ("inpatient--10000930000002", "INPATIENT", "institutional", "2022-01-03", "2023-06-30", "I21.4", False),
    ("outpatient--10000930000003", "OUTPATIENT", "institutional", "2022-05-20", "2023-06-30", "M54.5", True),
    ("pde--10000930000004", "PDE", "pharmacy", "2021-09-15", "2023-06-30", None, False),
    ("snf--10000930000005", "SNF", "institutional", "2022-02-10", "2023-06-30", "Z96.641", False),
]
SAMHSA_CLAIMS = {"carrier--10000930037922", "outpatient--10000930000003"}
OTHER_CLAIM = "carrier--20000000000001"


def write_plan(plans_dir: Path) -> Path:
    """Writes the plan folder `bbtest` under `plans_dir` and returns `plans_dir`."""
    folder = plans_dir / SYSTEM_ID
    (folder / "data").mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps(_plan_json(), indent=2))
    resources = [_patient(BENEFICIARY[2], "Jane", "Doe", MBI),
                 _patient(OTHER_BENEFICIARY[2], "John", "Roe", "2S00E00AA00")]
    resources += [_coverage(part, BENEFICIARY[2]) for part in ("a", "b", "d")]
    resources += [_coverage("a", OTHER_BENEFICIARY[2])]
    resources += [_claim(BENEFICIARY[2], *claim) for claim in CLAIMS]
    resources.append(_claim(OTHER_BENEFICIARY[2], OTHER_CLAIM, "CARRIER", "professional", "2021-04-01", "2023-01-05",
                            "I10", False))
    for resource in resources:
        name = f"{resource['resourceType']}-{resource['id']}.json"
        (folder / "data" / name).write_text(json.dumps(resource, indent=2))
    return plans_dir


def claim_ids() -> set[str]:
    return {claim[0] for claim in CLAIMS}


def _plan_json() -> dict:
    return {
        "system_id": SYSTEM_ID,
        "name": "Medicare Blue Button test plan",
        "base_url": "bluebutton.test.example",
        "mode": "bluebutton",
        "tokens": {"access_token_lifetime": 36000},
        "clients": [
            {"client_id": CONFIDENTIAL[0], "client_secret": CONFIDENTIAL[1], "name": "Blue Button Test App",
             "redirect_uris": [SDK_CALLBACK, CALLBACK]},
            {"client_id": PUBLIC, "client_secret": None, "name": "Blue Button Public App", "redirect_uris": [CALLBACK]},
        ],
        "members": [
            {"username": username, "password": password, "patient": f"Patient/{patient}"}
            for username, password, patient in (BENEFICIARY, OTHER_BENEFICIARY)
        ],
    }


def _patient(patient_id: str, given: str, family: str, mbi: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"lastUpdated": "2023-01-05T10:11:12.123+00:00",
                 "profile": ["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient"]},
        "identifier": [
            {"system": "https://bluebutton.cms.gov/resources/variables/bene_id", "value": patient_id},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MC",
                                  "display": "Patient's Medicare number"}]},
             "system": "http://hl7.org/fhir/sid/us-mbi", "value": mbi},
        ],
        "name": [{"use": "usual", "family": family, "given": [given, "X"]}],
        "gender": "female",
        "birthDate": "1952-07-14",
        "address": [{"state": "MD", "postalCode": "21201"}],
    }


def _coverage(part: str, patient_id: str) -> dict:
    return {
        "resourceType": "Coverage",
        "id": f"part-{part}-{patient_id}",
        "meta": {"lastUpdated": "2023-01-05T10:11:12.123+00:00",
                 "profile": ["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Coverage"]},
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SUBSIDIZ"}]},
        "subscriberId": MBI,
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "relationship": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                                     "code": "self", "display": "Self"}]},
        "payor": [{"identifier": {"value": "Centers for Medicare and Medicaid Services"}}],
        "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                                        "code": "plan"}]},
                   "value": f"Part {part.upper()}"}],
    }


def _claim(patient_id: str, claim_id: str, eob_type: str, claim_type: str, served: str, updated: str,
           diagnosis: str | None, labelled: bool) -> dict:
    meta: dict = {"lastUpdated": f"{updated}T08:00:00.000+00:00"}
    if labelled:
        meta["security"] = [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "42CFRPart2"}]
    claim: dict = {
        "resourceType": "ExplanationOfBenefit",
        "id": claim_id,
        "meta": meta,
        "identifier": [{"system": "https://bluebutton.cms.gov/resources/variables/clm_id",
                        "value": claim_id.split("-", 1)[1]}],
        "status": "active",
        "type": {"coding": [{"system": EOB_TYPE, "code": eob_type},
                            {"system": CLAIM_TYPE, "code": claim_type}]},
        "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"},
        "insurance": [{"focal": True, "coverage": {"reference": f"Coverage/part-b-{patient_id}"}}],
        "outcome": "complete",
        "payment": {"amount": {"value": 120.0, "currency": "USD"}},
    }
    if eob_type == "PDE":
        claim["item"] = [{"sequence": 1, "servicedDate": served,
                          "productOrService": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc",
                                                           "code": "00093721410"}]}}]
    else:
        claim["billablePeriod"] = {"start": served, "end": served}
    if diagnosis:
        claim["diagnosis"] = [{"sequence": 1, "diagnosisCodeableConcept": {
            "coding": [{"system": ICD_10, "code": diagnosis}]}}]
    return claim
