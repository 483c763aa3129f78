"""So that a generated member has CARIN claims of every kind, and the visits they imply.

CARIN Blue Button 2.0.0 claims: a member's ExplanationOfBenefit resources of all five kinds (professional,
pharmacy, outpatient and inpatient institutional, oral), and the visits and fills they tell the clinical
record about."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from mockpayer.generate.adjudication import (
    add_amounts,
    adjudicate,
    amount_adjudications,
    benefit_balance,
    money,
    status_adjudication,
)
from mockpayer.generate.codes import (
    CARIN,
    CARIN_PROFILE,
    ICD10CM,
    ICD10PCS,
    MS_DRG,
    NDC,
    PLACE_OF_SERVICE,
    REVENUE_CS,
    RXNORM,
    UCUM,
    coding,
    concept,
)
from mockpayer.generate.dates import instant, later, service_days
from mockpayer.generate.members import Member
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import (
    ACUTE_PROBLEMS,
    ANTIBIOTIC_FOR,
    CLAIM_KIND_WEIGHTS,
    CLAIM_KINDS,
    CONDITIONS,
    DRUGS,
    FACILITY_CHARGES,
    INPATIENT_STAYS,
    OUTPATIENT_VISITS,
    REVENUE_CODES,
    SERVICES,
)

@dataclass
class Visit:
    """What a claim tells the clinical record: a visit with its diagnoses, labs, vaccines and procedures."""
    day: date
    kind: str
    practitioner: str
    organization: str
    diagnoses: list[tuple[str, str]]
    codes: list[str]
    end_day: date | None = None
    acute: bool = False


@dataclass
class Line:
    revenue: str | None
    code: str
    quantity: int
    rule: str
    day: date
    unit_cents: int
    tooth: str | None = None


def unit_price(rng: random.Random, code: str, revenue: str | None) -> int:
    low, high = FACILITY_CHARGES[revenue] if code == "not-applicable" else SERVICES[code][2:]
    return rng.randint(low * 20, high * 20) * 5  # cents, in steps of five


def service_concept(code: str) -> dict:
    system, display = SERVICES[code][:2]
    return concept(system, code, display)


def diagnosis_entries(diagnoses: list[tuple[str, str]], first_type: dict, other_type: dict,
                      on_admission: bool = False) -> list[dict]:
    entries = []
    for sequence, (code, display) in enumerate(diagnoses, 1):
        entry = {"sequence": sequence, "diagnosisCodeableConcept": concept(ICD10CM, code, display),
                 "type": [first_type if sequence == 1 else other_type]}
        if on_admission:
            entry["onAdmission"] = concept("https://www.nubc.org/CodeSystem/PresentOnAdmissionIndicators", "Y")
        entries.append(entry)
    return entries


PRINCIPAL = concept("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal", "Principal Diagnosis")
OTHER_DIAGNOSIS = concept(CARIN + "/CodeSystem/C4BBClaimDiagnosisType", "other", "Other")
SECONDARY_DIAGNOSIS = concept(CARIN + "/CodeSystem/C4BBClaimDiagnosisType", "secondary", "Secondary")
CARE_TEAM_ROLE = CARIN + "/CodeSystem/C4BBClaimCareTeamRole"
SUPPORTING_INFO = CARIN + "/CodeSystem/C4BBSupportingInfoType"


def care_team(entries: Iterable[tuple[dict, str, str]]) -> list[dict]:
    return [{"sequence": sequence, "provider": provider, "role": concept(CARE_TEAM_ROLE, role, display)}
            for sequence, (provider, role, display) in enumerate(entries, 1)]


def supporting(sequence: int, category: str, **value) -> dict:
    return {"sequence": sequence, "category": concept(SUPPORTING_INFO, category)} | value


def chronic_diagnoses(member: Member) -> list[tuple[str, str]]:
    return [CONDITIONS[key][0] for key in member.conditions]


def at_risk(stay: str, age: int, conditions: Iterable[str]) -> bool:
    """Cardiac stays need cardiac risk, a knee replacement needs knee arthritis or age; the rest can happen to anyone."""
    conditions = set(conditions)
    if stay in ("nstemi", "heart_failure"):
        return bool(conditions & {"htn", "hld", "t2d"}) or age >= 70
    if stay == "knee":
        return "oa_knee" in conditions or age >= 60
    return True


class ClaimWriter:
    """Builds one member's ExplanationOfBenefit resources in date order, keeping the member's cost-share state."""

    def __init__(self, plan: PlanContext, member: Member, rng: random.Random):
        self.plan, self.member, self.rng = plan, member, rng
        self.visits: list[Visit] = []
        self.fills: list[tuple[date, str, str]] = []  # (fill day, drug key, prescriber key)
        self.pending_antibiotic: tuple[date, str, str] | None = None  # prescribed at a sick visit, filled next

    def claim_days(self, count: int) -> list[tuple[date, str]]:
        """Service days and kinds, oldest first; with five or more claims every CARIN EOB kind appears."""
        return service_days(self.rng, self.member.coverage_start, count, CLAIM_KINDS, CLAIM_KIND_WEIGHTS)

    def eob(self, number: int, day: date, kind: str) -> dict:
        builder = getattr(self, f"_{kind}")
        return builder(f"{self.member.id}-eob{number}", number, day)

    # Common skeleton ------------------------------------------------------------------------------------

    def _skeleton(self, eob_id: str, number: int, profile: str, claim_type: str, first_day: date,
                  last_day: date) -> tuple[dict, date, str]:
        rng, plan = self.rng, self.plan
        received = last_day + timedelta(days=rng.randint(2, 9))
        created = instant(received + timedelta(days=rng.randint(7, 28)), rng)
        updated = later(created, rng.randint(30, 2880))
        resource = {
            "resourceType": "ExplanationOfBenefit",
            "id": eob_id,
            "meta": {"lastUpdated": updated, "profile": [CARIN_PROFILE.format(profile)]},
            "identifier": [{"type": concept(CARIN + "/CodeSystem/C4BBIdentifierType", "uc", "Unique Claim ID"),
                            "system": plan.identifier_system("claim-id"),
                            "value": f"{first_day.year}{self.member.number:07d}{number:05d}"}],
            "status": "active",
            "type": concept("http://terminology.hl7.org/CodeSystem/claim-type", claim_type, claim_type.capitalize()),
        }
        return resource, received, created

    def _finish(self, resource: dict, first_day: date, last_day: date, created: str, provider: dict, number: int,
                totals: dict[str, int]) -> dict:
        """Fields every kind shares after its own (use, patient, insurer, payee, insurance, totals, payment)."""
        rng = self.rng
        body = {
            "use": "claim",
            "patient": self.member.reference,
            "billablePeriod": {"start": first_day.isoformat(), "end": last_day.isoformat()},
            "created": created,
            "insurer": self.plan.payer_reference,
            "provider": provider,
        }
        if rng.random() < 0.05:  # an adjusted claim names the claim number it replaced
            body["related"] = [{"relationship": concept(CARIN + "/CodeSystem/C4BBRelatedClaimRelationshipCodes", "prior",
                                                        "Prior Claim"),
                                "reference": {"system": self.plan.identifier_system("claim-id"),
                                              "value": f"{first_day.year}{self.member.number:07d}{number:05d}A"}}]
        body["payee"] = {"type": concept("http://terminology.hl7.org/CodeSystem/payeetype", "provider", "Provider"),
                         "party": provider}
        body["outcome"] = "complete"
        head = {key: resource.pop(key) for key in ("resourceType", "id", "meta", "identifier", "status", "type", "subType")
                if key in resource}
        tail = resource
        paid_on = datetime.fromisoformat(created).date() + timedelta(days=rng.randint(3, 10))
        ordered = head | body | tail
        ordered["insurance"] = [{"focal": True, "coverage": self.member.coverage_reference}]
        for key in ("item", "adjudication"):
            if key in tail:
                ordered[key] = ordered.pop(key)
        ordered["total"] = amount_adjudications(totals)
        ordered["payment"] = {"type": concept(CARIN + "/CodeSystem/C4BBPayerClaimPaymentStatusCode", "paid", "Paid"),
                              "date": paid_on.isoformat(), "amount": money(totals["paidtoprovider"])}
        year = first_day.year
        ordered["benefitPeriod"] = {"start": f"{year}-01-01", "end": f"{year}-12-31"}
        ordered["benefitBalance"] = benefit_balance(self.member, year)
        return ordered

    def _priced_lines(self, lines: list[Line], allowed_share: float, item_fields: Callable[[Line], dict],
                      status_on_items: bool) -> tuple[list[dict], dict[str, int]]:
        """Items adjudicated line by line; CARIN puts the payment status on professional and oral lines."""
        items, totals = [], {}
        for sequence, line in enumerate(lines, 1):
            net = line.unit_cents * line.quantity
            amounts = adjudicate(self.member, net, allowed_share, line.rule, line.day.year)
            item = {"sequence": sequence} | item_fields(line)
            item["productOrService"] = service_concept(line.code)
            item["servicedDate"] = line.day.isoformat()
            item["quantity"] = {"value": line.quantity}
            item["unitPrice"] = money(line.unit_cents)
            item["net"] = money(net)
            statuses = [status_adjudication("benefitpaymentstatus")] if status_on_items else []
            item["adjudication"] = statuses + amount_adjudications(amounts)
            add_amounts(totals, amounts)
            items.append(item)
        return items, totals

    def _line(self, code: str, quantity: int, rule: str, day: date, revenue: str | None = None,
              tooth: str | None = None) -> Line:
        return Line(revenue, code, quantity, rule, day, unit_price(self.rng, code, revenue), tooth)

    # Professional and non-clinician ----------------------------------------------------------------------

    def _professional_visit(self, day: date) -> tuple[str, str, list[tuple[str, str]], list[Line], str]:
        """Pick a visit that fits the member: scenario, performer, diagnoses, lines, billing organization."""
        rng, member = self.rng, self.member
        age = member.age_on(day)
        chronic = chronic_diagnoses(member)
        options = ["preventive", "acute", "acute"] + ["chronic", "chronic", "specialist"] * bool(member.conditions)
        if member.gender == "female" and age >= 40:
            options.append("mammogram")
        if age >= 12:
            options.append("therapy")
        scenario = rng.choice(options)
        pcp = member.pcp
        if scenario == "preventive":
            diagnoses, lines = self._preventive_visit(day, age)
            return scenario, pcp, diagnoses, lines, self.plan.providers[pcp].organization_key
        if scenario == "chronic":
            key = rng.choice(member.conditions)
            diagnoses = [CONDITIONS[key][0]] + [d for d in chronic if d != CONDITIONS[key][0]]
            lines = [self._line(rng.choice(("99213", "99214")), 1, "copay_pcp", day)]
            labs = CONDITIONS[key][5]
            if labs:
                lines += [self._line(code, 1, "deductible", day) for code in labs + ("36415",)]
            return scenario, pcp, diagnoses, lines, self.plan.providers[pcp].organization_key
        if scenario == "specialist":
            key = rng.choice(member.conditions)
            performer, lines = self._specialist_visit(day, key)
            return scenario, performer, [CONDITIONS[key][0]] + chronic[:2], lines, self.plan.providers[performer].organization_key
        if scenario == "mammogram":
            lines = [self._line("77067", 1, "preventive", day)]
            return scenario, "radiology1", [("Z12.31", "Encounter for screening mammogram for malignant neoplasm of breast")], \
                lines, "hosp1"
        if scenario == "therapy":
            diagnosis = CONDITIONS["oa_knee"][0] if "oa_knee" in member.conditions else ("M54.50", "Low back pain, unspecified")
            lines = [self._line("97110", 2, "deductible", day), self._line("97140", 1, "deductible", day)]
            return scenario, "pt1", [diagnosis], lines, "clinic-ortho"
        problem, extra, _ = rng.choice(ACUTE_PROBLEMS)
        lines = [self._line(rng.choice(("99213", "99203")), 1, "copay_pcp", day)]
        lines += [self._line(code, 1, "deductible", day) for code in extra]
        return "acute", pcp, [problem] + chronic[:1], lines, self.plan.providers[pcp].organization_key

    def _preventive_visit(self, day: date, age: int) -> tuple[list[tuple[str, str]], list[Line]]:
        """A check-up for the member's age, with its labs and a seasonal or catch-up vaccine: diagnoses, lines."""
        visit_code = ("99392" if age < 5 else "99393" if age < 12 else "99394" if age < 18 else
                      "99395" if age < 40 else "99396" if age < 65 else "99397")
        lines = [self._line(visit_code, 1, "preventive", day)]
        diagnoses = [("Z00.129", "Encounter for routine child health examination without abnormal findings") if age < 18
                     else ("Z00.00", "Encounter for general adult medical examination without abnormal findings")]
        if age >= 18:
            lines += [self._line(code, 1, "preventive", day) for code in ("80053", "80061", "36415")]
        if day.month >= 9 and age >= 1:
            lines += [self._line("90471", 1, "preventive", day), self._line("90686", 1, "preventive", day)]
            diagnoses.append(("Z23", "Encounter for immunization"))
        elif age >= 11 and self.rng.random() < 0.15:
            lines += [self._line("90471", 1, "preventive", day), self._line("90715", 1, "preventive", day)]
            diagnoses.append(("Z23", "Encounter for immunization"))
        return diagnoses, lines

    def _specialist_visit(self, day: date, key: str) -> tuple[str, list[Line]]:
        """The specialist who treats condition `key` (the member's PCP for others) and the visit's lines."""
        if key in ("htn", "hld", "t2d"):
            performer, codes = "cardio1", ("93000",)
        elif key == "oa_knee":
            performer, codes = "ortho1", ("20610", "J1030")
        elif key == "depression":
            performer, codes = "counselor1", ("96127",)
        else:
            performer, codes = self.member.pcp, ()
        visit_code = "90834" if performer == "counselor1" else self.rng.choice(("99204", "99214"))
        lines = [self._line(visit_code, 1, "copay_specialist", day)]
        lines += [self._line(code, 1, "deductible", day) for code in codes]
        return performer, lines

    def _professional(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        scenario, performer, diagnoses, lines, organization = self._professional_visit(day)
        provider = plan.ref(organization)
        resource, received, created = self._skeleton(eob_id, number, "C4BB-ExplanationOfBenefit-Professional-NonClinician",
                                                      "professional", day, day)
        team = [(plan.ref(performer), "performing", "Performing provider")]
        if performer != member.pcp:
            team.append((plan.ref(member.pcp), "referring", "Referring"))
        resource["careTeam"] = care_team(team)
        resource["supportingInfo"] = [supporting(1, "clmrecvddate", timingDate=received.isoformat()),
                                      supporting(2, "servicefacility", valueReference=provider)]
        resource["diagnosis"] = diagnosis_entries(diagnoses, PRINCIPAL, SECONDARY_DIAGNOSIS)
        place = ("22", "On Campus-Outpatient Hospital") if organization.startswith("hosp") else ("11", "Office")
        location = concept(PLACE_OF_SERVICE, *place)
        pointers = {"careTeamSequence": [1], "diagnosisSequence": [1], "locationCodeableConcept": location}
        items, totals = self._priced_lines(lines, rng.uniform(0.45, 0.8), lambda line: pointers, True)
        resource["item"] = items
        resource["adjudication"] = [status_adjudication("billingnetworkstatus"), status_adjudication("renderingnetworkstatus")]
        self.visits.append(Visit(day, scenario, performer, organization, diagnoses, [line.code for line in lines],
                                 acute=scenario == "acute"))
        if scenario == "acute" and diagnoses[0] in ANTIBIOTIC_FOR:
            self.pending_antibiotic = (day, ANTIBIOTIC_FOR[diagnoses[0]], performer)
        return self._finish(resource, day, day, created, provider, number, totals)

    # Pharmacy ---------------------------------------------------------------------------------------------

    def _pick_drug(self, day: date) -> tuple[str, str]:
        pending = self.pending_antibiotic
        if pending and 0 <= (day - pending[0]).days < 120:
            self.pending_antibiotic = None
            return pending[1], pending[2]
        maintenance = [drug for key in self.member.conditions for drug in CONDITIONS[key][4]]
        if maintenance:
            return self.rng.choice(maintenance), self.member.pcp
        return self.rng.choice(("amoxicillin", "cetirizine", "cetirizine")), self.member.pcp

    def _pharmacy(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        drug, prescriber = self._pick_drug(day)
        rxnorm, display, ndc, generic, quantity, unit, (low, high) = DRUGS[drug]
        supply = 90 if member.pharmacy == "rx-mail" and quantity > 1 else 30
        fills = supply // 30
        provider = plan.ref(member.pharmacy)
        resource, received, created = self._skeleton(eob_id, number, "C4BB-ExplanationOfBenefit-Pharmacy", "pharmacy",
                                                      day, day)
        resource["careTeam"] = care_team([(plan.ref(prescriber), "prescribing", "Prescribing provider")])
        refill = rng.randint(0, 5)
        resource["supportingInfo"] = [
            supporting(1, "dayssupply", valueQuantity={"value": supply, "unit": "days", "system": UCUM, "code": "d"}),
            supporting(2, "dawcode", code=concept("http://terminology.hl7.org/CodeSystem/NCPDPDispensedAsWrittenOrProductSelectionCode",
                                                  "0", "No Product Selection Indicated")),
            supporting(3, "refillnum", valueQuantity={"value": refill}),
            supporting(4, "refillsauthorized", valueQuantity={"value": max(refill, 5)}),
            supporting(5, "brandgenericindicator", code=concept("http://terminology.hl7.org/CodeSystem/NCPDPBrandGenericIndicator",
                                                                "2" if generic else "1", "Generic" if generic else "Brand")),
            supporting(6, "rxorigincode", code=concept("http://terminology.hl7.org/CodeSystem/NCPDPPrescriptionOriginCode",
                                                       "3", "Electronic")),
            supporting(7, "compoundcode", code=concept("http://terminology.hl7.org/CodeSystem/NCPDPCompoundCode", "1",
                                                       "Not a Compound")),
            supporting(8, "clmrecvddate", timingDate=received.isoformat()),
        ]
        unit_cents = rng.randint(low * 100, high * 100) * fills
        net = unit_cents
        amounts = adjudicate(member, net, rng.uniform(0.6, 0.92), "rx_generic" if generic else "rx_brand", day.year)
        product = {"coding": [coding(NDC, ndc, display), coding(RXNORM, rxnorm, display)], "text": display}
        resource["item"] = [{"sequence": 1, "productOrService": product, "servicedDate": day.isoformat(),
                             "quantity": {"value": quantity * fills, "unit": unit},
                             "net": money(net),
                             "adjudication": amount_adjudications(amounts)}]
        resource["adjudication"] = [status_adjudication("benefitpaymentstatus"), status_adjudication("billingnetworkstatus")]
        self.fills.append((day, drug, prescriber))
        return self._finish(resource, day, day, created, provider, number, amounts)

    # Oral -------------------------------------------------------------------------------------------------

    def _oral(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        age = member.age_on(day)
        dentist = member.dentist
        organization = plan.providers[dentist].organization_key
        provider = plan.ref(organization)
        resource, received, created = self._skeleton(eob_id, number, "C4BB-ExplanationOfBenefit-Oral", "oral", day, day)
        resource["careTeam"] = care_team([(plan.ref(dentist), "performing", "Performing provider")])
        resource["supportingInfo"] = [supporting(1, "clmrecvddate", timingDate=received.isoformat()),
                                      supporting(2, "servicefacility", valueReference=provider)]
        scenario = rng.choices(("preventive", "filling", "crown", "extraction"), (60, 25, 8, 7))[0]
        if age < 14 and scenario in ("crown", "extraction"):
            scenario = "filling"
        if scenario == "preventive":
            diagnoses = [("Z01.20", "Encounter for dental examination and cleaning without abnormal findings")]
            codes = ["D0120" if rng.random() < 0.8 else "D0150", "D1120" if age < 14 else "D1110"]
            if rng.random() < 0.5:
                codes.append("D0274")
            if age < 14:
                codes.append("D1206")
            lines = [self._line(code, 1, "preventive", day) for code in codes]
        else:
            tooth = str(rng.choice((2, 3, 4, 5, 12, 13, 14, 15, 18, 19, 20, 29, 30, 31)))
            code, rule, diagnosis = {
                "filling": ("D2391", "dental_basic", ("K02.52", "Dental caries on pit and fissure surface penetrating into dentin")),
                "crown": ("D2740", "dental_major", ("K02.53", "Dental caries on pit and fissure surface penetrating into pulp")),
                "extraction": ("D7140", "dental_basic", ("K08.439", "Partial loss of teeth due to caries, unspecified class")),
            }[scenario]
            diagnoses = [diagnosis]
            lines = [self._line(code, 1, rule, day, tooth=tooth)]
        resource["diagnosis"] = diagnosis_entries(diagnoses, PRINCIPAL, SECONDARY_DIAGNOSIS)
        office = concept(PLACE_OF_SERVICE, "11", "Office")

        def oral_item(line: Line) -> dict:
            fields = {"careTeamSequence": [1], "diagnosisSequence": [1], "locationCodeableConcept": office}
            if line.tooth:
                fields["bodySite"] = concept("http://terminology.hl7.org/CodeSystem/ADAUniversalToothDesignationSystem", line.tooth)
                fields["subSite"] = [concept(CARIN + "/CodeSystem/C4BBSurfaceCodes", "O", "Occlusal")]
            return fields

        items, totals = self._priced_lines(lines, rng.uniform(0.6, 0.85), oral_item, True)
        resource["item"] = items
        resource["adjudication"] = [status_adjudication("billingnetworkstatus"), status_adjudication("renderingnetworkstatus")]
        return self._finish(resource, day, day, created, provider, number, totals)

    # Institutional ----------------------------------------------------------------------------------------

    def _institutional_supporting(self, received: date, bill_type: str, admission_type: str, origin: str) -> list[dict]:
        return [
            supporting(1, "clmrecvddate", timingDate=received.isoformat()),
            supporting(2, "typeofbill", code=concept("https://www.nubc.org/CodeSystem/TypeOfBill", bill_type)),
            supporting(3, "pointoforigin", code=concept("https://www.nubc.org/CodeSystem/PointOfOrigin", origin)),
            supporting(4, "admtype", code=concept("https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit", admission_type)),
            supporting(5, "discharge-status", code=concept("https://www.nubc.org/CodeSystem/PatDischargeStatus", "01",
                                                           "Discharged to home or self care")),
        ]

    def _outpatient(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        age = member.age_on(day)
        choices = [key for key, visit in OUTPATIENT_VISITS.items() if age >= visit[3]] or ["er_wrist"]
        key = rng.choice(choices)
        principal, admission_type, attending, _, line_specs = OUTPATIENT_VISITS[key]
        hospital = "hosp2" if key.startswith("er") else member.hospital
        provider = plan.ref(hospital)
        resource, received, created = self._skeleton(eob_id, number, "C4BB-ExplanationOfBenefit-Outpatient-Institutional",
                                                      "institutional", day, day)
        resource["subType"] = concept(CARIN + "/CodeSystem/C4BBInstitutionalClaimSubType", "outpatient", "Outpatient")
        resource["careTeam"] = care_team([(plan.ref(attending), "attending", "Attending"),
                                          (plan.ref(member.pcp), "referring", "Referring")])
        resource["supportingInfo"] = self._institutional_supporting(received, "0131", admission_type, "1")
        diagnoses = [principal] + chronic_diagnoses(member)[:2]
        resource["diagnosis"] = diagnosis_entries(diagnoses, PRINCIPAL, OTHER_DIAGNOSIS)
        lines = [self._line(code, units, rule, day, revenue) for revenue, code, units, rule in line_specs]
        items, totals = self._priced_lines(lines, rng.uniform(0.4, 0.7), self._revenue_item, False)
        resource["item"] = items
        resource["adjudication"] = [status_adjudication("benefitpaymentstatus"), status_adjudication("billingnetworkstatus")]
        self.visits.append(Visit(day, "emergency" if key.startswith("er") else "outpatient", attending, hospital, diagnoses,
                                 [line.code for line in lines], acute=key.startswith("er")))
        return self._finish(resource, day, day, created, provider, number, totals)

    def _revenue_item(self, line: Line) -> dict:
        return {"revenue": concept(REVENUE_CS, line.revenue, REVENUE_CODES[line.revenue])}

    def _inpatient(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        age = member.age_on(day)
        key = rng.choice([key for key, stay in INPATIENT_STAYS.items() if age >= stay[7] and at_risk(key, age, member.conditions)])
        principal, pcs, drg, (shortest, longest), admission_type, origin, attending, _, line_specs = INPATIENT_STAYS[key]
        attending = member.hospital.replace("hosp", "hospitalist") if attending == "hospitalist" else attending
        days = rng.randint(shortest, longest)
        discharge = day + timedelta(days=days)
        provider = plan.ref(member.hospital)
        resource, received, created = self._skeleton(eob_id, number, "C4BB-ExplanationOfBenefit-Inpatient-Institutional",
                                                      "institutional", day, discharge)
        resource["subType"] = concept(CARIN + "/CodeSystem/C4BBInstitutionalClaimSubType", "inpatient", "Inpatient")
        team = [(plan.ref(attending), "attending", "Attending")]
        if pcs:
            team.append((plan.ref(attending), "operating", "Operating"))
        team.append((plan.ref(member.pcp), "referring", "Referring"))
        resource["careTeam"] = care_team(team)
        info = self._institutional_supporting(received, "0111", admission_type, origin)
        info.insert(0, supporting(0, "admissionperiod", timingPeriod={"start": day.isoformat(), "end": discharge.isoformat()}))
        info.append(supporting(6, "drg", code=concept(MS_DRG, *drg)))
        for position, entry in enumerate(info, 1):
            entry["sequence"] = position
        resource["supportingInfo"] = info
        diagnoses = [principal] + [d for d in chronic_diagnoses(member) if d != principal][:3]
        resource["diagnosis"] = diagnosis_entries(diagnoses, PRINCIPAL, OTHER_DIAGNOSIS, on_admission=True)
        if pcs:
            resource["procedure"] = [{"sequence": 1,
                                      "type": [concept(CARIN + "/CodeSystem/C4BBClaimProcedureType", "principal", "Principal")],
                                      "date": (day if admission_type == "3" else day + timedelta(days=1 if days > 1 else 0)).isoformat(),
                                      "procedureCodeableConcept": concept(ICD10PCS, *pcs)}]
        lines = []
        for revenue, code, units in line_specs:
            quantity = days if units == "days" else units
            lines.append(self._line(code or "not-applicable", quantity, "inpatient", day, revenue))
        items = []
        submitted = 0
        for sequence, line in enumerate(lines, 1):
            net = line.unit_cents * line.quantity
            submitted += net
            item = {"sequence": sequence, "revenue": concept(REVENUE_CS, line.revenue, REVENUE_CODES[line.revenue]),
                    "productOrService": service_concept(line.code)}
            if line.revenue == "0121":
                item["servicedPeriod"] = {"start": day.isoformat(), "end": discharge.isoformat()}
            else:
                item["servicedDate"] = day.isoformat()
            item |= {"quantity": {"value": line.quantity}, "unitPrice": money(line.unit_cents), "net": money(net)}
            items.append(item)
        # DRG payment: the stay is adjudicated as a whole, so amounts sit on the claim, not the lines.
        amounts = adjudicate(member, submitted, rng.uniform(0.35, 0.6), "inpatient", day.year)
        resource["item"] = items
        resource["adjudication"] = [status_adjudication("benefitpaymentstatus"),
                                    status_adjudication("billingnetworkstatus")] + amount_adjudications(amounts)
        self.visits.append(Visit(day, "inpatient", attending, member.hospital, diagnoses, [line.code for line in lines],
                                 end_day=discharge, acute=True))
        return self._finish(resource, day, discharge, created, provider, number, amounts)
