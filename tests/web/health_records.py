"""Health records and prior authorizations written the way the specs shape them (US Core 6.1 Observation,
Encounter, Procedure, MedicationDispense and MedicationRequest; CARIN BB pharmacy EOB; Da Vinci PDex Prior
Authorization), for the health pages' tests. Values are chosen so each expectation can be worked out by hand."""

from tests.web.hostile import IMAGE, SCRIPT

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Ana"], "family": "Rivera"}]}
LOINC = "http://loinc.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LAB = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]
VITALS = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}]
GLUCOSE_RANGE = [{"low": {"value": 70, "unit": "mg/dL"}, "high": {"value": 99, "unit": "mg/dL"}}]


def glucose(obs_id: str, when: str, value: float, interpretation: str | None = None) -> dict:
    observation = {
        "resourceType": "Observation", "id": obs_id, "status": "final", "category": LAB,
        "code": {"coding": [{"system": LOINC, "code": "2345-7", "display": "Glucose [Mass/volume] in Serum or Plasma"}],
                 "text": "Glucose"},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
        "referenceRange": GLUCOSE_RANGE,
    }
    if interpretation:
        observation["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}]
    return observation


def blood_pressure(obs_id: str, when: str, systolic: int, diastolic: int) -> dict:
    def part(code: str, name: str, value: int, low: int, high: int) -> dict:
        return {"code": {"coding": [{"system": LOINC, "code": code, "display": name}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"},
                "referenceRange": [{"low": {"value": low, "unit": "mmHg"}, "high": {"value": high, "unit": "mmHg"}}]}
    return {
        "resourceType": "Observation", "id": obs_id, "status": "final", "category": VITALS,
        "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel"}],
                 "text": "Blood pressure"},
        "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
        "component": [part("8480-6", "Systolic blood pressure", systolic, 90, 120),
                      part("8462-4", "Diastolic blood pressure", diastolic, 60, 80)],
    }


# Glucose: 182 (lab says H) newest, 65 (no flag sent: low by the range) oldest, 88 between (normal).
GLUCOSE = [glucose("glu-high", "2024-05-02T08:30:00-05:00", 182, "H"), glucose("glu-low", "2023-01-10", 65),
           glucose("glu-normal", "2023-09-15T09:00:00Z", 88)]
PRESSURE = [blood_pressure("bp-1", "2024-01-05", 128, 84), blood_pressure("bp-2", "2024-06-20", 141, 92)]
MISTAKE = {**glucose("glu-mistake", "2024-06-01", 999), "status": "entered-in-error"}
HOSTILE_TEST = {
    "resourceType": "Observation", "id": "evil-obs", "status": "final", "category": LAB,
    "code": {"text": f"Potassium {SCRIPT}"}, "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2024-02-01", "valueQuantity": {"value": 4.1, "unit": f"mmol/L {IMAGE}"},
}
HOSTILE_TEST_2 = {**HOSTILE_TEST, "id": "evil-obs-2", "effectiveDateTime": "2024-03-01",
                  "valueQuantity": {"value": 5.9, "unit": f"mmol/L {IMAGE}"}}

CLINIC = {"resourceType": "Location", "id": "loc-1", "name": "Northside Clinic, Room 4"}
SURGERY_CENTRE = {"resourceType": "Organization", "id": "org-surg", "name": f"Lakeside Surgery {IMAGE}"}
DOCTOR = {"resourceType": "Practitioner", "id": "dr-1", "name": [{"given": ["Noah"], "family": "Torres",
                                                                  "suffix": ["MD"]}]}
CHECKUP = {
    "resourceType": "Encounter", "id": "visit-checkup", "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185349003", "display": "Check up"}]}],
    "subject": {"reference": "Patient/p1"}, "period": {"start": "2024-03-01T09:00:00-05:00"},
    "participant": [{"individual": {"reference": "Practitioner/dr-1"}}],
    "location": [{"location": {"reference": "Location/loc-1"}}],
}
SURGERY_VISIT = {
    "resourceType": "Encounter", "id": "visit-surgery", "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SS"},
    "subject": {"reference": "Patient/p1"}, "period": {"start": "2024-05-02T07:00:00-05:00"},
    "serviceProvider": {"reference": "Organization/org-surg"},
}
KNEE_SCOPE = {
    "resourceType": "Procedure", "id": "proc-knee", "status": "completed",
    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "29881",
                         "display": f"Knee arthroscopy {SCRIPT}"}]},
    "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/visit-surgery"},
    "performedDateTime": "2024-05-02T08:15:00-05:00",
    "performer": [{"actor": {"display": "Dr. Lee Park"}}],
}
OLD_VISIT = {
    "resourceType": "Encounter", "id": "visit-old", "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
    "subject": {"reference": "Patient/p1"}, "period": {"start": "2023-12-01"},
}

