"""A beneficiary's Medicare claims as CMS Blue Button 2.0 serves them.

ExplanationOfBenefit resources of its eight claim types (carrier, dme, hha, hospice, inpatient, outpatient, pde,
snf), shaped as BFD's v2 transformers write them, priced by medicare_costs.py.

Each type is coded as BFD codes it, quirks included: the `eob-type` and NCH claim type codings beside the HL7
claim type (DME counts as institutional and home health as professional), the CARIN profile without a version,
ids `<type>-<claim id>`, providers named by NPI (Part A and outpatient ones as a contained Organization), and the
money where BFD puts it. Carrier and DME claims state their money on the lines, with the claim's charge, allowed
amount and payments in `benefitBalance` and a `total` of what a prior payer paid (nothing); institutional claims
state the charge in `total`, Medicare's payment in `payment`, and the Part A or Part B deductible and
coinsurance in `benefitBalance`, with a revenue code 0001 line totalling the charges; Part D events state the
drug's cost, the plan's payment and what the beneficiary paid on their one line.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from mockpayer.generate.adjudication import money
from mockpayer.generate.beneficiaries import Beneficiary
from mockpayer.generate.claims import at_risk, unit_price
from mockpayer.generate.cms import (
    CARIN_IDENTIFIER_TYPE,
    amount,
    benefit_balance,
    bfd_instant,
    cms_coding,
    cms_concept,
    coded_extension,
    financial,
    identifier_extension,
    information,
    npi_identifier,
    npi_party,
    numbered,
    synthetic_id,
    variable,
)
from mockpayer.generate.codes import (
    BB_CLAIM_GROUP,
    BB_CODESYSTEM,
    BB_HCPCS,
    C4BB_ADJUDICATION_CS,
    CARIN,
    CARIN_PROFILE_UNVERSIONED,
    CLAIM_TYPE_CS,
    ICD10,
    ICD10CM,
    ICD10PCS,
    NDC,
    NPI_SYSTEM,
    NUCC,
    V2_0203,
    coding,
    concept,
)
from mockpayer.generate.dates import REFERENCE_TODAY
from mockpayer.generate.medicare_costs import PartB, part_d
from mockpayer.generate.roster import PlanContext, npi_number
from mockpayer.generate.tables import (
    CONDITIONS,
    DME_ITEMS,
    DRUGS,
    HOSPICE_DIAGNOSES,
    INPATIENT_STAYS,
    MEDICARE_FACILITIES,
    MEDICARE_SPECIALTIES,
    OUTPATIENT_VISITS,
    PART_B_NO_COST_SHARING,
    REVENUE_CODES,
)

CLAIM_IDS, PDE_IDS, CLAIM_GROUPS = 10000900000000, 10000500000000, 10000700000000
PART_A_RECORD = ("V", "Part A institutional claim record (inpatient [IP], skilled nursing facility [SNF], hospice "
                      "[HOS], or home health agency [HHA])")
PART_B_INSTITUTIONAL_RECORD = ("W", "Part B institutional claim record (outpatient [HOP], HHA)")
# kind -> NCH claim type, near-line record, HL7 claim type, CARIN profile, the Part whose Coverage it names (as BFD).
CLAIM_TYPES = {
    "carrier": (("71", "Local carrier non-durable medical equipment, prosthetics, orthotics, and supplies (DMEPOS) claim"),
                ("O", "Part B physician/supplier claim record (processed by local carriers; can include DMEPOS services)"),
                "professional", "C4BB-ExplanationOfBenefit-Professional-NonClinician", "b"),
    "dme": (("82", "DMERC; DMEPOS claim"), ("M", "Part B DMEPOS claim record (processed by DME Regional Carrier)"),
            "institutional", "C4BB-ExplanationOfBenefit-Inpatient-Institutional", "a"),
    "hha": (("10", "Home Health Agency (HHA) claim"), PART_B_INSTITUTIONAL_RECORD, "professional",
            "C4BB-ExplanationOfBenefit-Professional-NonClinician", "b"),
    "hospice": (("50", "Hospice claim"), PART_A_RECORD, "institutional", "C4BB-ExplanationOfBenefit-Inpatient-Institutional", "a"),
    "inpatient": (("60", "Inpatient claim"), PART_A_RECORD, "institutional", "C4BB-ExplanationOfBenefit-Inpatient-Institutional", "a"),
    "outpatient": (("40", "Hospital Outpatient claim"), PART_B_INSTITUTIONAL_RECORD, "institutional",
                   "C4BB-ExplanationOfBenefit-Outpatient-Institutional", "b"),
    "snf": (("20", "Non swing bed Skilled Nursing Facility (SNF) claim"), PART_A_RECORD, "institutional",
            "C4BB-ExplanationOfBenefit-Inpatient-Institutional", "a"),
    "pde": (None, None, "pharmacy", "C4BB-ExplanationOfBenefit-Pharmacy", "d"),
}
EOB_ORDER = ("resourceType", "id", "meta", "contained", "extension", "identifier", "status", "type", "subType", "use",
             "patient", "billablePeriod", "created", "insurer", "provider", "referral", "facility", "outcome",
             "disposition", "careTeam", "supportingInfo", "diagnosis", "procedure", "insurance", "item", "total",
             "payment", "benefitBalance")
CARE_TEAM_ROLE = CARIN + "/CodeSystem/C4BBClaimCareTeamRole"
ROLES = {"referring": "Referring", "performing": "Performing provider", "attending": "Attending",
         "operating": "Operating", "prescribing": "Prescribing provider"}
PRINCIPAL = concept("http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal", "Principal Diagnosis")
FINAL_BILL = {"extension": [coded_extension("claim_query_cd", "3", "Final bill")]}
NOT_APPLICABLE = concept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-applicable", "Not Applicable")
LINE_PAYMENT_80 = {"extension": [coded_extension("line_pmt_80_100_cd", "0", "80%")]}
STATE = "OH"
# CCW type of service of a carrier line, by HCPCS code (the rest are medical care).
SERVICE_TYPES = {"G0008": ("V", "Pneumococcal/Flu Vaccine"), "90662": ("V", "Pneumococcal/Flu Vaccine"),
                 "36415": ("5", "Diagnostic laboratory"), "80053": ("5", "Diagnostic laboratory"),
                 "80061": ("5", "Diagnostic laboratory"), "83036": ("5", "Diagnostic laboratory"),
                 "71046": ("4", "Diagnostic radiology"), "77067": ("4", "Diagnostic radiology"),
                 "93306": ("4", "Diagnostic radiology")}
DME_SERVICE_TYPES = {"P": "Lump sum purchase of DME, prosthetics orthotics", "R": "Rental of DME"}
# The first beneficiary's first two carrier visits also treat alcohol dependence, a substance use disorder (42 CFR
# Part 2), so that a generated plan has claims Blue Button's `excludeSAMHSA=true` leaves out
# (mockpayer/bluebutton/samhsa.py), and the same ones for the same seed.
SUBSTANCE_USE = ("F10.20", "Alcohol dependence, uncomplicated")
SUBSTANCE_USE_VISITS = 2


def icd10(diagnosis: tuple[str, str]) -> dict:
    """An ICD-10 code as CMS writes it: without its dot, the display in capitals, under both ICD-10 systems."""
    code, display = diagnosis[0].replace(".", ""), diagnosis[1].upper()
    return {"coding": [coding(ICD10CM, code, display), coding(ICD10, code, display)]}


def diagnoses(entries: list[tuple[str, str]], other: str, on_admission: bool = False) -> list[dict]:
    """So that an inpatient claim's diagnoses are coded as BFD codes them.

    The principal diagnosis, then the others as CARIN `other` or `secondary`; on admission each says it was
    present (clm_poa_ind_sw<n>)."""
    found = []
    for sequence, diagnosis in enumerate(entries, 1):
        entry = {"sequence": sequence, "diagnosisCodeableConcept": icd10(diagnosis),
                 "type": [PRINCIPAL if sequence == 1 else concept(CARIN + "/CodeSystem/C4BBClaimDiagnosisType", other,
                                                                  other.capitalize())]}
        if on_admission:
            entry = {"extension": [coded_extension(f"clm_poa_ind_sw{sequence}", "Y",
                                                   "Diagnosis was present at the time of admission (POA)")]} | entry
        found.append(entry)
    return found


def hcpcs(code: str | None) -> dict:
    return {"coding": [coding(BB_HCPCS, code)]} if code else NOT_APPLICABLE


def revenue(code: str) -> dict:
    return {"coding": [cms_coding("rev_cntr", code, REVENUE_CODES[code])]}


def facility_lines(charges: list[dict], first_sequence: int, total: int) -> list[dict]:
    """The revenue code 0001 line that totals an institutional claim's charges, after its other lines."""
    return charges + [{"sequence": first_sequence, "revenue": revenue("0001"), "productOrService": NOT_APPLICABLE,
                       "adjudication": [amount("submitted", "rev_cntr_rate_amt", 0),
                                        amount("submitted", "rev_cntr_tot_chrg_amt", total),
                                        amount("noncovered", "rev_cntr_ncvrd_chrg_amt", 0)]}]


