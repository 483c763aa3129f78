"""Deterministic synthetic health-plan data: the plan folders the mock payer serves (issue 3, "The generator").

A plan folder is `plan.json` (clients, token and paging settings, who can log in), `data/` (each member's
CARIN Blue Button 2.0.0 claims with their Patient, Coverage, providers and, with `clinical`, US Core 6.1.0
records) and `directory/` (the public Da Vinci Plan-Net 1.1.0 directory and US Drug Formulary 2.0.1). With
`days` > 1 it also holds later days of the records as mockpayer/scenarios.py reads them: `days/<n>/data/`
(each member's new and changed claims that day) and `days/<n>/removed.json` (the claims gone that day).

Why it is built this way:
- Same seed, same bytes. Every choice comes from a `random.Random` seeded with a string made of the seed
  and what is being made (the provider roster, member n), never from the global generator or the clock;
  "today" is REFERENCE_TODAY. A member depends only on the seed and its number, so adding members never
  changes the ones already written, and any member can be rebuilt alone.
- Any size in bounded memory: members are written one at a time, each resource as soon as it is made.
- The loader must cope with every file shape a plan folder may hold, so the output mixes them: single
  resources, a `searchset` Bundle (the provider roster), one `collection` Bundle per member and a
  `transaction` Bundle with `urn:uuid` references (the formulary).
- Byte layout: Bundles hold one entry per line (compact, streamable, readable in a diff); the small files
  (plan.json, single resources) are indented by two spaces. Every dateTime with a time has an offset.
- Money adds up: per line and per claim, benefit + member liability = eligible (allowed) <= submitted,
  and member liability = deductible + copay + coinsurance, tracked per member and calendar year against
  the plan's deductible and out-of-pocket maximum. On later days too: a removed claim is the last one its
  year processed (so no remaining claim's cost share leaned on it), a changed claim keeps its amounts, and
  new claims continue the year's deductible and out-of-pocket totals of the claims still there.

Codes are real code-system codes (ICD-10-CM/PCS, CPT, HCPCS, CDT, NUBC, MS-DRG, LOINC, SNOMED CT, RxNorm,
CVX, NUCC, NCPDP) except the NDC package codes: they are illustrative (labeler 99999) and travel with the
drug's real RxNorm code. NPIs are invented but carry a valid check digit.

The bundled plans are made with these commands (run from the repository root; `mockpayer generate` and
`python -m mockpayer.generate` take the same options), and tests/test_generate.py checks that the
committed folders equal their output:

    mockpayer generate --out fixtures/plans/demoplan --settings-from fixtures/plans/demoplan/plan.json \\
        --system-id demoplan --name "Demo Health Plan" --base-url 1updemohealthplan.com --mode 1up \\
        --members 3 --claims-per-member 20 --clinical --seed 1 --days 3
    mockpayer generate --out fixtures/plans/smartplan --settings-from fixtures/plans/smartplan/plan.json \\
        --system-id smartplan --name "Strict SMART Health Plan" --base-url smarthealthplan.example \\
        --mode smart --members 2 --claims-per-member 10 --seed 2
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import orjson

REFERENCE_TODAY = date(2026, 6, 30)
OFFSET = timezone(timedelta(hours=-5))
SYSTEM_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")

DEFAULT_TOKENS = {"code_lifetime": 300, "access_token_lifetime": 3600, "refresh_token_lifetime": 7776000, "refresh": True}
DEFAULT_PAGING = {"default_count": 10, "max_count": 100}
DEFAULT_CLIENTS = [
    {
        "client_id": "demo-confidential-app",
        "client_secret": "mock-secret-not-for-production",
        "name": "Demo Confidential App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback", "https://app.example.org/callback"],
    },
    {
        "client_id": "demo-public-app",
        "client_secret": None,
        "name": "Demo Public App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
    },
]
# plan.json keys the generator always writes from its own arguments; `settings_from` supplies the rest.
GENERATED_PLAN_KEYS = ("system_id", "name", "base_url", "mode")
LOGIN_KEYS = ("username", "password", "name", "mfa")

# --- code systems ----------------------------------------------------------------------------------------

CARIN = "http://hl7.org/fhir/us/carin-bb"
CARIN_PROFILE = CARIN + "/StructureDefinition/{}|2.0.0"
US_CORE_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/{}"
PLAN_NET_PROFILE = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/{}"
PLAN_NET_CS = "http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/{}"
USDF = "http://hl7.org/fhir/us/davinci-drug-formulary"
ADJUDICATION_CS = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION_CS = CARIN + "/CodeSystem/C4BBAdjudication"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
CDT = "http://www.ada.org/cdt"
NDC = "http://hl7.org/fhir/sid/ndc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CVX = "http://hl7.org/fhir/sid/cvx"
NUCC = "http://nucc.org/provider-taxonomy"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
REVENUE_CS = "https://www.nubc.org/CodeSystem/RevenueCodes"
MS_DRG = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, "display": display} if display else {"system": system, "code": code}


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    result = {"coding": [coding(system, code, display)]}
    if text:
        result["text"] = text
    return result


def money(cents: int) -> dict:
    return {"value": cents / 100, "currency": "USD"}


def instant(day: date, rng: random.Random, first_hour: int = 7, last_hour: int = 18) -> str:
    """An instant on `day` during working hours, always with its UTC offset (strict clients refuse none)."""
    moment = time(rng.randint(first_hour, last_hour), rng.randrange(60), rng.randrange(60))
    return datetime.combine(day, moment, OFFSET).isoformat()


def later(moment: str, minutes: int) -> str:
    return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat()


# Adjudication amount categories, in the order every line and total lists them (CARIN BB 2.0.0 examples).
AMOUNT_CATEGORIES = (
    ("submitted", ADJUDICATION_CS, "Submitted Amount"),
    ("eligible", ADJUDICATION_CS, "Eligible Amount"),
    ("discount", C4BB_ADJUDICATION_CS, "Discount"),
    ("deductible", ADJUDICATION_CS, "Deductible"),
    ("copay", ADJUDICATION_CS, "CoPay"),
    ("coinsurance", C4BB_ADJUDICATION_CS, "Co-insurance"),
    ("memberliability", C4BB_ADJUDICATION_CS, "Member liability"),
    ("benefit", ADJUDICATION_CS, "Benefit Amount"),
    ("paidtoprovider", C4BB_ADJUDICATION_CS, "Paid to provider"),
)
AMOUNT_CONCEPTS = {code: concept(system, code, display) for code, system, display in AMOUNT_CATEGORIES}
IN_NETWORK = concept(CARIN + "/CodeSystem/C4BBPayerAdjudicationStatus", "innetwork", "In Network")


def status_adjudication(category: str) -> dict:
    return {"category": concept(CARIN + "/CodeSystem/C4BBAdjudicationDiscriminator", category), "reason": IN_NETWORK}


def amount_adjudications(amounts: dict[str, int]) -> list[dict]:
    """Adjudication (or total) entries for every amount category; the same shape serves EOB.total."""
    return [{"category": AMOUNT_CONCEPTS[code], "amount": money(amounts[code])} for code, _, _ in AMOUNT_CATEGORIES]


def add_amounts(total: dict[str, int], amounts: dict[str, int]) -> None:
    for code, value in amounts.items():
        total[code] = total.get(code, 0) + value


# --- reference tables ------------------------------------------------------------------------------------

FEMALE_NAMES = ("Ana", "Chloe", "Dana", "Maria", "Emily", "Priya", "Grace", "Sofia", "Aisha", "Hannah", "Olivia",
                "Mei", "Fatima", "Laura", "Rosa", "Keisha", "Yuki", "Elena", "Nora", "Zoë", "Ines", "Leah")
MALE_NAMES = ("Ben", "Eli", "James", "Carlos", "David", "Omar", "Kenji", "Marcus", "Noah", "Raj", "Samuel", "Luis",
              "Andre", "Tom", "Viktor", "Wei", "Jamal", "Lucas", "Ethan", "Hiro", "José", "Felix")
FAMILY_NAMES = ("Rivera", "Okafor", "Nguyen", "Smith", "Park", "Johnson", "Garcia", "Patel", "Kim", "Chen",
                "Williams", "Brown", "Martinez", "Lee", "Hernandez", "Davis", "Lopez", "Wilson", "Anderson",
                "Thomas", "Jackson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
                "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Ramirez", "Campbell",
                "Mitchell", "Roberts", "Carter", "Evans", "Turner", "Torres", "Parker", "Collins", "Edwards",
                "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Reed", "Bailey", "Bell",
                "Gomez", "Kelly", "Howard", "Ward", "Diaz", "Wood", "Brooks", "Bennett", "Gray", "Reyes", "Cruz",
                "Hughes", "Price", "Foster", "Sanders", "Ross", "Morales", "Sullivan", "Ortiz", "Jenkins",
                "Barnes", "Fisher", "Coleman", "Jordan", "Graham", "Wallace", "Ali", "Singh", "Kowalski", "Novak",
                "Nuñez", "Müller", "O'Brien", "Haddad", "Ivanova", "Tanaka", "Mensah", "Yilmaz")
STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "High St", "Park Ave", "Lakeview Rd", "Broad St",
           "Church St", "Mill Rd", "River Rd", "Spring St", "Hillcrest Dr", "Meadow Ln", "Forest Ave", "Ridge Rd")
CITIES = (("Columbus", "43215"), ("Dublin", "43017"), ("Westerville", "43081"), ("Worthington", "43085"),
          ("Grove City", "43123"), ("Hilliard", "43026"), ("Delaware", "43015"), ("Newark", "43055"),
          ("Lancaster", "43130"), ("Marysville", "43040"))
STATE = "OH"

# Provider roster shared by every member: key, name, kind, NUCC taxonomy (code, display).
ORGANIZATIONS = (
    ("hosp1", "Riverside General Hospital", "hospital", ("282N00000X", "General Acute Care Hospital")),
    ("hosp2", "St. Brigid Medical Center", "hospital", ("282N00000X", "General Acute Care Hospital")),
    ("clinic-fm", "Northside Family Medicine", "clinic", ("261QP2300X", "Primary Care Clinic/Center")),
    ("clinic-peds", "Little Oaks Pediatrics", "clinic", ("261QP2300X", "Primary Care Clinic/Center")),
    ("clinic-cardio", "Cedar Heart & Vascular", "clinic", ("261QM1300X", "Multi-Specialty Clinic/Center")),
    ("clinic-ortho", "Summit Orthopedics", "clinic", ("261QM1300X", "Multi-Specialty Clinic/Center")),
    ("clinic-bh", "Harbor Behavioral Health", "clinic", ("261QM0801X", "Mental Health Clinic/Center")),
    ("rx1", "Corner Drug #112", "pharmacy", ("3336C0003X", "Community/Retail Pharmacy")),
    ("rx2", "MainStreet Pharmacy", "pharmacy", ("3336C0003X", "Community/Retail Pharmacy")),
    ("rx-mail", "Mailbox Rx", "pharmacy", ("3336M0002X", "Mail Order Pharmacy")),
    ("dental1", "Bright Smile Dental", "dental", ("261QD0000X", "Dental Clinic/Center")),
    ("dental2", "Maple Dental Group", "dental", ("261QD0000X", "Dental Clinic/Center")),
)
# key, NUCC taxonomy (code, display), organization key, credential suffix.
PRACTITIONERS = (
    ("pcp1", ("207Q00000X", "Family Medicine Physician"), "clinic-fm", "MD"),
    ("pcp2", ("207Q00000X", "Family Medicine Physician"), "clinic-fm", "DO"),
    ("pcp3", ("207R00000X", "Internal Medicine Physician"), "clinic-fm", "MD"),
    ("peds1", ("208000000X", "Pediatrics Physician"), "clinic-peds", "MD"),
    ("cardio1", ("207RC0000X", "Cardiovascular Disease Physician"), "clinic-cardio", "MD"),
    ("ortho1", ("207X00000X", "Orthopaedic Surgery Physician"), "clinic-ortho", "MD"),
    ("surg1", ("208600000X", "Surgery Physician"), "hosp1", "MD"),
    ("hospitalist1", ("208M00000X", "Hospitalist Physician"), "hosp1", "MD"),
    ("hospitalist2", ("208M00000X", "Hospitalist Physician"), "hosp2", "MD"),
    ("er1", ("207P00000X", "Emergency Medicine Physician"), "hosp2", "MD"),
    ("radiology1", ("2085R0202X", "Diagnostic Radiology Physician"), "hosp1", "MD"),
    ("counselor1", ("101YP2500X", "Professional Counselor"), "clinic-bh", "LPC"),
    ("pt1", ("225100000X", "Physical Therapist"), "clinic-ortho", "PT"),
    ("dds1", ("1223G0001X", "General Practice Dentist"), "dental1", "DDS"),
    ("dds2", ("1223G0001X", "General Practice Dentist"), "dental2", "DMD"),
)
PHYSICIAN_TAXONOMY_PREFIXES = ("207", "208")

# Long-term conditions: key -> ICD-10-CM, SNOMED CT, youngest age, prevalence, maintenance drugs, labs.
CONDITIONS = {
    "htn": (("I10", "Essential (primary) hypertension"), ("38341003", "Hypertensive disorder, systemic arterial (disorder)"),
            30, 0.30, ("lisinopril", "amlodipine"), ("80053",)),
    "t2d": (("E11.9", "Type 2 diabetes mellitus without complications"), ("44054006", "Diabetes mellitus type 2 (disorder)"),
            30, 0.12, ("metformin",), ("83036", "80053")),
    "hld": (("E78.5", "Hyperlipidemia, unspecified"), ("55822004", "Hyperlipidemia (disorder)"),
            30, 0.25, ("simvastatin",), ("80061",)),
    "asthma": (("J45.909", "Unspecified asthma, uncomplicated"), ("195967001", "Asthma (disorder)"),
               2, 0.10, ("albuterol", "fluticasone"), ()),
    "depression": (("F32.A", "Depression, unspecified"), ("35489007", "Depressive disorder (disorder)"),
                   14, 0.10, ("sertraline",), ()),
    "oa_knee": (("M17.11", "Unilateral primary osteoarthritis, right knee"), ("239873007", "Osteoarthritis of knee (disorder)"),
                45, 0.12, (), ()),
}
# Short illnesses for sick visits: ICD-10-CM, extra lines beyond the office visit, antibiotic or none.
ACUTE_PROBLEMS = (
    (("J06.9", "Acute upper respiratory infection, unspecified"), (), None),
    (("J02.9", "Acute pharyngitis, unspecified"), ("87880",), "amoxicillin"),
    (("N39.0", "Urinary tract infection, site not specified"), ("81003",), "nitrofurantoin"),
    (("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"), ("73610",), None),
    (("M54.50", "Low back pain, unspecified"), (), None),
)
ANTIBIOTIC_FOR = {problem: drug for problem, _, drug in ACUTE_PROBLEMS if drug}

# Billable services: code -> (system, display, lowest and highest charge in dollars).
SERVICES = {
    "99203": (CPT, "Office or other outpatient visit, new patient, low level of medical decision making", 170, 240),
    "99204": (CPT, "Office or other outpatient visit, new patient, moderate level of medical decision making", 260, 360),
    "99213": (CPT, "Office or other outpatient visit, established patient, low level of medical decision making", 120, 190),
    "99214": (CPT, "Office or other outpatient visit, established patient, moderate level of medical decision making", 190, 280),
    "99392": (CPT, "Periodic preventive medicine reevaluation, established patient, age 1 through 4 years", 180, 250),
    "99393": (CPT, "Periodic preventive medicine reevaluation, established patient, age 5 through 11 years", 180, 250),
    "99394": (CPT, "Periodic preventive medicine reevaluation, established patient, age 12 through 17 years", 200, 270),
    "99395": (CPT, "Periodic preventive medicine reevaluation, established patient, age 18-39 years", 220, 300),
    "99396": (CPT, "Periodic preventive medicine reevaluation, established patient, age 40-64 years", 240, 320),
    "99397": (CPT, "Periodic preventive medicine reevaluation, established patient, age 65 years and older", 250, 340),
    "99284": (CPT, "Emergency department visit, moderate level of medical decision making", 600, 1400),
    "99285": (CPT, "Emergency department visit, high level of medical decision making", 1000, 2400),
    "36415": (CPT, "Collection of venous blood by venipuncture", 8, 20),
    "80053": (CPT, "Comprehensive metabolic panel", 35, 90),
    "80061": (CPT, "Lipid panel", 40, 95),
    "83036": (CPT, "Hemoglobin; glycosylated (A1C)", 30, 70),
    "85025": (CPT, "Blood count; complete (CBC), automated, with automated differential WBC count", 25, 60),
    "81003": (CPT, "Urinalysis, automated, without microscopy", 10, 30),
    "87880": (CPT, "Infectious agent antigen detection by immunoassay with direct optical observation; Streptococcus, group A", 25, 50),
    "71046": (CPT, "Radiologic examination, chest; 2 views", 90, 220),
    "73110": (CPT, "Radiologic examination, wrist; complete, minimum of 3 views", 90, 220),
    "73610": (CPT, "Radiologic examination, ankle; complete, minimum of 3 views", 90, 220),
    "73721": (CPT, "Magnetic resonance imaging, any joint of lower extremity; without contrast material", 1200, 2600),
    "93000": (CPT, "Electrocardiogram, routine ECG with at least 12 leads; with interpretation and report", 50, 130),
    "93306": (CPT, "Echocardiography, transthoracic, complete, with spectral and color flow Doppler", 900, 1800),
    "77067": (CPT, "Screening mammography, bilateral, including computer-aided detection when performed", 220, 420),
    "90471": (CPT, "Immunization administration; 1 vaccine", 20, 40),
    "90686": (CPT, "Influenza virus vaccine, quadrivalent (IIV4), split virus, preservative free, 0.5 mL, intramuscular", 25, 45),
    "90715": (CPT, "Tetanus, diphtheria toxoids and acellular pertussis vaccine (Tdap), 7 years or older, intramuscular", 45, 75),
    "97110": (CPT, "Therapeutic procedure, 1 or more areas, each 15 minutes; therapeutic exercises", 45, 95),
    "97140": (CPT, "Manual therapy techniques, 1 or more regions, each 15 minutes", 45, 95),
    "20610": (CPT, "Arthrocentesis, aspiration and/or injection, major joint or bursa; without ultrasound guidance", 150, 320),
    "90834": (CPT, "Psychotherapy, 45 minutes with patient", 120, 190),
    "96127": (CPT, "Brief emotional/behavioral assessment, with scoring and documentation, per standardized instrument", 15, 35),
    "45378": (CPT, "Colonoscopy, flexible; diagnostic", 1500, 3200),
    "29881": (CPT, "Arthroscopy, knee, surgical; with meniscectomy (medial OR lateral)", 4000, 9000),
    "27447": (CPT, "Arthroplasty, knee, condyle and plateau; medial AND lateral compartments (total knee arthroplasty)", 18000, 32000),
    "44970": (CPT, "Laparoscopy, surgical, appendectomy", 9000, 16000),
    "47562": (CPT, "Laparoscopy, surgical; cholecystectomy", 9000, 17000),
    "92928": (CPT, "Percutaneous transcatheter placement of intracoronary stent(s); single major coronary artery or branch", 14000, 26000),
    "J1030": (HCPCS, "Injection, methylprednisolone acetate, 40 mg", 10, 30),
    "J0696": (HCPCS, "Injection, ceftriaxone sodium, per 250 mg", 15, 40),
    "J2405": (HCPCS, "Injection, ondansetron hydrochloride, per 1 mg", 5, 20),
    "J2704": (HCPCS, "Injection, propofol, 10 mg", 5, 15),
    "J3010": (HCPCS, "Injection, fentanyl citrate, 0.1 mg", 10, 30),
    "C1776": (HCPCS, "Joint device (implantable)", 6000, 12000),
    "C1874": (HCPCS, "Stent, coated/covered, with delivery system", 2500, 5000),
    "D0120": (CDT, "Periodic oral evaluation - established patient", 55, 75),
    "D0150": (CDT, "Comprehensive oral evaluation - new or established patient", 80, 110),
    "D0274": (CDT, "Bitewings - four radiographic images", 60, 90),
    "D1110": (CDT, "Prophylaxis - adult", 90, 130),
    "D1120": (CDT, "Prophylaxis - child", 60, 85),
    "D1206": (CDT, "Topical application of fluoride varnish", 30, 50),
    "D2391": (CDT, "Resin-based composite - one surface, posterior", 150, 220),
    "D2740": (CDT, "Crown - porcelain/ceramic", 1100, 1500),
    "D7140": (CDT, "Extraction, erupted tooth or exposed root (elevation and/or forceps removal)", 150, 250),
    # Facility lines without a procedure code (room and board, supplies): CARIN BB 2.0.0 allows this code.
    "not-applicable": ("http://terminology.hl7.org/CodeSystem/data-absent-reason", "Not Applicable", 0, 0),
}
REVENUE_CODES = {
    "0121": "Room & board - semi-private two beds - medical/surgical/gyn",
    "0200": "Intensive care unit - general classification",
    "0250": "Pharmacy - general classification",
    "0278": "Medical/surgical supplies - other implants",
    "0300": "Laboratory - general classification",
    "0320": "Radiology - diagnostic - general classification",
    "0360": "Operating room services - general classification",
    "0370": "Anesthesia - general classification",
    "0420": "Physical therapy - general classification",
    "0450": "Emergency room - general classification",
    "0481": "Cardiology - cardiac cath lab",
    "0483": "Cardiology - echocardiology",
    "0610": "Magnetic resonance technology - general classification",
    "0636": "Pharmacy - drugs requiring detailed coding",
    "0710": "Recovery room - general classification",
    "0730": "EKG/ECG - general classification",
    "0750": "Gastrointestinal services - general classification",
}
# Per-day or per-unit charges (dollars) for facility lines without a procedure code.
FACILITY_CHARGES = {"0121": (2200, 3600), "0200": (4500, 7000), "0250": (300, 1500), "0278": (400, 1500),
                    "0370": (900, 2500), "0710": (500, 1400)}

# Drugs: key -> RxNorm, display, illustrative NDC, generic?, fill quantity and unit, charge range (dollars).
DRUGS = {
    "lisinopril": ("314076", "lisinopril 10 MG Oral Tablet", "99999-0101-30", True, 30, "TAB", (10, 25)),
    "amlodipine": ("197361", "amlodipine 5 MG Oral Tablet", "99999-0102-30", True, 30, "TAB", (10, 25)),
    "metformin": ("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "99999-0103-60", True, 60, "TAB", (12, 30)),
    "simvastatin": ("312961", "simvastatin 20 MG Oral Tablet", "99999-0104-30", True, 30, "TAB", (10, 28)),
    "albuterol": ("745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "99999-0105-01", True, 1, "EA", (35, 70)),
    "fluticasone": ("895994", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "99999-0106-01", False, 1, "EA", (180, 320)),
    "sertraline": ("312940", "sertraline 50 MG Oral Tablet", "99999-0107-30", True, 30, "TAB", (10, 30)),
    "amoxicillin": ("308182", "amoxicillin 250 MG Oral Capsule", "99999-0108-30", True, 30, "CAP", (8, 20)),
    "cetirizine": ("1014676", "cetirizine hydrochloride 5 MG Oral Tablet", "99999-0110-30", True, 30, "TAB", (8, 20)),
    "nitrofurantoin": ("311989", "nitrofurantoin 5 MG/ML Oral Suspension", "99999-0109-01", False, 1, "EA", (90, 160)),
}
DRUG_DIRECTIONS = {"metformin": "Take 1 tablet by mouth twice daily with meals",
                   "albuterol": "Inhale 2 puffs every 4 to 6 hours as needed for wheezing",
                   "fluticasone": "Inhale 2 puffs twice daily",
                   "amoxicillin": "Take 1 capsule by mouth three times daily for 10 days",
                   "nitrofurantoin": "Take 20 mL by mouth twice daily for 5 days"}

# Inpatient stays: key -> principal ICD-10-CM, ICD-10-PCS or None, MS-DRG, stay length, admission type,
# point of origin, surgical?, youngest age, attending/operating practitioner, facility lines.
INPATIENT_STAYS = {
    "pneumonia": (("J18.9", "Pneumonia, unspecified organism"), None, ("195", "Simple pneumonia and pleurisy without CC/MCC"),
                  (2, 4), "1", "1", "hospitalist", 0, (("0450", "99285", 1), ("0121", None, "days"), ("0250", None, 1),
                                                      ("0636", "J0696", "days"), ("0300", "85025", 1), ("0320", "71046", 1))),
    "knee": (("M17.11", "Unilateral primary osteoarthritis, right knee"),
             ("0SRC0J9", "Replacement of Right Knee Joint with Synthetic Substitute, Cemented, Open Approach"),
             ("470", "Major hip and knee joint replacement or reattachment of lower extremity without MCC"),
             (1, 3), "3", "2", "ortho1", 45, (("0360", "27447", 1), ("0278", "C1776", 1), ("0370", None, 1),
                                              ("0710", None, 1), ("0121", None, "days"), ("0420", "97110", 2))),
    "appendix": (("K35.80", "Unspecified acute appendicitis"), ("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
                 ("343", "Appendectomy without complicated principal diagnosis without CC/MCC"),
                 (1, 2), "1", "1", "surg1", 5, (("0450", "99284", 1), ("0360", "44970", 1), ("0370", None, 1),
                                                ("0710", None, 1), ("0121", None, "days"), ("0636", "J2405", 4))),
    "nstemi": (("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction"),
               ("027034Z", "Dilation of Coronary Artery, One Artery with Drug-eluting Intraluminal Device, Percutaneous Approach"),
               ("322", "Percutaneous cardiovascular procedures with intraluminal device without MCC"),
               (2, 4), "1", "1", "cardio1", 40, (("0450", "99285", 1), ("0481", "92928", 1), ("0278", "C1874", 1),
                                                 ("0200", None, 1), ("0121", None, "days"), ("0730", "93000", 1))),
    "gallbladder": (("K80.20", "Calculus of gallbladder without cholecystitis without obstruction"),
                    ("0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach"),
                    ("419", "Laparoscopic cholecystectomy without C.D.E. without CC/MCC"),
                    (1, 2), "2", "2", "surg1", 18, (("0360", "47562", 1), ("0370", None, 1), ("0710", None, 1),
                                                    ("0121", None, "days"), ("0250", None, 1))),
    "heart_failure": (("I50.9", "Heart failure, unspecified"), None, ("293", "Heart failure and shock without CC/MCC"),
                      (3, 5), "1", "1", "hospitalist", 50, (("0450", "99285", 1), ("0121", None, "days"), ("0250", None, 1),
                                                            ("0483", "93306", 1), ("0320", "71046", 1), ("0300", "80053", 1))),
}
# Hospital outpatient visits: key -> principal ICD-10-CM, admission type, attending, youngest age, lines
# (revenue, code, units, cost-share rule).
OUTPATIENT_VISITS = {
    "er_chest": (("R07.9", "Chest pain, unspecified"), "1", "er1", 18,
                 (("0450", "99284", 1, "er"), ("0300", "80053", 1, "deductible"), ("0730", "93000", 1, "deductible"),
                  ("0320", "71046", 1, "deductible"))),
    "er_wrist": (("S52.501A", "Unspecified fracture of the lower end of right radius, initial encounter for closed fracture"),
                 "1", "er1", 3, (("0450", "99284", 1, "er"), ("0320", "73110", 1, "deductible"), ("0636", "J1030", 1, "deductible"))),
    "er_abdomen": (("R10.9", "Unspecified abdominal pain"), "1", "er1", 3,
                   (("0450", "99285", 1, "er"), ("0300", "85025", 1, "deductible"), ("0636", "J2405", 4, "deductible"))),
    "colonoscopy": (("Z12.11", "Encounter for screening for malignant neoplasm of colon"), "3", "surg1", 45,
                    (("0750", "45378", 1, "preventive"), ("0636", "J2704", 20, "preventive"))),
    "knee_mri": (("M25.561", "Pain in right knee"), "3", "radiology1", 12, (("0610", "73721", 1, "deductible"),)),
    "arthroscopy": (("S83.241A", "Other tear of medial meniscus, current injury, right knee, initial encounter"), "3", "ortho1", 16,
                    (("0360", "29881", 1, "deductible"), ("0636", "J3010", 1, "deductible"), ("0636", "J2405", 4, "deductible"))),
    "therapy": (("M54.50", "Low back pain, unspecified"), "3", "pt1", 12,
                (("0420", "97110", 3, "deductible"), ("0420", "97140", 1, "deductible"))),
    "echo": (("R06.02", "Shortness of breath"), "3", "cardio1", 30, (("0483", "93306", 1, "deductible"),)),
}
PROCEDURE_CODES = ("93000", "77067", "20610", "45378", "73721", "29881", "27447", "44970", "47562", "92928", "93306", "90834")
VACCINES = {"90686": ("150", "influenza, injectable, quadrivalent, preservative free"), "90715": ("115", "Tdap")}
# Lab panels: CPT -> LOINC results (code, display, UCUM unit, normal range, range for a member with the condition).
LAB_RESULTS = {
    "83036": ((("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", (4.8, 5.6), (6.6, 9.2), "t2d"),)),
    "80061": (("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", (150, 199), (200, 260), "hld"),
              ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", (60, 149), (150, 280), "hld"),
              ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", (45, 70), (32, 44), "hld"),
              ("18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "mg/dL", (70, 129), (130, 190), "hld")),
    "80053": (("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", (70, 99), (110, 190), "t2d"),
              ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", (0.6, 1.1), (0.9, 1.4), "htn"),
              ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", (136, 144), (136, 144), None),
              ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", (3.6, 4.9), (3.6, 4.9), None)),
    "85025": (("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", (12.0, 16.5), (12.0, 16.5), None),
              ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", (4.5, 10.5), (4.5, 10.5), None),
              ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", (160, 380), (160, 380), None)),
}
ALLERGIES = ((("419263009", "Allergy to tree pollen"), "environment"), (("232350006", "House dust mite allergy"), "environment"),
             (("300913006", "Shellfish allergy"), "food"), (("91935009", "Allergy to peanuts"), "food"),
             (("300916003", "Latex allergy"), "environment"), (("424213003", "Allergy to bee venom"), "environment"))
# Plan designs (coverage class "plan"): value, name, deductible, out-of-pocket maximum, PCP/specialist copays (cents).
PLAN_DESIGNS = (("PPO1500", "PPO 1500", 150000, 600000, 2500, 5000), ("PPO3000", "PPO 3000", 300000, 750000, 3000, 6000))
COPAY_ER, COPAY_INPATIENT, COPAY_GENERIC, COPAY_BRAND, COINSURANCE_PERCENT = 15000, 25000, 1000, 4500, 20
CLAIM_KINDS = ("professional", "pharmacy", "outpatient", "oral", "inpatient")
CLAIM_KIND_WEIGHTS = (45, 30, 12, 9, 4)
CLINICAL_VISIT_LIMIT = 30  # clinical records follow a member's 30 most recent visits, so big runs stay bounded
HISTORY_START_YEARS = (2019, 2020, 2021, 2022, 2023)
LAST_SERVICE_DAY = REFERENCE_TODAY - timedelta(days=60)  # leaves room for adjudication and payment before "today"
DIRECTORY_UPDATED = "2026-06-01T08:00:00-05:00"


# --- plan-wide context -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Provider:
    key: str
    resource_type: str
    id: str
    name: str
    npi: str
    taxonomy: tuple[str, str]
    organization_key: str | None
    kind: str
    address: dict
    phone: str
    family: str = ""
    given: str = ""
    suffix: str = ""

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass
class PlanContext:
    system_id: str
    name: str
    base_url: str
    seed: int
    providers: dict[str, Provider] = field(default_factory=dict)

    @property
    def payer_id(self) -> str:
        return f"{self.system_id}-payer"

    @property
    def payer_reference(self) -> dict:
        return {"reference": f"Organization/{self.payer_id}", "display": self.name}

    @property
    def fhir_base(self) -> str:
        return f"https://api.{self.base_url}/r4"

    def identifier_system(self, what: str) -> str:
        return f"https://{self.base_url}/fhir/{what}"

    def ref(self, key: str) -> dict:
        provider = self.providers[key]
        return {"reference": provider.reference, "display": provider.name}


def npi_number(rng: random.Random) -> str:
    """A ten-digit NPI with a valid Luhn check digit (computed over the 80840 prefix, as CMS specifies)."""
    body = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
    total = 0
    for position, char in enumerate(reversed("80840" + body)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str((10 - total % 10) % 10)


def random_address(rng: random.Random) -> dict:
    city, postal_code = rng.choice(CITIES)
    return {"use": "home", "type": "physical", "line": [f"{rng.randint(10, 9899)} {rng.choice(STREETS)}"],
            "city": city, "state": STATE, "postalCode": postal_code, "country": "US"}


def random_phone(rng: random.Random) -> str:
    return f"({rng.choice(('614', '740', '380'))}) 555-{rng.randint(100, 199):04d}"


def build_roster(plan: PlanContext) -> None:
    """The organizations and practitioners every member's claims point at, from their own random stream."""
    rng = random.Random(f"{plan.seed}/providers")
    for key, name, kind, taxonomy in ORGANIZATIONS:
        plan.providers[key] = Provider(key, "Organization", f"{plan.system_id}-org-{key}", name, npi_number(rng),
                                       taxonomy, None, kind, random_address(rng) | {"use": "work"}, random_phone(rng))
    for key, taxonomy, organization_key, suffix in PRACTITIONERS:
        female = rng.random() < 0.5
        given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        family = rng.choice(FAMILY_NAMES)
        organization = plan.providers[organization_key]
        plan.providers[key] = Provider(key, "Practitioner", f"{plan.system_id}-pract-{key}", f"{given} {family}, {suffix}",
                                       npi_number(rng), taxonomy, organization_key, "practitioner", organization.address,
                                       organization.phone, family, given, suffix)