NDC = "http://hl7.org/fhir/sid/ndc"
PHARMACY_CLAIM = {
    "resourceType": "ExplanationOfBenefit", "id": "rx-claim-1", "status": "active", "use": "claim",
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "pharmacy"}]},
    "patient": {"reference": "Patient/p1"}, "created": "2024-04-03T10:00:00Z", "outcome": "complete",
    "insurer": {"display": "Demo Health Plan"}, "provider": {"display": "Corner Drug #112"},
    "billablePeriod": {"start": "2024-04-01"},
    "supportingInfo": [{"sequence": 1, "category": {"coding": [
        {"system": "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType", "code": "dayssupply"}]},
        "valueQuantity": {"value": 30, "unit": "days"}}],
    "item": [{"sequence": 1, "servicedDate": "2024-04-01", "quantity": {"value": 30, "unit": "TAB"},
              "productOrService": {"coding": [
                  {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076"},
                  {"system": NDC, "code": "00093-7180-01", "display": "Lisinopril 10 MG Oral Tablet"}]}}],
}
DISPENSE = {
    "resourceType": "MedicationDispense", "id": "dispense-1", "status": "completed",
    "contained": [{"resourceType": "Medication", "id": "med", "code": {"coding": [
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197361",
         "display": f"Amlodipine 5 MG Oral Tablet {SCRIPT}"}]}}],
    "medicationReference": {"reference": "#med"}, "subject": {"reference": "Patient/p1"},
    "whenHandedOver": "2024-02-10T15:00:00Z", "quantity": {"value": 90, "unit": "TAB"},
    "daysSupply": {"value": 90, "unit": "days", "code": "d"},
}
STORED_MEDICATION = {"resourceType": "Medication", "id": "med-2", "code": {"coding": [
    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076",
     "display": "Lisinopril 10 MG Oral Tablet"}]}}
PRESCRIPTION = {
    "resourceType": "MedicationRequest", "id": "rx-1", "status": "active", "intent": "order",
    "medicationReference": {"reference": "Medication/med-2"}, "subject": {"reference": "Patient/p1"},
    "authoredOn": "2024-03-28", "requester": {"reference": "Practitioner/dr-1"},
    "dispenseRequest": {"quantity": {"value": 30, "unit": "TAB"}},
}

PDEX = "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition"


def review_action(code: str, display: str, reason: str | None = None) -> dict:
    inner = [{"url": f"{PDEX}/extension-reviewActionCode",
              "valueCodeableConcept": {"coding": [{"system": "https://codesystem.x12.org/005010/306", "code": code,
                                                   "display": display}]}}]
    if reason:
        inner.append({"url": "reasonCode", "valueCodeableConcept": {"text": reason}})
    return {"url": f"{PDEX}/extension-reviewAction", "extension": inner}


def prior_auth(auth_id: str, created: str, service: str, **extra) -> dict:
    """A PDex Prior Authorization: an institutional EOB whose `use` is preauthorization."""
    return {
        "resourceType": "ExplanationOfBenefit", "id": auth_id, "status": "active", "use": "preauthorization",
        "meta": {"profile": [f"{PDEX}/pdex-priorauthorization"]},
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": "Patient/p1"}, "created": created, "insurer": {"display": "Demo Health Plan"},
        "provider": {"reference": "Practitioner/dr-1"}, "outcome": extra.pop("outcome", "complete"),
        "insurance": [{"focal": True, "coverage": {"display": "Demo PPO"}}],
        "item": [{"sequence": 1, "productOrService": {"coding": [
            {"system": "http://www.ama-assn.org/go/cpt", "code": "73721", "display": service}]},
            "quantity": {"value": 1}, **extra.pop("item", {})}],
        **extra,
    }


APPROVED_AUTH = prior_auth(
    "pa-approved", "2024-02-01T10:00:00Z", "MRI of the left knee",
    preAuthRef=["AUTH-55521"], preAuthRefPeriod=[{"start": "2024-02-05", "end": "2024-05-05"}],
    item={"extension": [{"url": f"{PAS}/extension-itemPreAuthIssueDate", "valueDate": "2024-02-03"}],
          "adjudication": [{"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                                     "code": "submitted"}]},
                            "amount": {"value": 1200, "currency": "USD"},
                            "extension": [review_action("A1", "Certified in total")]}]},
)
DENIED_AUTH = prior_auth(
    "pa-denied", "2024-03-10T10:00:00Z", "Sleep study in a lab",
    item={"adjudication": [
        {"category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]},
         "amount": {"value": 2500, "currency": "USD"}, "extension": [review_action("A3", "Not Certified")]},
        {"category": {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PDexAdjudicationDiscriminator",
                                  "code": "denialreason"}]},
         "reason": {"coding": [{"system": "https://x12.org/codes/claim-adjustment-reason-codes", "code": "50",
                                "display": "Not deemed a medical necessity by the payer"}]}}]},
    processNote=[{"number": 1, "type": "display", "text": f"A home sleep test comes first. {SCRIPT}"}],
    billablePeriod={"start": "2024-04-02", "end": "2024-04-03"},
)
PENDING_AUTH = prior_auth("pa-pending", "2024-06-15T10:00:00Z", "Physical therapy, 12 visits", outcome="queued",
                          item={"servicedPeriod": {"start": "2024-07-01", "end": "2024-09-30"}})

HEALTH_RECORDS = [PATIENT, *GLUCOSE, *PRESSURE, MISTAKE, HOSTILE_TEST, HOSTILE_TEST_2, CLINIC, SURGERY_CENTRE,
                  DOCTOR, CHECKUP, SURGERY_VISIT, KNEE_SCOPE, OLD_VISIT, PHARMACY_CLAIM, DISPENSE, STORED_MEDICATION,
                  PRESCRIPTION, APPROVED_AUTH, DENIED_AUTH, PENDING_AUTH]