class MedicareClaimWriter:
    """So that a beneficiary's claims agree on deductibles and benefit periods.

    Builds one beneficiary's ExplanationOfBenefit resources in the order they were served, keeping the
    beneficiary's deductibles and benefit periods (medicare_costs.MedicareCosts)."""

    def __init__(self, plan: PlanContext, beneficiary: Beneficiary, rng: random.Random):
        self.plan, self.beneficiary, self.rng = plan, beneficiary, rng
        self.substance_use_visits = 0
        npis = random.Random(f"{plan.seed}/medicare-providers")
        self.facilities = {kind: (name, npi_number(npis)) for kind, name in MEDICARE_FACILITIES.items()}

    def eob(self, number: int, day: date, kind: str) -> dict:
        return getattr(self, f"_{kind}")(number, day)

    # Common to every type ----------------------------------------------------------------------------------

    def _claim(self, kind: str, number: int, first_day: date, last_day: date, fields: dict,
               paid: date | None = None) -> dict:
        """The claim with what every type shares: ids, type codings, dates, patient, insurer, coverage.

        Its dates follow one another as a real claim's do: the service, then the claim processed (Part B and
        Part A claims: `nch_wkly_proc_dt` a week or more later, and `created` after that), or for a Part D event,
        `created` the day of the fill, which the plan adjudicates at the pharmacy, then its payment (`paid`);
        `meta.lastUpdated` after all of them."""
        rng, beneficiary = self.rng, self.beneficiary
        claim_type, record, hl7_type, profile, part = CLAIM_TYPES[kind]
        processed = paid or min(last_day + timedelta(days=rng.randint(7, 30)), REFERENCE_TODAY - timedelta(days=5))
        updated = bfd_instant(min(processed + timedelta(days=rng.randint(1, 20)), REFERENCE_TODAY - timedelta(days=1)),
                              rng)
        offset = beneficiary.number * 10**5 + number
        unique_claim = {"type": {"coding": [coding(CARIN_IDENTIFIER_TYPE, "uc", "Unique Claim ID")]}}
        claim_id = synthetic_id(PDE_IDS if kind == "pde" else CLAIM_IDS, offset)
        identifiers = [unique_claim | {"system": variable("pde_id" if kind == "pde" else "clm_id"), "value": claim_id},
                       unique_claim | {"system": BB_CLAIM_GROUP, "value": synthetic_id(CLAIM_GROUPS, offset)}]
        type_codings = [coding(BB_CODESYSTEM + "eob-type", kind.upper()),
                        coding(CLAIM_TYPE_CS, hl7_type, hl7_type.capitalize())]
        extensions = []
        if claim_type:
            type_codings.insert(0, cms_coding("nch_clm_type_cd", *claim_type))
            extensions.append(coded_extension("nch_near_line_rec_ident_cd", *record))
        claim = {
            "resourceType": "ExplanationOfBenefit",
            "id": f"{kind}-{claim_id}",
            "meta": {"lastUpdated": updated, "profile": [CARIN_PROFILE_UNVERSIONED.format(profile)]},
            "extension": extensions + fields.pop("extension", []),
            "identifier": identifiers + fields.pop("identifier", []),
            "status": "active",
            "type": {"coding": type_codings},
            "use": "claim",
            "patient": beneficiary.reference,
            "billablePeriod": {"start": first_day.isoformat(), "end": last_day.isoformat()},
            "created": bfd_instant(first_day, rng) if paid else updated,
            "insurer": {"identifier": {"value": "CMS"}},
            "outcome": "complete",
            "insurance": [{"focal": True, "coverage": fields.pop("coverage", {}) | beneficiary.coverage(part)}],
        }
        if kind != "pde":
            claim["supportingInfo"] = [information("nch_wkly_proc_dt", ("clmrecvddate", "Claim Received Date"),
                                                   timingDate=processed.isoformat())]
        claim["supportingInfo"] = numbered(claim.get("supportingInfo", []) + fields.pop("supportingInfo", []))
        claim |= fields
        return {key: claim[key] for key in EOB_ORDER if key in claim and claim[key] != []}

    def _care_team(self, members: list[tuple[str, str]]) -> list[dict]:
        """Care team by NPI (roster key, role); a performing clinician is responsible, with their CCW specialty."""
        team = []
        for sequence, (key, role) in enumerate(members, 1):
            provider = self.plan.providers[key]
            member = {"sequence": sequence, "provider": npi_party(provider.npi, provider.name)}
            if role == "performing":
                member = {"extension": [coded_extension("prtcptng_ind_cd", "1", "Participating")]} | member
                member["responsible"] = True
            member["role"] = concept(CARE_TEAM_ROLE, role, ROLES[role])
            if role == "performing":
                specialty = MEDICARE_SPECIALTIES.get(provider.taxonomy[0], ("99", "Unknown physician specialty"))
                member["qualification"] = cms_concept("prvdr_spclty", *specialty)
            elif role == "prescribing":
                member["qualification"] = concept(NUCC, *provider.taxonomy)
            team.append(member)
        return team

    def _contained_provider(self, name: str, npi: str) -> list[dict]:
        """Part A and outpatient claims name their provider as BFD does: an Organization contained in the claim."""
        return [{"resourceType": "Organization", "id": "provider-org",
                 "meta": {"profile": [CARIN_PROFILE_UNVERSIONED.format("C4BB-Organization")]},
                 "identifier": [{"type": concept(V2_0203, "PRN"), "value": f"36{npi[-4:]}"},
                                {"type": concept(CARIN_IDENTIFIER_TYPE, "npi"), "system": NPI_SYSTEM, "value": npi}],
                 "active": True, "name": name}]

    def _institutional(self, name: str, npi: str, facility: tuple[str, str], classification: str) -> dict:
        """The fields an institutional claim adds: the contained provider, facility type, FI numbers."""
        rng = self.rng
        return {
            "contained": self._contained_provider(name, npi),
            "extension": [identifier_extension("fi_doc_clm_cntl_num", str(rng.randrange(10**16, 10**17))),
                          coded_extension("clm_srvc_clsfctn_type_cd", classification),
                          coded_extension("fi_num", "15201")],
            "provider": {"reference": "#provider-org"},
            "facility": {"extension": [coded_extension("clm_fac_type_cd", *facility)]},
        }

    def _chronic(self) -> list[tuple[str, str]]:
        return [CONDITIONS[key][0] for key in self.beneficiary.conditions]

    # Part B professional and supplier claims (carrier, DME) -------------------------------------------------

    def _part_b_lines(self, lines: list[tuple[str, int]], day: date, allowed_share: float,
                      item_fields: Callable[..., tuple[dict, list[dict]]]) -> tuple[list[dict], dict]:
        """So that Part B lines carry the amounts BFD writes on every carrier or DME line.

        Lines priced by Part B, each with the amounts BFD writes on every carrier or DME line after the type's
        own (`item_fields` gives the line's other fields and those), and the claim's sums."""
        items, sums = [], dict.fromkeys(("charge", "allowed", "deductible", "coinsurance", "paid"), 0)
        for sequence, (code, quantity) in enumerate(lines, 1):
            charge = unit_price(self.rng, code, None) * quantity
            share = self.beneficiary.costs.part_b(day.year, min(charge, round(charge * allowed_share)),
                                                  code not in PART_B_NO_COST_SHARING)
            for key, value in (("charge", charge), ("allowed", share.allowed), ("deductible", share.deductible),
                               ("coinsurance", share.coinsurance), ("paid", share.paid)):
                sums[key] += value
            item, adjudication = item_fields(sequence, code, quantity, share, charge)
            items.append(item | {"adjudication": adjudication + [
                LINE_PAYMENT_80 | amount("benefit", "line_nch_pmt_amt", share.paid),
                amount("paidtopatient", "line_bene_pmt_amt", 0),
                amount("paidtoprovider", "line_prvdr_pmt_amt", share.paid),
                amount("deductible", "line_bene_ptb_ddctbl_amt", share.deductible),
                amount("priorpayerpaid", "line_bene_prmry_pyr_pd_amt", 0),
                amount("coinsurance", "line_coinsrnc_amt", share.coinsurance),
                amount("submitted", "line_sbmtd_chrg_amt", charge),
                amount("eligible", "line_alowd_chrg_amt", share.allowed)]})
        return items, sums

    def _carrier_claim_money(self, sums: dict) -> dict:
        """So that a carrier or DME claim's money is filed where BFD files it.

        Where BFD files a carrier or DME claim's money: a total of what a prior payer paid, Medicare's payment,
        and the claim's deductible, payments, charge and allowed amount in benefitBalance."""
        return {
            "total": [amount("priorpayerpaid", "clm_tot_chrg_amt", 0)],
            "payment": {"amount": money(sums["paid"])},
            "benefitBalance": benefit_balance([financial("carr_clm_cash_ddctbl_apld_amt", sums["deductible"]),
                                               financial("nch_clm_prvdr_pmt_amt", sums["paid"]),
                                               financial("nch_clm_bene_pmt_amt", 0),
                                               financial("nch_carr_clm_sbmtd_chrg_amt", sums["charge"]),
                                               financial("nch_carr_clm_alowd_amt", sums["allowed"])]),
        }

    def _carrier_visit(self, day: date) -> tuple[str, list[tuple[str, str]], list[tuple[str, int]], bool]:
        """A visit that fits the beneficiary: performer, diagnoses, lines (HCPCS, quantity), referred by the PCP."""
        rng, beneficiary = self.rng, self.beneficiary
        chronic = self._chronic()
        options = ["wellness", "acute", "therapy"] + ["chronic", "chronic", "specialist"] * bool(chronic)
        scenario = rng.choice(options)
        pcp = beneficiary.pcp
        if scenario == "wellness":
            lines = [("G0439", 1)] + ([("G0008", 1), ("90662", 1)] if day.month >= 9 else [])
            reasons = [("Z00.00", "Encounter for general adult medical examination without abnormal findings")]
            return pcp, reasons + ([("Z23", "Encounter for immunization")] if day.month >= 9 else []), lines, False
        if scenario == "chronic":
            key = rng.choice(beneficiary.conditions)
            labs = CONDITIONS[key][5]
            lines = [(rng.choice(("99213", "99214")), 1)] + [(code, 1) for code in labs + (("36415",) if labs else ())]
            return pcp, [CONDITIONS[key][0]] + [d for d in chronic if d != CONDITIONS[key][0]], lines, False
        if scenario == "specialist":
            key = rng.choice(beneficiary.conditions)
            performer, extra = (("ortho1", [("20610", 1), ("J1030", 1)]) if key == "oa_knee"
                                else ("cardio1", [("93000", 1)]))
            return performer, [CONDITIONS[key][0]] + chronic[:2], [("99214", 1)] + extra, True
        if scenario == "therapy":
            reason = CONDITIONS["oa_knee"][0] if "oa_knee" in beneficiary.conditions else ("M54.50", "Low back pain, unspecified")
            return "pt1", [reason], [("97110", 2), ("97140", 1)], True
        problem = rng.choice(((("J06.9", "Acute upper respiratory infection, unspecified"), []),
                              (("R05.9", "Cough, unspecified"), [("71046", 1)]),
                              (("M54.50", "Low back pain, unspecified"), [])))
        return pcp, [problem[0]] + chronic[:1], [("99213", 1)] + problem[1], False

    def _carrier(self, number: int, day: date) -> dict:
        rng, plan = self.rng, self.plan
        performer, reasons, lines, referred = self._carrier_visit(day)
        if self.beneficiary.number == 1 and self.substance_use_visits < SUBSTANCE_USE_VISITS:
            reasons = reasons + [SUBSTANCE_USE]
            self.substance_use_visits += 1
        team = [(self.beneficiary.pcp, "referring")] if referred else []
        team.append((performer, "performing"))
        performing = len(team)
        location = {"extension": [coded_extension("prvdr_state_cd", STATE),
                                  coded_extension("prvdr_zip", plan.providers[performer].address["postalCode"])],
                    "coding": [cms_coding("line_place_of_srvc_cd", "11", "Office")]}

        def carrier_item(sequence: int, code: str, quantity: int, share: PartB, charge: int) -> tuple[dict, list[dict]]:
            free = code in PART_B_NO_COST_SHARING
            item = {"extension": [coded_extension("line_prcsg_ind_cd", "A", "Allowed"),
                                  coded_extension("line_service_deductible", "1" if free else "0",
                                                  "Service Not Subject to Deductible" if free
                                                  else "Service Subject to Deductible")],
                    "sequence": sequence, "careTeamSequence": [performing], "diagnosisSequence": [1],
                    "category": cms_concept("line_cms_type_srvc_cd", *SERVICE_TYPES.get(code, ("1", "Medical care"))),
                    "productOrService": hcpcs(code),
                    "servicedPeriod": {"start": day.isoformat(), "end": day.isoformat()},
                    "locationCodeableConcept": location, "quantity": {"value": float(quantity)}}
            denial = {"category": concept(CARIN + "/CodeSystem/C4BBAdjudicationDiscriminator", "denialreason",
                                          "Denial Reason"),
                      "reason": cms_concept("carr_line_rdcd_pmt_phys_astn_c", "0", "N/A")}
            return item, [denial]

        items, sums = self._part_b_lines(lines, day, rng.uniform(0.35, 0.6), carrier_item)
        organization = plan.providers[plan.providers[performer].organization_key]
        fields = {
            "extension": [identifier_extension("carr_num", "15202"),
                          identifier_extension("carr_clm_cntl_num", str(rng.randrange(10**13, 10**14))),
                          coded_extension("carr_clm_pmt_dnl_cd", "1", "Physician/supplier"),
                          coded_extension("asgmntcd", "A", "Assigned claim"),
                          coded_extension("carr_clm_entry_cd", "1", "Original debit; void of original debit (If "
                                          "CLM_DISP_CD = 3, code 1 means voided original debit)")],
            "provider": {"identifier": {"system": NPI_SYSTEM, "value": organization.npi}, "display": organization.name},
            "disposition": "01",
            "careTeam": self._care_team(team),
            "diagnosis": diagnoses(reasons, "secondary"),
            "item": items,
        } | self._carrier_claim_money(sums)
        if referred:
            fields["referral"] = {"identifier": npi_identifier(plan.providers[self.beneficiary.pcp].npi)}
        return self._claim("carrier", number, day, day, fields)

    def _dme(self, number: int, day: date) -> dict:
        rng, beneficiary = self.rng, self.beneficiary
        choices = [item for item in DME_ITEMS if item[3] is None or item[3] in beneficiary.conditions]
        code, quantity, service_type, condition = rng.choice(choices)
        reasons = ([CONDITIONS[condition][0]] if condition else [rng.choice(
            (("R26.89", "Other abnormalities of gait and mobility"), ("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
             ("M17.11", "Unilateral primary osteoarthritis, right knee")))]) + self._chronic()[:1]
        supplier, supplier_npi = self.facilities["dme"]

        def dme_item(sequence: int, code: str, quantity: int, share: PartB, charge: int) -> tuple[dict, list[dict]]:
            item = {"extension": [identifier_extension("suplrnum", supplier_npi),
                                  {"url": variable("dmerc_line_mtus_cnt"), "valueQuantity": {"value": float(quantity)}},
                                  coded_extension("dmerc_line_prcng_state_cd", STATE),
                                  coded_extension("line_prcsg_ind_cd", "A", "Allowed"),
                                  coded_extension("line_service_deductible", "0", "Service Subject to Deductible")],
                    "sequence": sequence, "careTeamSequence": [2], "diagnosisSequence": [1],
                    "category": cms_concept("line_cms_type_srvc_cd", service_type, DME_SERVICE_TYPES[service_type]),
                    "productOrService": hcpcs(code),
                    "servicedPeriod": {"start": day.isoformat(), "end": day.isoformat()},
                    "locationCodeableConcept": {"extension": [coded_extension("prvdr_state_cd", STATE)],
                                                "coding": [cms_coding("line_place_of_srvc_cd", "12", "Home")]},
                    "quantity": {"value": float(quantity)}}
            return item, [amount("paidtoprovider", "rev_cntr_prvdr_pmt_amt", share.paid),
                          amount("eligible", "line_prmry_alowd_chrg_amt", 0),
                          amount("submitted", "line_dme_prchs_price_amt", charge if service_type == "P" else 0)]

        items, sums = self._part_b_lines([(code, quantity)], day, rng.uniform(0.5, 0.8), dme_item)
        team = self._care_team([(beneficiary.pcp, "referring")])
        team.append({"extension": [coded_extension("prtcptng_ind_cd", "1", "Participating")], "sequence": 2,
                     "provider": npi_party(supplier_npi, supplier), "responsible": True,
                     "role": concept(CARE_TEAM_ROLE, "performing", ROLES["performing"]),
                     "qualification": cms_concept("prvdr_spclty", "A5", "Pharmacy (DMERC)")})
        fields = {
            "extension": [identifier_extension("carr_num", "17013"),
                          identifier_extension("carr_clm_cntl_num", str(rng.randrange(10**13, 10**14))),
                          coded_extension("carr_clm_pmt_dnl_cd", "1", "Physician/supplier"),
                          coded_extension("asgmntcd", "A", "Assigned claim")],
            "provider": {"identifier": {"system": NPI_SYSTEM, "value": supplier_npi}, "display": supplier},
            "referral": {"identifier": npi_identifier(self.plan.providers[beneficiary.pcp].npi)},
            "disposition": "01",
            "careTeam": team,
            "diagnosis": diagnoses(reasons, "secondary"),
            "item": items,
        } | self._carrier_claim_money(sums)
        return self._claim("dme", number, day, day, fields)

    # Outpatient (Part B institutional) ----------------------------------------------------------------------

    def _outpatient(self, number: int, day: date) -> dict:
        rng, plan, beneficiary = self.rng, self.plan, self.beneficiary
        key = rng.choice(list(OUTPATIENT_VISITS))
        principal, _, attending, _, specs = OUTPATIENT_VISITS[key]
        hospital = plan.providers["hosp2" if key.startswith("er") else beneficiary.hospital]
        share_of_charges = rng.uniform(0.3, 0.5)
        items, sums = [], dict.fromkeys(("charge", "deductible", "coinsurance", "paid"), 0)
        for sequence, (revenue_code, code, units, rule) in enumerate(specs, 1):
            rate = unit_price(rng, code, None)
            charge = rate * units
            share = beneficiary.costs.part_b(day.year, round(charge * share_of_charges), rule != "preventive")
            sums["charge"] += charge
            sums["deductible"] += share.deductible
            sums["coinsurance"] += share.coinsurance
            sums["paid"] += share.paid
            items.append({
                "extension": [{"url": variable("rev_cntr_unit_cnt"), "valueQuantity": {"value": units}}],
                "sequence": sequence, "careTeamSequence": [1], "revenue": revenue(revenue_code),
                "productOrService": hcpcs(code), "servicedDate": day.isoformat(), "locationAddress": {"state": STATE},
                "quantity": {"value": units},
                "adjudication": [amount("submitted", "rev_cntr_rate_amt", rate),
                                 amount("submitted", "rev_cntr_tot_chrg_amt", charge),
                                 amount("noncovered", "rev_cntr_ncvrd_chrg_amt", 0),
                                 amount("deductible", "rev_cntr_blood_ddctbl_amt", 0),
                                 amount("deductible", "rev_cntr_cash_ddctbl_amt", share.deductible),
                                 amount("coinsurance", "rev_cntr_coinsrnc_wge_adjstd_c", share.coinsurance),
                                 amount("coinsurance", "rev_cntr_rdcd_coinsrnc_amt", 0),
                                 amount("priorpayerpaid", "rev_cntr_1st_msp_pd_amt", 0),
                                 amount("priorpayerpaid", "rev_cntr_2nd_msp_pd_amt", 0),
                                 amount("paidtoprovider", "rev_cntr_prvdr_pmt_amt", share.paid),
                                 amount("paidtopatient", "rev_cntr_bene_pmt_amt", 0),
                                 amount("paidbypatient", "rev_cntr_ptnt_rspnsblty_pmt",
                                        share.deductible + share.coinsurance),
                                 amount("submitted", "rev_cntr_pmt_amt_amt", share.paid)],
            })
        fields = self._institutional(hospital.name, hospital.npi, ("1", "Hospital"), "3") | {
            "careTeam": self._care_team([(attending, "attending")]),
            "supportingInfo": [
                information("clm_mco_pd_sw", code=cms_concept("clm_mco_pd_sw", "0", "No managed care organization (MCO) payment")),
                information("", ("typeofbill", "Type of Bill"), code=cms_concept("clm_freq_cd", "1", "Admit thru discharge claim")),
                information("", ("discharge-status", "Discharge Status"),
                            code=cms_concept("ptnt_dschrg_stus_cd", "01", "Discharged to home/self-care (routine charge).")),
            ],
            "diagnosis": diagnoses([principal] + self._chronic()[:2], "other"),
            "item": facility_lines(items, len(items) + 1, sums["charge"]),
            "total": [amount("submitted", "clm_tot_chrg_amt", sums["charge"])],
            "payment": {"amount": money(sums["paid"])},
            "benefitBalance": benefit_balance([financial("nch_profnl_cmpnt_chrg_amt", 0),
                                               financial("nch_bene_ptb_ddctbl_amt", sums["deductible"]),
                                               financial("nch_bene_ptb_coinsrnc_amt", sums["coinsurance"]),
                                               financial("clm_op_prvdr_pmt_amt", sums["paid"]),
                                               financial("clm_op_bene_pmt_amt", 0),
                                               financial("nch_bene_blood_ddctbl_lblty_am", 0),
                                               financial("prpayamt", 0)]),
        }
        return self._with_final_bill(self._claim("outpatient", number, day, day, fields))

    def _with_final_bill(self, claim: dict) -> dict:
        """Institutional claims mark their billable period a final bill (claim_query_cd 3)."""
        claim["billablePeriod"] = FINAL_BILL | claim["billablePeriod"]
        return claim

    # Part A stays (inpatient, SNF) ----------------------------------------------------------------------------

    def _stay_lines(self, specs: list[tuple[str, str | None, int]], day: date) -> tuple[list[dict], int]:
        """Revenue-center lines of a stay (rate, charge, nothing non-covered), then the 0001 total line."""
        items, total = [], 0
        for sequence, (revenue_code, code, units) in enumerate(specs, 1):
            rate = unit_price(self.rng, code or "not-applicable", revenue_code)
            total += rate * units
            items.append({"sequence": sequence, "revenue": revenue(revenue_code), "productOrService": hcpcs(code),
                          "servicedDate": day.isoformat(), "locationAddress": {"state": STATE},
                          "quantity": {"value": units},
                          "adjudication": [amount("submitted", "rev_cntr_rate_amt", rate),
                                           amount("submitted", "rev_cntr_tot_chrg_amt", rate * units),
                                           amount("noncovered", "rev_cntr_ncvrd_chrg_amt", 0)]})
        return facility_lines(items, len(items) + 1, total), total

    def _stay_supporting(self, admission: date, discharge: date, admission_type: str, origin: str) -> list[dict]:
        period = {"start": admission.isoformat(), "end": discharge.isoformat()}
        return [
            information("nch_ptnt_stus_ind_cd", code=cms_concept("nch_ptnt_stus_ind_cd", "A", "Discharged")),
            information("", ("admissionperiod", "Admission Period"), timingPeriod=period),
            information("clm_ip_admsn_type_cd", code=cms_concept("clm_ip_admsn_type_cd", admission_type)),
            information("clm_src_ip_admsn_cd", code=cms_concept("clm_src_ip_admsn_cd", origin)),
            information("", ("typeofbill", "Type of Bill"), code=cms_concept("clm_freq_cd", "1", "Admit thru discharge claim")),
            information("", ("discharge-status", "Discharge Status"),
                        code=cms_concept("ptnt_dschrg_stus_cd", "01", "Discharged to home/self-care (routine charge).")),
        ]

    def _part_a_balance(self, deductible: int, coinsurance: int, days: int, coinsurance_days: int) -> list[dict]:
        """So that a Part A stay's benefitBalance is filed as BFD files it.

        A Part A stay's benefitBalance: its deductible and coinsurance (their sum is what the beneficiary owes,
        nch_ip_tot_ddctn_amt), no non-covered charges, and the days it used."""
        return benefit_balance([
            financial("clm_pass_thru_per_diem_amt", 0), financial("nch_profnl_cmpnt_chrg_amt", 0),
            financial("clm_tot_pps_cptl_amt", 0), financial("bene_tot_coinsrnc_days_cnt", count=coinsurance_days),
            financial("clm_non_utlztn_days_cnt", count=0), financial("nch_bene_ip_ddctbl_amt", deductible),
            financial("nch_bene_pta_coinsrnc_lblty_amt", coinsurance), financial("nch_ip_ncvrd_chrg_amt", 0),
            financial("nch_ip_tot_ddctn_amt", deductible + coinsurance), financial("nch_drg_outlier_aprvd_pmt_amt", 0),
            financial("nch_bene_blood_ddctbl_lblty_am", 0), financial("prpayamt", 0),
            financial("clm_utlztn_day_cnt", count=days), financial("bene_lrd_used_cnt", count=0)])

    def _inpatient(self, number: int, day: date) -> dict:
        rng, plan, beneficiary = self.rng, self.plan, self.beneficiary
        age = beneficiary.age_on(day)
        key = rng.choice([key for key, stay in INPATIENT_STAYS.items()
                          if age >= stay[7] and at_risk(key, age, beneficiary.conditions)])
        principal, pcs, drg, (shortest, longest), admission_type, origin, attending, _, specs = INPATIENT_STAYS[key]
        attending = beneficiary.hospital.replace("hosp", "hospitalist") if attending == "hospitalist" else attending
        days = rng.randint(shortest, longest)
        discharge = day + timedelta(days=days)
        hospital = plan.providers[beneficiary.hospital]
        items, charges = self._stay_lines([(revenue_code, code, days if units == "days" else units)
                                           for revenue_code, code, units in specs], day)
        drg_payment = round(charges * rng.uniform(0.3, 0.5))
        deductible = min(beneficiary.costs.inpatient(day, discharge), drg_payment)
        team = [(attending, "attending")] + ([(attending, "operating")] if pcs else [])
        info = self._stay_supporting(day, discharge, admission_type, origin)
        info.insert(4, information("clm_drg_cd", code=cms_concept("clm_drg_cd", drg[0])))
        fields = self._institutional(hospital.name, hospital.npi, ("1", "Hospital"), "1") | {
            "subType": {"coding": [coding(CARIN + "/CodeSystem/C4BBInstitutionalClaimSubType", "inpatient")],
                        "text": "Inpatient"},
            "careTeam": self._care_team(team),
            "supportingInfo": info,
            "diagnosis": diagnoses([principal] + [d for d in self._chronic() if d != principal][:3], "other",
                                   on_admission=True),
            "item": items,
            "total": [amount("submitted", "clm_tot_chrg_amt", charges)],
            "payment": {"amount": money(drg_payment - deductible)},
            "benefitBalance": self._part_a_balance(deductible, 0, days, 0),
        }
        fields["extension"].insert(0, coded_extension("fi_clm_actn_cd", "1", "Original debit action (always a 1 for "
                                                                             "all regular bills)"))
        if pcs:
            when = day if admission_type == "3" else day + timedelta(days=1 if days > 1 else 0)
            fields["procedure"] = [{"sequence": 1, "date": f"{when.isoformat()}T00:00:00+00:00",
                                    "procedureCodeableConcept": {"coding": [coding(ICD10PCS, *pcs), coding(ICD10, *pcs)]}}]
        return self._with_final_bill(self._claim("inpatient", number, day, discharge, fields))

    def _snf(self, number: int, day: date) -> dict:
        rng, beneficiary = self.rng, self.beneficiary
        days = rng.randint(7, 40)
        discharge = day + timedelta(days=days)
        name, npi = self.facilities["snf"]
        items, charges = self._stay_lines([("0120", None, days), ("0420", "97110", rng.randint(8, 20)),
                                           ("0250", None, 1)], day)
        coinsurance_days, coinsurance = beneficiary.costs.snf(day, discharge)
        payment = rng.randint(550, 750) * 100 * days
        coinsurance = min(coinsurance, payment)
        reason = (("Z47.1", "Aftercare following joint replacement surgery") if "oa_knee" in beneficiary.conditions
                  else ("Z51.89", "Encounter for other specified aftercare"))
        fields = self._institutional(name, npi, ("2", "Skilled nursing facility (SNF)"), "1") | {
            "careTeam": self._care_team([(beneficiary.pcp, "attending")]),
            "supportingInfo": self._stay_supporting(day, discharge, "3", "1"),
            "diagnosis": diagnoses([reason] + self._chronic()[:3], "other", on_admission=True),
            "item": items,
            "total": [amount("submitted", "clm_tot_chrg_amt", charges)],
            "payment": {"amount": money(payment - coinsurance)},
            "benefitBalance": self._part_a_balance(0, coinsurance, days, coinsurance_days),
        }
        return self._with_final_bill(self._claim("snf", number, day, discharge, fields))

    # Home health and hospice (no cost sharing) --------------------------------------------------------------

    def _paid_lines(self, specs: list[tuple[str, str, int]], day: date, payment_share: float,
                    provider_payment: bool) -> tuple[list[dict], int, int]:
        """So that Medicare's payment of an institutional claim is spread over its lines as BFD does.

        Revenue-center lines whose charges Medicare pays `payment_share` of (a prospective payment, spread over
        the lines by charge, the last taking the cents left), then the 0001 total line; hospice lines state the
        provider payment too, as BFD's do. Returns the lines, the charges and the payment."""
        priced = []
        for revenue_code, code, units in specs:
            rate = unit_price(self.rng, code, None)
            priced.append((revenue_code, code, units, rate, rate * units))
        total = sum(charge for *_, charge in priced)
        payment = round(total * payment_share)
        items, left = [], payment
        for sequence, (revenue_code, code, units, rate, charge) in enumerate(priced, 1):
            paid = left if sequence == len(priced) else payment * charge // total
            left -= paid
            adjudication = [amount("submitted", "rev_cntr_rate_amt", rate),
                            amount("submitted", "rev_cntr_tot_chrg_amt", charge),
                            amount("noncovered", "rev_cntr_ncvrd_chrg_amt", 0)]
            if provider_payment:
                adjudication += [amount("paidtoprovider", "rev_cntr_prvdr_pmt_amt", paid),
                                 amount("paidtopatient", "rev_cntr_bene_pmt_amt", 0)]
            items.append({"sequence": sequence, "careTeamSequence": [1], "revenue": revenue(revenue_code),
                          "productOrService": hcpcs(code), "servicedDate": day.isoformat(),
                          "locationAddress": {"state": STATE}, "quantity": {"value": units},
                          "adjudication": adjudication + [amount("submitted", "rev_cntr_pmt_amt_amt", paid)]})
        return facility_lines(items, len(items) + 1, total), total, payment

    def _hha(self, number: int, day: date) -> dict:
        rng, beneficiary = self.rng, self.beneficiary
        end = day + timedelta(days=29)
        nursing, therapy = rng.randint(4, 8), rng.randint(2, 6)
        name, npi = self.facilities["hha"]
        items, charges, payment = self._paid_lines([("0551", "G0299", nursing * 4), ("0421", "G0151", therapy * 4)],
                                                   day, rng.uniform(0.6, 0.9), False)
        reason = self._chronic()[:1] or [("R26.89", "Other abnormalities of gait and mobility")]
        fields = self._institutional(name, npi, ("3", "Home Health Agency (HHA)"), "2") | {
            "careTeam": self._care_team([(beneficiary.pcp, "attending")]),
            "supportingInfo": [
                information("", ("typeofbill", "Type of Bill"), code=cms_concept("clm_freq_cd", "1", "Admit thru discharge claim")),
                information("", ("discharge-status", "Discharge Status"),
                            code=cms_concept("ptnt_dschrg_stus_cd", "01", "Discharged to home/self-care (routine charge).")),
                information("clm_hha_rfrl_cd", code=cms_concept("clm_hha_rfrl_cd", "1", "Physician referral - The patient "
                                                                "was admitted upon the recommendation of a personal physician.")),
                information("clm_hha_tot_visit_cnt", valueQuantity={"value": nursing + therapy}),
                information("", ("admissionperiod", "Admission Period"), timingPeriod={"start": day.isoformat()}),
            ],
            "diagnosis": diagnoses(reason + self._chronic()[1:3], "secondary"),
            "item": items,
            "total": [amount("submitted", "clm_tot_chrg_amt", charges)],
            "payment": {"amount": money(payment)},
            "benefitBalance": benefit_balance([financial("prpayamt", 0)]),
        }
        return self._with_final_bill(self._claim("hha", number, day, end, fields))

    def _hospice(self, number: int, day: date) -> dict:
        rng, beneficiary = self.rng, self.beneficiary
        days = rng.randint(14, 30)
        end = day + timedelta(days=days)
        name, npi = self.facilities["hospice"]
        items, charges, payment = self._paid_lines([("0651", "Q5001", days)], day, rng.uniform(0.75, 0.95), True)
        fields = self._institutional(name, npi, ("8", "Ambulatory Surgery Center (ASC) or other special facility "
                                                      "(e.g. hospice)"), "1") | {
            "careTeam": self._care_team([(beneficiary.pcp, "attending")]),
            "supportingInfo": [
                information("nch_ptnt_stus_ind_cd", code=cms_concept("nch_ptnt_stus_ind_cd", "C", "Still a patient")),
                information("", ("admissionperiod", "Admission Period"),
                            timingPeriod={"start": day.isoformat(), "end": end.isoformat()}),
                information("", ("typeofbill", "Type of Bill"), code=cms_concept("clm_freq_cd", "1", "Admit thru discharge claim")),
            ],
            "diagnosis": diagnoses([rng.choice(HOSPICE_DIAGNOSES)] + self._chronic()[:2], "other"),
            "item": items,
            "total": [amount("submitted", "clm_tot_chrg_amt", charges)],
            "payment": {"amount": money(payment)},
            "benefitBalance": benefit_balance([financial("clm_utlztn_day_cnt", count=days), financial("prpayamt", 0)]),
        }
        return self._with_final_bill(self._claim("hospice", number, day, end, fields))

    # Part D drug events ------------------------------------------------------------------------------------------

    def _pde(self, number: int, day: date) -> dict:
        rng, plan, beneficiary = self.rng, self.plan, self.beneficiary
        maintenance = [drug for key in beneficiary.conditions for drug in CONDITIONS[key][4]]
        drug = rng.choice(maintenance or ["amoxicillin", "cetirizine"])
        _, display, ndc, generic, quantity, _, (low, high) = DRUGS[drug]
        fills = 3 if maintenance and rng.random() < 0.3 else 1
        cost = rng.randint(low * 100, high * 100) * fills
        patient_pays, plan_pays = part_d(cost, generic)
        pharmacy = plan.providers[beneficiary.pharmacy]
        prescriber = beneficiary.pcp
        contract, package = beneficiary.part_d_plan
        carin = CARIN + "/CodeSystem/C4BBSupportingInfoType"
        fields = {
            "identifier": [{"type": {"coding": [coding(CARIN_IDENTIFIER_TYPE, "uc", "Unique Claim ID")]},
                            "system": variable("rx_srvc_rfrnc_num"), "value": str(rng.randrange(10**5, 10**6))}],
            "provider": {"identifier": {"system": variable("prvdr_num"), "value": pharmacy.npi}, "display": pharmacy.name},
            "facility": {"extension": [coded_extension("phrmcy_srvc_type_cd", "01", "Community/retail pharmacy")],
                         "identifier": {"type": {"coding": [coding(CARIN_IDENTIFIER_TYPE, "npi")]}, "value": pharmacy.npi}},
            "careTeam": self._care_team([(prescriber, "prescribing")]),
            "supportingInfo": [
                {"category": {"coding": [coding(carin, "compoundcode", "Compound Code")]},
                 "code": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "RXDINV", "Rx dispense invoice")},
                {"category": {"coding": [coding(carin, "refillnum", "Refill Number")]},
                 "valueQuantity": {"value": rng.randint(0, 5)}},
                {"category": {"coding": [coding(carin, "dayssupply", "Days Supply")]}, "valueQuantity": {"value": 30 * fills}},
                information("drug_cvrg_stus_cd", code=cms_concept("drug_cvrg_stus_cd", "C", "Covered")),
                information("daw_prod_slctn_cd", code=cms_concept("daw_prod_slctn_cd", "0", "No Product Selection "
                                                                  "Indicated (may also have missing values)")),
                {"category": {"coding": [coding(carin, "rxorigincode", "Rx Origin Code")]},
                 "code": cms_concept("rx_orgn_cd", "3", "Electronic")},
                {"category": {"coding": [coding(carin, "brandgenericcode", "Brand Generic Code")]},
                 "code": cms_concept("brnd_gnrc_cd", *(("G", "Generic") if generic else ("B", "Brand")))},
                information("ptnt_rsdnc_cd", code=cms_concept("ptnt_rsdnc_cd", "01", "Home")),
            ],
            "coverage": {"extension": [identifier_extension("plan_cntrct_rec_id", contract),
                                       identifier_extension("plan_pbp_rec_num", package)]},
            "item": [{"sequence": 1, "careTeamSequence": [1],
                      "productOrService": {"coding": [coding(NDC, ndc.replace("-", ""), display)]},
                      "servicedDate": day.isoformat(), "quantity": {"value": float(quantity * fills)},
                      "adjudication": [amount("benefit", "cvrd_d_plan_pd_amt", plan_pays),
                                       amount("coinsurance", "gdc_blw_oopt_amt", cost),
                                       amount("coinsurance", "gdc_abv_oopt_amt", 0),
                                       amount("paidbypatient", "ptnt_pay_amt", patient_pays),
                                       amount("priorpayerpaid", "othr_troop_amt", 0),
                                       amount("discount", "lics_amt", 0),
                                       amount("priorpayerpaid", "plro_amt", 0),
                                       amount("drugcost", "tot_rx_cst_amt", cost),
                                       amount("discount", "rptd_gap_dscnt_num", 0)]}],
            "total": [{"category": {"coding": [coding(C4BB_ADJUDICATION_CS, "drugcost", "Drug Cost")]},
                       "amount": money(cost)},
                      {"category": {"coding": [coding(CARIN + "/CodeSystem/C4BBPayerAdjudicationStatus", "other", "Other")]},
                       "amount": {"value": 0, "currency": "USD"}}],
        }
        paid = day + timedelta(days=rng.randint(14, 30))
        fields["payment"] = {"date": paid.isoformat()}
        return self._claim("pde", number, day, day, fields, paid)