# --- a member ----------------------------------------------------------------------------------------------

@dataclass
class Member:
    number: int
    id: str
    given: str
    family: str
    gender: str
    birth_date: date
    address: dict
    phone: str
    member_number: str
    coverage_start: date
    design: tuple
    conditions: list[str]
    pcp: str
    dentist: str
    pharmacy: str
    hospital: str
    cost_years: dict[int, list[int]] = field(default_factory=dict)

    @property
    def reference(self) -> dict:
        return {"reference": f"Patient/{self.id}", "display": f"{self.given} {self.family}"}

    @property
    def coverage_reference(self) -> dict:
        return {"reference": f"Coverage/{self.id}-coverage"}

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def make_member(plan: PlanContext, number: int, rng: random.Random, login_name: str | None) -> Member:
    female = rng.random() < 0.5
    given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    family = rng.choice(FAMILY_NAMES)
    if login_name:
        given, _, family = login_name.partition(" ")
        family = family or given
        female = given in FEMALE_NAMES or (given not in MALE_NAMES and female)
    age = rng.choice((rng.randint(1, 17), rng.randint(18, 64), rng.randint(18, 64), rng.randint(18, 64), rng.randint(65, 84)))
    birth_date = REFERENCE_TODAY - timedelta(days=age * 365 + rng.randrange(365))
    coverage_start = max(date(rng.choice(HISTORY_START_YEARS), 1, 1), birth_date + timedelta(days=30))
    member = Member(number, f"{plan.system_id}-m{number}", given, family, "female" if female else "male", birth_date,
                    random_address(rng), random_phone(rng), f"{rng.randint(10**8, 10**9 - 1)}01", coverage_start,
                    rng.choice(PLAN_DESIGNS), [], "", rng.choice(("dds1", "dds2")), rng.choice(("rx1", "rx2", "rx-mail")),
                    rng.choice(("hosp1", "hosp2")))
    member.pcp = "peds1" if age < 18 else rng.choice(("pcp1", "pcp2", "pcp3"))
    member.conditions = [key for key, (_, _, youngest, prevalence, _, _) in CONDITIONS.items()
                         if age >= youngest and rng.random() < prevalence * (1.8 if age >= 55 else 1.0)]
    return member


