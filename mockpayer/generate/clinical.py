"""US Core 6.1.0 clinical records that agree with a member's claims (the visits and fills ClaimWriter kept)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Iterator

from mockpayer.generate.claims import Visit
from mockpayer.generate.codes import (
    CPT,
    CVX,
    ICD10CM,
    ICD10PCS,
    LOINC,
    OBSERVATION_INTERPRETATION,
    RXNORM,
    SNOMED,
    UCUM,
    US_CORE_PROFILE,
    coding,
    concept,
)
from mockpayer.generate.dates import LAST_SERVICE_DAY, OFFSET, instant, later
from mockpayer.generate.members import Member
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import (
    ALLERGIES,
    CONDITIONS,
    DRUG_DIRECTIONS,
    DRUGS,
    INPATIENT_STAYS,
    LAB_RESULTS,
    PROCEDURE_CODES,
    SERVICES,
    VACCINES,
    VITAL_RANGES,
)

CLINICAL_VISIT_LIMIT = 30  # clinical records follow a member's 30 most recent visits, so big runs stay bounded
VITAL_SIGNS = concept("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", "Vital Signs")
LABORATORY = concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")
ENCOUNTER_TYPES = {"preventive": ("185349003", "Encounter for check up (procedure)"),
                   "chronic": ("390906007", "Follow-up encounter (procedure)"),
                   "acute": ("185345009", "Encounter for symptom (procedure)"),
                   "specialist": ("11429006", "Consultation (procedure)"),
                   "mammogram": ("185349003", "Encounter for check up (procedure)"),
                   "therapy": ("185347001", "Encounter for problem (procedure)"),
                   "emergency": ("50849002", "Emergency room admission (procedure)"),
                   "outpatient": ("371883000", "Outpatient procedure (procedure)"),
                   "inpatient": ("32485007", "Hospital admission (procedure)")}
ENCOUNTER_CLASSES = {"emergency": ("EMER", "emergency"), "inpatient": ("IMP", "inpatient encounter")}
FLAGS = {"H": "High", "L": "Low"}
OFF_RANGE_CHANCE = 0.15  # a result of a member without the condition falls just outside its range now and then


def quantity(value: float, unit: str, code: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def judged(value: float, unit: str, code: str, low: float, high: float) -> dict:
    """A value with its reference range and, outside it, its v3 interpretation (H or L)."""
    fields = {"valueQuantity": quantity(value, unit, code)}
    mark = "H" if value > high else "L" if value < low else None
    if mark:
        fields["interpretation"] = [concept(OBSERVATION_INTERPRETATION, mark, FLAGS[mark])]
    return fields | {"referenceRange": [{"low": quantity(low, unit, code), "high": quantity(high, unit, code)}]}


class ClinicalWriter:
    """So that the generated clinical record agrees with the member's claims.

    US Core records that agree with a member's claims: visits become Encounters with vitals, labs, vaccines
    and procedures; conditions, prescriptions and allergies follow the member's history."""

    def __init__(self, plan: PlanContext, member: Member, rng: random.Random):
        self.plan, self.member, self.rng = plan, member, rng
        self.counter = 0
        self.height_cm = rng.uniform(152, 170) if member.gender == "female" else rng.uniform(165, 188)
        self.bmi = rng.uniform(21, 33)

    def _id(self, kind: str) -> str:
        self.counter += 1
        return f"{self.member.id}-{kind}{self.counter}"

    def _meta(self, profile: str, moment: str) -> dict:
        return {"lastUpdated": later(moment, 90), "profile": [US_CORE_PROFILE.format(profile)]}

    def resources(self, visits: list[Visit], fills: list[tuple[date, str, str]]) -> Iterator[dict]:
        problem_ids = {}
        for key in self.member.conditions:
            resource = self._chronic_condition(key)
            problem_ids[key] = resource["id"]
            yield resource
        yield from self._allergies()
        recent = visits[-CLINICAL_VISIT_LIMIT:]
        window_start = recent[0].day if recent else date.min
        yield from self._prescriptions(fills, problem_ids, window_start)
        for visit in recent:
            yield from self._visit(visit)

    def _chronic_condition(self, key: str) -> dict:
        member, rng = self.member, self.rng
        icd, snomed, youngest = CONDITIONS[key][:3]
        onset = min(max(member.birth_date + timedelta(days=366 * youngest),
                        member.coverage_start - timedelta(days=rng.randint(30, 2000))), LAST_SERVICE_DAY)
        recorded = instant(onset + timedelta(days=rng.randint(0, 30)), rng)
        return {
            "resourceType": "Condition",
            "id": self._id("condition"),
            "meta": self._meta("us-core-condition-problems-health-concerns", recorded),
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")],
            "code": {"coding": [coding(SNOMED, *snomed), coding(ICD10CM, *icd)], "text": icd[1]},
            "subject": member.reference,
            "onsetDateTime": onset.isoformat(),
            "recordedDate": recorded,
        }

    def _allergies(self) -> Iterator[dict]:
        member, rng = self.member, self.rng
        chosen = rng.sample(ALLERGIES, rng.choice((0, 0, 1, 1, 2)))
        recorded = instant(member.coverage_start + timedelta(days=rng.randint(0, 200)), rng)
        if not chosen:
            yield self._allergy(("716186003", "No known allergy (situation)"), None, recorded)
        for code, category in chosen:
            yield self._allergy(code, category, recorded)

    def _allergy(self, code: tuple[str, str], category: str | None, recorded: str) -> dict:
        resource = {
            "resourceType": "AllergyIntolerance",
            "id": self._id("allergy"),
            "meta": self._meta("us-core-allergyintolerance", recorded),
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
            "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed",
                                          "Confirmed"),
        }
        if category:
            resource |= {"type": "allergy", "category": [category], "criticality": "low"}
        return resource | {"code": concept(SNOMED, *code), "patient": self.member.reference, "recordedDate": recorded}

    def _prescriptions(self, fills: list[tuple[date, str, str]], problem_ids: dict[str, str],
                       window_start: date) -> Iterator[dict]:
        """One MedicationRequest per maintenance drug (its first fill) and per short course in the visit window."""
        seen = set()
        for day, drug, prescriber in fills:
            maintenance = any(drug in CONDITIONS[key][4] for key in self.member.conditions)
            if (maintenance and drug in seen) or (not maintenance and day < window_start):
                continue
            seen.add(drug)
            reason = next((key for key in self.member.conditions if drug in CONDITIONS[key][4]), None)
            yield self._prescription(day, drug, prescriber, maintenance, problem_ids.get(reason))

    def _prescription(self, day: date, drug: str, prescriber: str, maintenance: bool, condition_id: str | None) -> dict:
        rng = self.rng
        rxnorm, display, _, _, quantity, unit, _ = DRUGS[drug]
        authored = instant(day - timedelta(days=rng.randint(0, 3)), rng)
        directions = DRUG_DIRECTIONS.get(drug, "Take 1 tablet by mouth once daily")
        resource = {
            "resourceType": "MedicationRequest",
            "id": self._id("medrx"),
            "meta": self._meta("us-core-medicationrequest", authored),
            "status": "active" if maintenance else "completed",
            "intent": "order",
            "category": [concept("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community", "Community")],
            "reportedBoolean": False,
            "medicationCodeableConcept": concept(RXNORM, rxnorm, display, display),
            "subject": self.member.reference,
            "authoredOn": authored,
            "requester": self.plan.ref(prescriber),
        }
        if condition_id:
            resource["reasonReference"] = [{"reference": f"Condition/{condition_id}"}]
        resource["dosageInstruction"] = [{"text": directions}]
        resource["dispenseRequest"] = {"numberOfRepeatsAllowed": 5 if maintenance else 0,
                                       "quantity": {"value": quantity, "unit": unit}}
        return resource

    def _visit(self, visit: Visit) -> Iterator[dict]:
        member, rng, plan = self.member, self.rng, self.plan
        start = instant(visit.day, rng, 8, 16)
        end = (datetime.combine(visit.end_day, time(11, 0), OFFSET).isoformat() if visit.end_day
               else later(start, rng.randint(20, 75)))
        encounter_id = self._id("encounter")
        class_code, class_display = ENCOUNTER_CLASSES.get(visit.kind, ("AMB", "ambulatory"))
        encounter = {
            "resourceType": "Encounter",
            "id": encounter_id,
            "meta": self._meta("us-core-encounter", end),
            "identifier": [{"system": plan.identifier_system("encounter-id"), "value": encounter_id}],
            "status": "finished",
            "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", class_code, class_display),
            "type": [concept(SNOMED, *ENCOUNTER_TYPES[visit.kind])],
            "subject": member.reference,
            "participant": [{"type": [concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF",
                                              "primary performer")],
                             "individual": plan.ref(visit.practitioner)}],
            "period": {"start": start, "end": end},
            "reasonCode": [concept(ICD10CM, *diagnosis) for diagnosis in visit.diagnoses[:2]],
            "serviceProvider": plan.ref(visit.organization),
        }
        if visit.kind == "inpatient":
            encounter["hospitalization"] = {"dischargeDisposition": concept(
                "http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home")}
        yield encounter
        context = {"reference": f"Encounter/{encounter_id}"}
        if visit.acute:
            yield self._encounter_diagnosis(visit, context, start)
        if visit.kind in ("preventive", "chronic", "acute", "specialist", "emergency"):
            yield from self._vital_signs(visit.day, start, context)
        for code in visit.codes:
            if code in LAB_RESULTS:
                yield from self._lab_results(code, start, context)
            if code in VACCINES:
                yield self._immunization(code, start, context, visit)
            if code in PROCEDURE_CODES:
                yield self._procedure(concept(CPT, code, SERVICES[code][1]), start, context, visit)
        if visit.kind == "inpatient":
            stay = next((stay for stay in INPATIENT_STAYS.values() if stay[0] == visit.diagnoses[0]), None)
            if stay and stay[1]:
                yield self._procedure(concept(ICD10PCS, *stay[1]), later(start, 240), context, visit)

    def _encounter_diagnosis(self, visit: Visit, context: dict, moment: str) -> dict:
        code, display = visit.diagnoses[0]
        return {
            "resourceType": "Condition",
            "id": self._id("condition"),
            "meta": self._meta("us-core-condition-encounter-diagnosis", moment),
            "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"),
            "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
            "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis",
                                 "Encounter Diagnosis")],
            "code": concept(ICD10CM, code, display, display),
            "subject": self.member.reference,
            "encounter": context,
            "onsetDateTime": moment,
            "abatementDateTime": (datetime.fromisoformat(moment) + timedelta(days=self.rng.randint(5, 30))).isoformat(),
            "recordedDate": moment,
        }

    def _observation(self, profile: str, category: dict, code: tuple[str, str], moment: str, context: dict, **value) -> dict:
        return {
            "resourceType": "Observation",
            "id": self._id("obs"),
            "meta": self._meta(profile, moment),
            "status": "final",
            "category": [category],
            "code": concept(LOINC, *code, code[1]),
            "subject": self.member.reference,
            "encounter": context,
            "effectiveDateTime": moment,
            "issued": later(moment, 30),
        } | value

    def _vital_signs(self, day: date, moment: str, context: dict) -> Iterator[dict]:
        rng, age = self.rng, self.member.age_on(day)
        height = self.height_cm if age >= 18 else 50 + 130 * min(age, 17) / 17 + rng.uniform(-3, 3)
        bmi = self.bmi + rng.uniform(-0.8, 0.8) if age >= 18 else rng.uniform(15, 20)
        weight = bmi * (height / 100) ** 2
        hypertensive = "htn" in self.member.conditions
        systolic = rng.randint(128, 148) if hypertensive else rng.randint(104, 128)
        diastolic = rng.randint(80, 94) if hypertensive else rng.randint(64, 82)

        def measured(code: str, value: float, unit: str, ucum: str) -> dict:
            """Adults' vital signs carry the adult range; children's ranges depend on age, so theirs carry none."""
            return judged(value, unit, ucum, *VITAL_RANGES[code]) if age >= 18 else {"valueQuantity": quantity(value, unit, ucum)}

        pressures = [measured(code, value, "mmHg", "mm[Hg]") for code, value in (("8480-6", systolic), ("8462-4", diastolic))]
        high = any("interpretation" in pressure for pressure in pressures)
        panel_flag = {"interpretation": [concept(OBSERVATION_INTERPRETATION, "H", "High")]} if high else {}
        yield self._observation("us-core-blood-pressure", VITAL_SIGNS, ("85354-9", "Blood pressure panel with all children optional"),
                                moment, context, **panel_flag, component=[
                                    {"code": concept(LOINC, "8480-6", "Systolic blood pressure")} | pressures[0],
                                    {"code": concept(LOINC, "8462-4", "Diastolic blood pressure")} | pressures[1]])
        yield self._observation("us-core-heart-rate", VITAL_SIGNS, ("8867-4", "Heart rate"), moment, context,
                                **measured("8867-4", rng.randint(58, 96), "beats/minute", "/min"))
        yield self._observation("us-core-body-height", VITAL_SIGNS, ("8302-2", "Body height"), moment, context,
                                valueQuantity=quantity(round(height, 1), "cm", "cm"))
        yield self._observation("us-core-body-weight", VITAL_SIGNS, ("29463-7", "Body weight"), moment, context,
                                valueQuantity=quantity(round(weight, 1), "kg", "kg"))
        if age >= 2:
            yield self._observation("us-core-bmi", VITAL_SIGNS, ("39156-5", "Body mass index (BMI) [Ratio]"), moment, context,
                                    **measured("39156-5", round(bmi, 1), "kg/m2", "kg/m2"))

    def _lab_results(self, panel: str, moment: str, context: dict) -> Iterator[dict]:
        rng, collected = self.rng, later(moment, 10)
        for code, display, unit, normal, affected, condition in LAB_RESULTS[panel]:
            low, high = affected if condition in self.member.conditions else normal
            value = round(rng.uniform(low, high), 1)
            if (low, high) == normal and rng.random() < OFF_RANGE_CHANCE:
                value = round(high * rng.uniform(1.02, 1.12) if rng.random() < 0.7 else low * rng.uniform(0.88, 0.98), 1)
            yield self._observation("us-core-observation-lab", LABORATORY, (code, display), collected, context,
                                    **judged(value, unit, unit, *normal))

    def _immunization(self, code: str, moment: str, context: dict, visit: Visit) -> dict:
        cvx, display = VACCINES[code]
        return {
            "resourceType": "Immunization",
            "id": self._id("immunization"),
            "meta": self._meta("us-core-immunization", moment),
            "status": "completed",
            "vaccineCode": {"coding": [coding(CVX, cvx, display), coding(CPT, code, SERVICES[code][1])], "text": display},
            "patient": self.member.reference,
            "encounter": context,
            "occurrenceDateTime": later(moment, 25),
            "primarySource": True,
            "performer": [{"actor": self.plan.ref(visit.practitioner)}],
        }

    def _procedure(self, code: dict, moment: str, context: dict, visit: Visit) -> dict:
        return {
            "resourceType": "Procedure",
            "id": self._id("procedure"),
            "meta": self._meta("us-core-procedure", moment),
            "status": "completed",
            "code": code,
            "subject": self.member.reference,
            "encounter": context,
            "performedDateTime": later(moment, 15),
            "performer": [{"actor": self.plan.ref(visit.practitioner)}],
            "reasonCode": [concept(ICD10CM, *visit.diagnoses[0])],
        }