def patient_resource(plan: PlanContext, member: Member, rng: random.Random) -> dict:
    return {
        "resourceType": "Patient",
        "id": member.id,
        "meta": {"lastUpdated": instant(REFERENCE_TODAY - timedelta(days=rng.randint(20, 90)), rng),
                 "profile": [CARIN_PROFILE.format("C4BB-Patient"), US_CORE_PROFILE.format("us-core-patient")]},
        "identifier": [
            {"type": concept(V2_0203, "MB", "Member Number"), "system": plan.identifier_system("member-id"),
             "value": member.member_number},
            {"type": concept(CARIN + "/CodeSystem/C4BBIdentifierType", "um", "Unique Member ID"),
             "system": plan.identifier_system("unique-member-id"), "value": f"{plan.system_id}-{member.number:07d}"},
        ],
        "active": True,
        "name": [{"use": "official", "family": member.family, "given": [member.given]}],
        "telecom": [{"system": "phone", "value": member.phone, "use": "home"}],
        "gender": member.gender,
        "birthDate": member.birth_date.isoformat(),
        "address": [member.address],
    }


def coverage_resource(plan: PlanContext, member: Member, rng: random.Random) -> dict:
    design_value, design_name = member.design[0], member.design[1]
    group = 1000 + member.number % 37
    return {
        "resourceType": "Coverage",
        "id": f"{member.id}-coverage",
        "meta": {"lastUpdated": instant(REFERENCE_TODAY - timedelta(days=rng.randint(20, 90)), rng),
                 "profile": [CARIN_PROFILE.format("C4BB-Coverage")]},
        "identifier": [{"type": concept(V2_0203, "MB", "Member Number"), "system": plan.identifier_system("member-id"),
                        "value": member.member_number, "assigner": plan.payer_reference}],
        "status": "active",
        "type": concept("https://nahdo.org/sopt", "512", "Commercial Managed Care - PPO"),
        "policyHolder": member.reference,
        "subscriber": member.reference,
        "subscriberId": member.member_number[:-2],
        "beneficiary": member.reference,
        "dependent": "01",
        "relationship": concept("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self"),
        "period": {"start": member.coverage_start.isoformat()},
        "payor": [plan.payer_reference],
        "class": [
            {"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class", "group", "Group"),
             "value": f"GRP{group}", "name": f"{plan.name} Employer Group {group}"},
            {"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan", "Plan"),
             "value": design_value, "name": f"{plan.name} {design_name}"},
        ],
        "network": f"{plan.name} Preferred Network",
    }


# --- claims ------------------------------------------------------------------------------------------------

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


def cost_share(member: Member, year: int, eligible: int, rule: str) -> tuple[int, int, int]:
    """Deductible, copay and coinsurance for one line under the member's plan design, within the year's limits."""
    _, _, deductible_limit, oop_limit, pcp_copay, specialist_copay = member.design
    remaining = member.cost_years.setdefault(year, [deductible_limit, oop_limit])
    deductible = copay = coinsurance = 0
    if rule in ("copay_pcp", "copay_specialist", "er", "rx_generic", "rx_brand"):
        copay = min(eligible, {"copay_pcp": pcp_copay, "copay_specialist": specialist_copay, "er": COPAY_ER,
                               "rx_generic": COPAY_GENERIC, "rx_brand": COPAY_BRAND}[rule])
    elif rule in ("deductible", "inpatient"):
        if rule == "inpatient":
            copay = min(eligible, COPAY_INPATIENT)
        deductible = min(remaining[0], eligible - copay)
        coinsurance = (eligible - copay - deductible) * COINSURANCE_PERCENT // 100
    elif rule in ("dental_basic", "dental_major"):
        coinsurance = eligible * (20 if rule == "dental_basic" else 50) // 100
    overflow = deductible + copay + coinsurance - remaining[1]
    if overflow > 0:  # the out-of-pocket maximum is reached: the plan pays the rest
        for_coinsurance = min(overflow, coinsurance)
        coinsurance -= for_coinsurance
        overflow -= for_coinsurance
        for_copay = min(overflow, copay)
        copay -= for_copay
        deductible -= overflow - for_copay
    remaining[0] -= deductible
    remaining[1] -= deductible + copay + coinsurance
    return deductible, copay, coinsurance


def adjudicate(member: Member, submitted: int, allowed_share: float, rule: str, year: int) -> dict[str, int]:
    eligible = min(submitted, round(submitted * allowed_share))
    deductible, copay, coinsurance = cost_share(member, year, eligible, rule)
    liability = deductible + copay + coinsurance
    return {"submitted": submitted, "eligible": eligible, "discount": submitted - eligible, "deductible": deductible,
            "copay": copay, "coinsurance": coinsurance, "memberliability": liability, "benefit": eligible - liability,
            "paidtoprovider": eligible - liability}


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


class ClaimWriter:
    """Builds one member's ExplanationOfBenefit resources in date order, keeping the member's cost-share state."""

    def __init__(self, plan: PlanContext, member: Member, rng: random.Random):
        self.plan, self.member, self.rng = plan, member, rng
        self.visits: list[Visit] = []
        self.fills: list[tuple[date, str, str]] = []  # (fill day, drug key, prescriber key)
        self.pending_antibiotic: tuple[date, str, str] | None = None  # prescribed at a sick visit, filled next

    def claim_days(self, count: int) -> list[tuple[date, str]]:
        """Service days and kinds, oldest first; with five or more claims every CARIN EOB kind appears."""
        rng, start = self.rng, self.member.coverage_start
        span = max((LAST_SERVICE_DAY - start).days, 1)
        kinds = list(CLAIM_KINDS[:count]) + rng.choices(CLAIM_KINDS, CLAIM_KIND_WEIGHTS, k=max(count - len(CLAIM_KINDS), 0))
        return sorted((start + timedelta(days=rng.randrange(span)), kind) for kind in kinds)

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
            elif age >= 11 and rng.random() < 0.15:
                lines += [self._line("90471", 1, "preventive", day), self._line("90715", 1, "preventive", day)]
                diagnoses.append(("Z23", "Encounter for immunization"))
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
            if key in ("htn", "hld", "t2d"):
                performer, codes = "cardio1", ("93000",)
            elif key == "oa_knee":
                performer, codes = "ortho1", ("20610", "J1030")
            elif key == "depression":
                performer, codes = "counselor1", ("96127",)
            else:
                performer, codes = pcp, ()
            visit_code = "90834" if performer == "counselor1" else rng.choice(("99204", "99214"))
            lines = [self._line(visit_code, 1, "copay_specialist", day)]
            lines += [self._line(code, 1, "deductible", day) for code in codes]
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

    def _at_risk(self, stay: str, age: int) -> bool:
        """Cardiac stays need cardiac risk, a knee replacement needs knee arthritis or age; the rest can happen to anyone."""
        conditions = set(self.member.conditions)
        if stay in ("nstemi", "heart_failure"):
            return bool(conditions & {"htn", "hld", "t2d"}) or age >= 70
        if stay == "knee":
            return "oa_knee" in conditions or age >= 60
        return True

    def _inpatient(self, eob_id: str, number: int, day: date) -> dict:
        rng, plan, member = self.rng, self.plan, self.member
        age = member.age_on(day)
        key = rng.choice([key for key, stay in INPATIENT_STAYS.items() if age >= stay[7] and self._at_risk(key, age)])
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


# --- clinical records (US Core 6.1.0) -----------------------------------------------------------------------

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


class ClinicalWriter:
    """US Core records that agree with a member's claims: visits become Encounters with vitals, labs, vaccines
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

        def quantity(value: float, unit: str, code: str) -> dict:
            return {"value": value, "unit": unit, "system": UCUM, "code": code}

        yield self._observation("us-core-blood-pressure", VITAL_SIGNS, ("85354-9", "Blood pressure panel with all children optional"),
                                moment, context, component=[
                                    {"code": concept(LOINC, "8480-6", "Systolic blood pressure"),
                                     "valueQuantity": quantity(systolic, "mmHg", "mm[Hg]")},
                                    {"code": concept(LOINC, "8462-4", "Diastolic blood pressure"),
                                     "valueQuantity": quantity(diastolic, "mmHg", "mm[Hg]")}])
        yield self._observation("us-core-heart-rate", VITAL_SIGNS, ("8867-4", "Heart rate"), moment, context,
                                valueQuantity=quantity(rng.randint(58, 96), "beats/minute", "/min"))
        yield self._observation("us-core-body-height", VITAL_SIGNS, ("8302-2", "Body height"), moment, context,
                                valueQuantity=quantity(round(height, 1), "cm", "cm"))
        yield self._observation("us-core-body-weight", VITAL_SIGNS, ("29463-7", "Body weight"), moment, context,
                                valueQuantity=quantity(round(weight, 1), "kg", "kg"))
        if age >= 2:
            yield self._observation("us-core-bmi", VITAL_SIGNS, ("39156-5", "Body mass index (BMI) [Ratio]"), moment, context,
                                    valueQuantity=quantity(round(bmi, 1), "kg/m2", "kg/m2"))

    def _lab_results(self, panel: str, moment: str, context: dict) -> Iterator[dict]:
        collected = later(moment, 10)
        for code, display, unit, normal, affected, condition in LAB_RESULTS[panel]:
            low, high = affected if condition in self.member.conditions else normal
            value = round(self.rng.uniform(low, high), 1)
            yield self._observation("us-core-observation-lab", LABORATORY, (code, display), collected, context,
                                    valueQuantity={"value": value, "unit": unit, "system": UCUM, "code": unit},
                                    referenceRange=[{"low": {"value": normal[0], "unit": unit, "system": UCUM, "code": unit},
                                                     "high": {"value": normal[1], "unit": unit, "system": UCUM, "code": unit}}])

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


# --- shared providers (CARIN BB) ---------------------------------------------------------------------------

def payer_resource(plan: PlanContext) -> dict:
    rng = random.Random(f"{plan.seed}/payer")
    return {
        "resourceType": "Organization",
        "id": plan.payer_id,
        "meta": {"lastUpdated": DIRECTORY_UPDATED, "profile": [CARIN_PROFILE.format("C4BB-Organization")]},
        "identifier": [
            {"type": concept(CARIN + "/CodeSystem/C4BBIdentifierType", "payerid", "Payer ID"),
             "system": plan.identifier_system("payer-id"), "value": f"{rng.randint(10000, 99999)}"},
            {"type": concept(V2_0203, "TAX", "Tax ID number"), "system": "urn:oid:2.16.840.1.113883.4.4",
             "value": f"{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}"},
        ],
        "active": True,
        "type": [concept("http://terminology.hl7.org/CodeSystem/organization-type", "pay", "Payer")],
        "name": plan.name,
        "telecom": [{"system": "phone", "value": "(800) 555-0150", "use": "work"},
                    {"system": "url", "value": f"https://www.{plan.base_url}", "use": "work"}],
        "address": [{"use": "work", "line": ["100 Plan Plaza"], "city": "Columbus", "state": STATE, "postalCode": "43215",
                     "country": "US"}],
    }


def provider_resource(provider: Provider) -> dict:
    npi = {"type": concept(V2_0203, "NPI", "National provider identifier"), "system": NPI_SYSTEM, "value": provider.npi}
    if provider.resource_type == "Organization":
        return {
            "resourceType": "Organization",
            "id": provider.id,
            "meta": {"lastUpdated": DIRECTORY_UPDATED, "profile": [CARIN_PROFILE.format("C4BB-Organization")]},
            "identifier": [npi],
            "active": True,
            "type": [concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
            "name": provider.name,
            "telecom": [{"system": "phone", "value": provider.phone, "use": "work"}],
            "address": [provider.address],
        }
    return {
        "resourceType": "Practitioner",
        "id": provider.id,
        "meta": {"lastUpdated": DIRECTORY_UPDATED, "profile": [CARIN_PROFILE.format("C4BB-Practitioner")]},
        "identifier": [npi],
        "active": True,
        "name": [{"use": "official", "family": provider.family, "given": [provider.given], "suffix": [provider.suffix]}],
        "telecom": [{"system": "phone", "value": provider.phone, "use": "work"}],
        "address": [provider.address],
        "qualification": [{"code": concept(NUCC, *provider.taxonomy)}],
    }


# --- public directory (Plan-Net 1.1.0) and formulary (US Drug Formulary 2.0.1) ------------------------------

def location_type(kind: str) -> dict:
    codes = {"hospital": ("HOSP", "Hospital"), "pharmacy": ("OUTPHARM", "outpatient pharmacy")}
    return {"type": [concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", *codes[kind])]} if kind in codes else {}


def directory_resources(plan: PlanContext) -> Iterator[dict]:
    """Plan-Net: the payer, its network, its in-network providers where they practise, one plan and its endpoint."""
    sid = plan.system_id

    def meta(profile: str) -> dict:
        return {"lastUpdated": DIRECTORY_UPDATED, "profile": [PLAN_NET_PROFILE.format(profile)]}

    def org_type(code: str, display: str) -> list[dict]:
        return [concept(PLAN_NET_CS.format("OrgTypeCS"), code, display)]

    def ref(kind: str, key: str) -> dict:
        return {"reference": f"{kind}/{sid}-pn-{key}"}

    network = {"url": "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/network-reference",
               "valueReference": ref("Organization", "network")}
    yield {"resourceType": "Organization", "id": f"{sid}-pn-payer", "meta": meta("plannet-Organization"), "active": True,
           "type": org_type("payer", "Payer"), "name": plan.name,
           "telecom": [{"system": "phone", "value": "(800) 555-0150", "rank": 2},
                       {"system": "url", "value": f"https://www.{plan.base_url}", "rank": 1}],
           "address": [{"line": ["100 Plan Plaza"], "city": "Columbus", "state": STATE, "postalCode": "43215"}]}
    yield {"resourceType": "Organization", "id": f"{sid}-pn-network", "meta": meta("plannet-Network"), "active": True,
           "type": org_type("ntwk", "Network"), "name": f"{plan.name} Preferred Network",
           "partOf": ref("Organization", "payer")}
    yield {"resourceType": "Endpoint", "id": f"{sid}-pn-endpoint", "meta": meta("plannet-Endpoint"),
           "extension": [{"url": "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/endpoint-usecase",
                          "extension": [{"url": "type", "valueCodeableConcept": concept(
                              "http://terminology.hl7.org/CodeSystem/v3-ActReason", "PATRQT", "patient requested")}]}],
           "status": "active",
           "connectionType": coding("http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "hl7-fhir-rest",
                                    "HL7 FHIR"),
           "name": f"{plan.name} Patient Access API",
           "payloadType": [concept(PLAN_NET_CS.format("EndpointPayloadTypeCS"), "NA", "Not Applicable")],
           "address": plan.fhir_base}
    yield {"resourceType": "InsurancePlan", "id": f"{sid}-pn-plan", "meta": meta("plannet-InsurancePlan"), "status": "active",
           "type": [concept(PLAN_NET_CS.format("InsuranceProductTypeCS"), "qhp", "Qualified Health Plan")],
           "name": f"{plan.name} PPO", "ownedBy": ref("Organization", "payer"), "administeredBy": ref("Organization", "payer"),
           "coverageArea": [{"reference": f"Location/{sid}-usdf-area"}], "endpoint": [ref("Endpoint", "endpoint")],
           "network": [ref("Organization", "network")],
           "plan": [{"type": concept(PLAN_NET_CS.format("InsurancePlanTypeCS"), "gold", "Gold-QHP")}]}
    categories = {"hospital": ("emerg", "Emergency care"), "clinic": ("outpat", "Clinic or Outpatient Facility"),
                  "pharmacy": ("pharm", "Pharmacy"), "dental": ("prov", "Medical Provider")}
    for provider in plan.providers.values():
        if provider.resource_type != "Organization":
            continue
        key = provider.key
        address = {name: value for name, value in provider.address.items() if name in ("line", "city", "state", "postalCode")}
        yield {"resourceType": "Organization", "id": f"{sid}-pn-{key}", "meta": meta("plannet-Organization"),
               "identifier": [{"system": NPI_SYSTEM, "value": provider.npi}], "active": True,
               "type": org_type("fac", "Facility") if provider.kind in ("hospital", "pharmacy") else org_type("prvgrp", "Provider Group"),
               "name": provider.name, "telecom": [{"system": "phone", "value": provider.phone}], "address": [address]}
        yield {"resourceType": "Location", "id": f"{sid}-pn-{key}-loc", "meta": meta("plannet-Location"), "status": "active",
               "name": provider.name,
               **location_type(provider.kind),
               "telecom": [{"system": "phone", "value": provider.phone}], "address": address,
               "managingOrganization": ref("Organization", key),
               "hoursOfOperation": [{"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"], "openingTime": "08:00:00",
                                     "closingTime": "17:00:00"}]}
        category, category_display = categories[provider.kind]
        yield {"resourceType": "HealthcareService", "id": f"{sid}-pn-{key}-service", "meta": meta("plannet-HealthcareService"),
               "active": True, "providedBy": ref("Organization", key),
               "category": [concept(PLAN_NET_CS.format("HealthcareServiceCategoryCS"), category, category_display)],
               "specialty": [concept(NUCC, *provider.taxonomy)], "location": [ref("Location", f"{key}-loc")],
               "name": f"{provider.name} services"}
        if provider.kind in ("clinic", "pharmacy"):
            role = ("pharmacy", "Pharmacy") if provider.kind == "pharmacy" else ("outpatient", "Outpatient")
            yield {"resourceType": "OrganizationAffiliation", "id": f"{sid}-pn-{key}-affiliation",
                   "meta": meta("plannet-OrganizationAffiliation"), "active": True,
                   "organization": ref("Organization", "payer"), "participatingOrganization": ref("Organization", key),
                   "network": [ref("Organization", "network")],
                   "code": [concept(PLAN_NET_CS.format("OrganizationAffiliationRoleCS"), *role)],
                   "location": [ref("Location", f"{key}-loc")], "healthcareService": [ref("HealthcareService", f"{key}-service")]}
    for provider in plan.providers.values():
        physician = provider.taxonomy[0].startswith(PHYSICIAN_TAXONOMY_PREFIXES)
        if provider.resource_type != "Practitioner" or not (physician or provider.key == "counselor1"):
            continue
        yield {"resourceType": "Practitioner", "id": f"{sid}-pn-{provider.key}", "meta": meta("plannet-Practitioner"),
               "identifier": [{"system": NPI_SYSTEM, "value": provider.npi}], "active": True,
               "name": [{"text": provider.name, "family": provider.family, "given": [provider.given]}],
               "qualification": [{"code": concept(NUCC, *provider.taxonomy), "issuer": {"display": "State of Ohio"}}]}
        role = ("ph", "Physician") if physician else ("co", "Counselor")
        yield {"resourceType": "PractitionerRole", "id": f"{sid}-pn-{provider.key}-role", "meta": meta("plannet-PractitionerRole"),
               "extension": [network], "active": True, "practitioner": ref("Practitioner", provider.key),
               "organization": ref("Organization", provider.organization_key),
               "code": [concept(PLAN_NET_CS.format("ProviderRoleCS"), *role)],
               "specialty": [concept(NUCC, *provider.taxonomy)],
               "location": [ref("Location", f"{provider.organization_key}-loc")],
               "healthcareService": [ref("HealthcareService", f"{provider.organization_key}-service")]}


# A rough outline of Ohio for the coverage area, as GeoJSON (usdf-InsurancePlanLocation boundary extension).
OHIO_OUTLINE = (b'{"type":"Feature","properties":{"name":"Ohio"},"geometry":{"type":"Polygon","coordinates":'
                b'[[[-84.82,39.10],[-84.82,41.70],[-83.45,41.73],[-82.40,41.68],[-80.52,41.98],[-80.52,40.64],'
                b'[-80.67,40.18],[-81.28,39.35],[-82.01,38.94],[-82.62,38.53],[-83.68,38.63],[-84.82,39.10]]]}}')


def formulary_resources(plan: PlanContext) -> Iterator[dict]:
    """US Drug Formulary STU2: the payer's plan, its formulary, and one FormularyItem + FormularyDrug per drug."""
    sid, year = plan.system_id, REFERENCE_TODAY.year
    period = {"start": f"{year}-01-01", "end": f"{year}-12-31"}

    def meta(profile: str) -> dict:
        return {"lastUpdated": DIRECTORY_UPDATED, "profile": [f"{USDF}/StructureDefinition/{profile}"]}

    def usdf_code(system: str, code: str, display: str) -> dict:
        return concept(f"{USDF}/CodeSystem/{system}", code, display)

    def extension(name: str, **value) -> dict:
        return {"url": f"{USDF}/StructureDefinition/usdf-{name}-extension"} | value

    formulary = {"reference": f"InsurancePlan/{sid}-usdf-formulary"}
    drug_policy = concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "DRUGPOL", "drug policy")
    tiers = {True: ("generic", "Generic"), False: ("brand", "Brand")}
    yield {"resourceType": "Location", "id": f"{sid}-usdf-area", "meta": meta("usdf-InsurancePlanLocation"),
           "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/location-boundary-geojson",
                          "valueAttachment": {"contentType": "application/json",
                                              "data": base64.b64encode(OHIO_OUTLINE).decode()}}],
           "name": "State of Ohio", "address": {"state": STATE, "country": "US"}}
    yield {"resourceType": "InsurancePlan", "id": f"{sid}-usdf-formulary", "meta": meta("usdf-Formulary"),
           "identifier": [{"system": plan.identifier_system("formulary-id"), "value": f"F{year}"}], "status": "active",
           "type": [drug_policy], "name": f"{plan.name} {year} Drug Formulary", "period": period}
    benefit_costs = []
    for generic in (True, False):
        copay = COPAY_GENERIC if generic else COPAY_BRAND
        benefit_costs.append({"type": usdf_code("usdf-DrugTierCS-TEMPORARY-TRIAL-USE", *tiers[generic]),
                              "cost": [{"type": usdf_code("usdf-BenefitCostTypeCS-TEMPORARY-TRIAL-USE", "copay", "Copay"),
                                        "qualifiers": [usdf_code("usdf-CostShareOptionCS-TEMPORARY-TRIAL-USE",
                                                                 "after-deductible", "After Deductible")],
                                        "value": {"value": copay // 100, "unit": "$", "system": "urn:iso:std:iso:4217",
                                                  "code": "USD"}}]})
    drug_benefit = concept("http://terminology.hl7.org/CodeSystem/insurance-plan-type", "drug", "Drug")
    yield {"resourceType": "InsurancePlan", "id": f"{sid}-usdf-plan", "meta": meta("usdf-PayerInsurancePlan"),
           "identifier": [{"system": plan.identifier_system("plan-id"), "value": f"P{year}"}], "status": "active",
           "type": [concept(PLAN_NET_CS.format("InsuranceProductTypeCS"), "qhp", "Qualified Health Plan")],
           "name": f"{plan.name} PPO", "period": period, "coverageArea": [{"reference": f"Location/{sid}-usdf-area"}],
           "contact": [{"purpose": concept("http://terminology.hl7.org/CodeSystem/contactentity-type", "PATINF", "Patient"),
                        "telecom": [{"system": "phone", "value": "(800) 555-0150"}]}],
           "coverage": [{"extension": [extension("FormularyReference", valueReference=formulary)], "type": drug_policy,
                         "benefit": [{"type": drug_benefit}]}],
           "plan": [{"type": drug_benefit, "specificCost": [{"category": usdf_code(
               "usdf-PharmacyBenefitTypeCS-TEMPORARY-TRIAL-USE", "1-month-in-retail", "1 month in network retail"),
               "benefit": benefit_costs}]}]}
    for key, (rxnorm, display, _, generic, _, _, _) in DRUGS.items():
        yield {"resourceType": "MedicationKnowledge", "id": f"{sid}-usdf-drug-{rxnorm}", "meta": meta("usdf-FormularyDrug"),
               "code": concept(RXNORM, rxnorm, display), "status": "active"}
        yield {"resourceType": "Basic", "id": f"{sid}-usdf-item-{rxnorm}", "meta": meta("usdf-FormularyItem"),
               "extension": [
                   extension("FormularyReference", valueReference=formulary),
                   extension("AvailabilityStatus", valueCode="active"),
                   extension("PharmacyBenefitType", valueCodeableConcept=usdf_code(
                       "usdf-PharmacyBenefitTypeCS-TEMPORARY-TRIAL-USE", "1-month-in-retail", "1 month in network retail")),
                   extension("PharmacyBenefitType", valueCodeableConcept=usdf_code(
                       "usdf-PharmacyBenefitTypeCS-TEMPORARY-TRIAL-USE", "3-month-in-mail", "3 month in network mail order")),
                   extension("DrugTierID", valueCodeableConcept=usdf_code("usdf-DrugTierCS-TEMPORARY-TRIAL-USE", *tiers[generic])),
                   extension("AvailabilityPeriod", valuePeriod=period),
                   extension("PriorAuthorization", valueBoolean=not generic),
                   extension("StepTherapyLimit", valueBoolean=False),
                   extension("QuantityLimit", valueBoolean=key in ("albuterol", "fluticasone")),
               ],
               "code": usdf_code("usdf-InsuranceItemTypeCS", "formulary-item", "Formulary Item"),
               "subject": {"reference": f"MedicationKnowledge/{sid}-usdf-drug-{rxnorm}"}}


# --- later days ------------------------------------------------------------------------------------------

NEW_CLAIMS_PER_DAY = (1, 3)
NEW_CLAIM_AGE_DAYS = (55, 70)  # service this long ago: adjudicated (at most 5 + 37 days later) and paid by the day


def day_date(day: int) -> date:
    """Day 1 is REFERENCE_TODAY; day n is n - 1 days later."""
    return REFERENCE_TODAY + timedelta(days=day - 1)


def later_days(plan: PlanContext, member: Member, eobs: list[dict], days: int,
               seed: int) -> Iterator[tuple[int, list[dict], list[str]]]:
    """Days 2 to `days` of a member's claims, as (day, the claims new or changed that day, the ids removed).

    Each day removes one claim, changes one and adds a few; the new and changed ones are updated on that day,
    later than anything before it. `eobs` are day 1's claims in the order they were processed.
    """
    claims = list(eobs)
    next_number = len(claims) + 1
    for day in range(2, days + 1):
        rng = random.Random(f"{seed}/member/{member.number}/day/{day}")
        today = day_date(day)
        removed = [_remove_last_of_a_year(claims, rng)] if len(claims) > 1 else []
        changed = [_reprocess(claims, rng, today)] if claims else []
        member.cost_years = cost_years_after(member, claims)
        writer = ClaimWriter(plan, member, rng)
        new = []
        visits = sorted((today - timedelta(days=rng.randint(*NEW_CLAIM_AGE_DAYS)),
                         rng.choices(CLAIM_KINDS, CLAIM_KIND_WEIGHTS)[0]) for _ in range(rng.randint(*NEW_CLAIMS_PER_DAY)))
        for service_day, kind in visits:
            claim = writer.eob(next_number, service_day, kind)
            claim["meta"]["lastUpdated"] = instant(today, rng)
            next_number += 1
            new.append(claim)
        claims += new
        yield day, changed + new, removed


def _remove_last_of_a_year(claims: list[dict], rng: random.Random) -> str:
    """Removes the last claim processed in a year picked at random: no claim left leaned on its cost share."""
    year = rng.choice(sorted({_claim_year(claim) for claim in claims}))
    position = max(index for index, claim in enumerate(claims) if _claim_year(claim) == year)
    return claims.pop(position)["id"]


def _reprocess(claims: list[dict], rng: random.Random, today: date) -> dict:
    """A claim reprocessed today: a new version with a note saying so; its amounts do not change."""
    position = rng.randrange(len(claims))
    claim = claims[position]
    meta = claim["meta"]
    version = int(meta.get("versionId", "1")) + 1
    notes = claim.get("processNote", [])
    reprocessed = {**claim, "meta": {"versionId": str(version), "lastUpdated": instant(today, rng)} | {
        key: value for key, value in meta.items() if key not in ("versionId", "lastUpdated")}}
    reprocessed["processNote"] = notes + [{"number": len(notes) + 1, "type": "display",
                                           "text": f"Reprocessed on {today.isoformat()}: the provider corrected the "
                                                   "claim's details; the amounts are unchanged."}]
    claims[position] = reprocessed
    return reprocessed


def _claim_year(claim: dict) -> int:
    """The year whose deductible and out-of-pocket totals the claim counted against (its first service day's)."""
    return int(claim["billablePeriod"]["start"][:4])


def cost_years_after(member: Member, claims: list[dict]) -> dict[int, list[int]]:
    """The member's deductible and out-of-pocket room left per year after `claims`, in `cost_share`'s shape."""
    _, _, deductible_limit, oop_limit, _, _ = member.design
    room: dict[int, list[int]] = {}
    for claim in claims:
        totals = {entry["category"]["coding"][0]["code"]: round(entry["amount"]["value"] * 100)
                  for entry in claim["total"]}
        left = room.setdefault(_claim_year(claim), [deductible_limit, oop_limit])
        left[0] -= totals["deductible"]
        left[1] -= totals["memberliability"]
    return room


# --- writing ---------------------------------------------------------------------------------------------

def relink(value, uuids: dict[str, str]):
    """A copy of `value` whose references to entries of the same transaction Bundle use their urn:uuid."""
    if isinstance(value, dict):
        return {key: uuids.get(item, item) if key == "reference" else relink(item, uuids) for key, item in value.items()}
    if isinstance(value, list):
        return [relink(item, uuids) for item in value]
    return value


def indented(resource: dict) -> bytes:
    return orjson.dumps(resource, option=orjson.OPT_INDENT_2) + b"\n"


class BundleFile:
    """Streams a Bundle to disk, one entry per line, so a member's 500 claims never sit in memory together."""

    def __init__(self, path: Path, header: dict):
        self.path, self.count, self.bytes = path, 0, 0
        self.handle = path.open("wb")
        self._write(orjson.dumps(header)[:-1] + b',"entry":[')

    def _write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.bytes += len(chunk)

    def add(self, entry: dict) -> None:
        self._write((b"\n" if self.count == 0 else b",\n") + orjson.dumps(entry))
        self.count += 1

    def close(self) -> None:
        self._write(b"\n]}\n")
        self.handle.close()


@dataclass
class Summary:
    """What a run wrote; `line()` is the one-line report `mockpayer generate` prints."""
    out_dir: Path
    members: int = 0
    files: int = 0
    bytes: int = 0
    resources: dict[str, int] = field(default_factory=dict)  # day 1's
    days: int = 1

    def count(self, resource: dict) -> None:
        kind = resource["resourceType"]
        self.resources[kind] = self.resources.get(kind, 0) + 1

    def line(self) -> str:
        eobs = self.resources.get("ExplanationOfBenefit", 0)
        total = sum(self.resources.values())
        later = f" (day 1; days 2-{self.days} in days/)" if self.days > 1 else ""
        return (f"wrote {self.out_dir}: {self.members} members, {eobs} claims, {total} resources{later} "
                f"in {self.files} files ({self.bytes / 1e6:.1f} MB)")


def plan_settings(system_id: str, name: str, base_url: str, mode: str, logins: list[dict], settings: dict) -> dict:
    """plan.json: generator-owned keys first, then tokens, paging, clients, members, then any other kept keys."""
    result = {"system_id": system_id, "name": name, "base_url": base_url, "mode": mode,
              "tokens": settings.get("tokens", DEFAULT_TOKENS), "paging": settings.get("paging", DEFAULT_PAGING),
              "clients": settings.get("clients", DEFAULT_CLIENTS), "members": logins}
    for key, value in settings.items():
        if key not in result:
            result[key] = value
    return result


def member_login(system_id: str, number: int, seed: int, kept: dict | None, generated_name: str) -> dict:
    """Login for member n: kept from `settings_from` when it lists one, else member{n}/pass-member{n}; member 2
    always needs an MFA code so the MFA path has a bundled user."""
    login = {"username": f"member{number}", "password": f"pass-member{number}", "name": generated_name}
    if number == 2:
        login["mfa"] = f"{random.Random(f'{seed}/mfa/{number}').randrange(10**6):06d}"
    if kept:
        login = {"name": generated_name} | {key: kept[key] for key in LOGIN_KEYS if key in kept}
    return {"username": login["username"], "password": login["password"], "patient": f"Patient/{system_id}-m{number}",
            "name": login["name"]} | ({"mfa": login["mfa"]} if "mfa" in login else {})


def write_plan(out_dir: str | Path, *, system_id: str = "demoplan", name: str = "Demo Health Plan",
               base_url: str = "1updemohealthplan.com", mode: str = "1up", members: int = 3, claims_per_member: int = 20,
               seed: int = 0, clinical: bool = False, settings_from: str | Path | None = None,
               days: int = 1) -> Summary:
    """Write a complete plan folder to `out_dir` and return what was written.

    The generator owns `data/`, `directory/` and `days/`: their JSON files are replaced, and `days/` holds days
    2 to `days` (none for 1). `settings_from` names a plan.json
    whose tokens, paging, clients, other extra keys and member logins (username, password, name, mfa) are kept,
    so a hand-tuned plan can get fresh data without losing its accounts; members beyond its list get new logins.
    """
    if not SYSTEM_ID_PATTERN.fullmatch(system_id):
        raise ValueError(f"system id must match {SYSTEM_ID_PATTERN.pattern}: {system_id!r}")
    if mode not in ("1up", "smart"):
        raise ValueError(f"mode must be 1up or smart: {mode!r}")
    if members < 1 or claims_per_member < 0 or days < 1:
        raise ValueError("need at least one member and one day, and a non-negative number of claims")
    settings = orjson.loads(Path(settings_from).read_bytes()) if settings_from else {}
    kept_logins = settings.get("members", [])
    settings = {key: value for key, value in settings.items() if key not in GENERATED_PLAN_KEYS + ("members",)}

    out = Path(out_dir)
    summary = Summary(out)
    for folder in ("data", "directory"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out / folder).glob("*.json"):
            stale.unlink()
    shutil.rmtree(out / "days", ignore_errors=True)
    removed_by_day: dict[int, list[str]] = {day: [] for day in range(2, days + 1)}
    plan = PlanContext(system_id, name, base_url, seed)
    build_roster(plan)

    def write_single(path: Path, resource: dict) -> None:
        content = indented(resource)
        path.write_bytes(content)
        summary.files += 1
        summary.bytes += len(content)
        summary.count(resource)

    def close(bundle: BundleFile) -> None:
        bundle.close()
        summary.files += 1
        summary.bytes += bundle.bytes

    payer = payer_resource(plan)
    write_single(out / "data" / f"Organization-{payer['id']}.json", payer)
    roster = [provider_resource(provider) for provider in plan.providers.values()]
    bundle = BundleFile(out / "data" / "providers.json", {
        "resourceType": "Bundle", "id": f"{system_id}-providers", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "searchset", "total": len(roster),
        "link": [{"relation": "self", "url": f"{plan.fhir_base}/Organization?_count={len(roster)}&_include=*"}]})
    for resource in roster:
        bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
                    "search": {"mode": "match"}})
        summary.count(resource)
    close(bundle)

    logins = []
    for number in range(1, members + 1):
        kept = kept_logins[number - 1] if number <= len(kept_logins) else None
        rng = random.Random(f"{seed}/member/{number}")
        member = make_member(plan, number, rng, kept.get("name") if kept else None)
        logins.append(member_login(system_id, number, seed, kept, f"{member.given} {member.family}"))
        bundle = BundleFile(out / "data" / f"member-{number}.json", {
            "resourceType": "Bundle", "id": f"{member.id}-records", "meta": {"lastUpdated": DIRECTORY_UPDATED},
            "type": "collection", "timestamp": DIRECTORY_UPDATED})

        def add(resource: dict) -> None:
            bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource})
            summary.count(resource)

        add(patient_resource(plan, member, rng))
        add(coverage_resource(plan, member, rng))
        claims = ClaimWriter(plan, member, rng)
        eobs = []
        for claim_number, (day, kind) in enumerate(claims.claim_days(claims_per_member), 1):
            eobs.append(claims.eob(claim_number, day, kind))
            add(eobs[-1])
        if clinical:
            for resource in ClinicalWriter(plan, member, random.Random(f"{seed}/clinical/{number}")).resources(
                    claims.visits, claims.fills):
                add(resource)
        close(bundle)
        summary.members += 1
        for day, updated, removed in later_days(plan, member, eobs, days, seed):
            removed_by_day[day] += [f"ExplanationOfBenefit/{claim_id}" for claim_id in removed]
            if updated:
                folder = out / "days" / str(day) / "data"
                folder.mkdir(parents=True, exist_ok=True)
                moment = datetime.combine(day_date(day), time(23), OFFSET).isoformat()
                bundle = BundleFile(folder / f"member-{number}.json", {
                    "resourceType": "Bundle", "id": f"{member.id}-day{day}", "meta": {"lastUpdated": moment},
                    "type": "collection", "timestamp": moment})
                for resource in updated:
                    bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}",
                                "resource": resource})
                close(bundle)

    for resource in directory_resources(plan):
        write_single(out / "directory" / f"{resource['resourceType']}-{resource['id']}.json", resource)
    formulary = list(formulary_resources(plan))
    uuids = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, plan.fhir_base + '/' + r['resourceType'] + '/' + r['id'])}"
             for r in formulary}
    bundle = BundleFile(out / "directory" / "formulary.json", {
        "resourceType": "Bundle", "id": f"{system_id}-formulary", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "transaction"})
    for resource in formulary:
        key = f"{resource['resourceType']}/{resource['id']}"
        linked = relink(resource, uuids)
        bundle.add({"fullUrl": uuids[key], "resource": linked, "request": {"method": "PUT", "url": key}})
        summary.count(linked)
    close(bundle)

    for day, removed in removed_by_day.items():
        (out / "days" / str(day) / "data").mkdir(parents=True, exist_ok=True)
        content = orjson.dumps(removed, option=orjson.OPT_INDENT_2) + b"\n"
        (out / "days" / str(day) / "removed.json").write_bytes(content)
        summary.files += 1
        summary.bytes += len(content)
    summary.days = days

    content = indented(plan_settings(system_id, name, base_url, mode, logins, settings))
    (out / "plan.json").write_bytes(content)
    summary.files += 1
    summary.bytes += len(content)
    return summary


# --- command line ------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `mockpayer generate` (the cli module owns the parser; this module owns what it means)."""
    parser.add_argument("--out", required=True, help="plan folder to write (its data/ and directory/ are replaced)")
    parser.add_argument("--members", type=int, default=3, help="number of members (default 3)")
    parser.add_argument("--claims-per-member", type=int, default=20, help="ExplanationOfBenefit resources per member (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument("--clinical", action="store_true", help="add US Core clinical records for every member")
    parser.add_argument("--system-id", default="demoplan", help="plan id used in URLs and resource ids (default demoplan)")
    parser.add_argument("--name", default="Demo Health Plan", help="plan name (default 'Demo Health Plan')")
    parser.add_argument("--base-url", default="1updemohealthplan.com", help="plan host name (default 1updemohealthplan.com)")
    parser.add_argument("--mode", choices=("1up", "smart"), default="1up", help="URL and auth style of the plan (default 1up)")
    parser.add_argument("--settings-from", metavar="PLAN_JSON",
                        help="keep tokens, paging, clients and member logins from this plan.json")
    parser.add_argument("--days", type=int, default=1,
                        help="days of records: day 1 in data/, days 2..D in days/<n>/ with each member's new, "
                             "changed and removed claims (default 1)")


def run(args: argparse.Namespace) -> Summary:
    summary = write_plan(args.out, system_id=args.system_id, name=args.name, base_url=args.base_url, mode=args.mode,
                         members=args.members, claims_per_member=args.claims_per_member, seed=args.seed,
                         clinical=args.clinical, settings_from=args.settings_from, days=args.days)
    print(summary.line())
    return summary

