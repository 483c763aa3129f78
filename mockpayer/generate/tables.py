"""The reference tables the generator draws from.

Names and places, the provider roster, conditions, services and their charges, drugs, hospital stays and visits, lab
results, allergies, plan designs and copays.

Codes are real code-system codes (ICD-10-CM/PCS, CPT, HCPCS, CDT, NUBC, MS-DRG, LOINC, SNOMED CT, RxNorm,
CVX, NUCC, NCPDP) except the NDC package codes: they are illustrative (labeler 99999) and travel with the
drug's real RxNorm code.
"""

from __future__ import annotations

from mockpayer.generate.codes import CDT, CPT, HCPCS

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
    # Medicare: the wellness visit and flu shot (no cost sharing), durable medical equipment, home health and hospice.
    "G0439": (HCPCS, "Annual wellness visit, includes a personalized prevention plan of service (PPPS), subsequent visit", 160, 240),
    "G0008": (HCPCS, "Administration of influenza virus vaccine", 20, 40),
    "90662": (CPT, "Influenza virus vaccine (IIV), split virus, preservative free, enhanced immunogenicity via increased antigen content, for intramuscular use", 60, 95),
    "E0601": (HCPCS, "Continuous positive airway pressure (CPAP) device", 90, 180),
    "E0143": (HCPCS, "Walker, folding, wheeled, adjustable or fixed height", 90, 160),
    "E0114": (HCPCS, "Crutches underarm, other than wood, adjustable or fixed, pair, with pads, tips and handgrips", 60, 110),
    "A4253": (HCPCS, "Blood glucose test or reagent strips for home blood glucose monitor, per 50 strips", 30, 60),
    "K0001": (HCPCS, "Standard wheelchair", 400, 900),
    "E0260": (HCPCS, "Hospital bed, semi-electric (head and foot adjustment), with any type side rails, with mattress", 1400, 2600),
    "G0299": (HCPCS, "Direct skilled nursing services of a registered nurse (RN) in the home health or hospice setting, each 15 minutes", 40, 80),
    "G0151": (HCPCS, "Services performed by a qualified physical therapist in the home health or hospice setting, each 15 minutes", 45, 90),
    "Q5001": (HCPCS, "Hospice or home health care provided in patient's home/residence", 180, 260),
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
    "0001": "Total charge",
    "0022": "Skilled nursing facility prospective payment system",
    "0023": "Home health services paid under prospective payment system",
    "0120": "Room & board - semi-private two beds - general classification",
    "0421": "Physical therapy - visit charge",
    "0551": "Skilled nursing - visit charge",
    "0651": "Hospice service - routine home care",
}
# Per-day or per-unit charges (dollars) for facility lines without a procedure code.
FACILITY_CHARGES = {"0121": (2200, 3600), "0200": (4500, 7000), "0250": (300, 1500), "0278": (400, 1500),
                    "0370": (900, 2500), "0710": (500, 1400), "0120": (600, 1100)}

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
# A PPO's out-of-network deductible and out-of-pocket maximum are this many times its in-network ones.
OUT_OF_NETWORK_LIMIT_FACTOR = 2

# Vital-sign reference ranges (LOINC -> low, high): adult normal blood pressure below 130/80 (ACC/AHA 2017),
# resting heart rate 60-100 per minute, adult BMI 18.5-24.9 (CDC); height and weight have none.
VITAL_RANGES = {"8480-6": (90, 129), "8462-4": (60, 79), "8867-4": (60, 100), "39156-5": (18.5, 24.9)}

# Services a plan reviews before they happen (Da Vinci PDex prior authorization): key -> CPT, units, claim type,
# ordering practitioner, organization that asked (None: the practitioner's own), principal ICD-10-CM,
# X12 service type, youngest age, what a denial says in plain words.
PRIOR_AUTH_REQUESTS = {
    "knee_mri": ("73721", 1, "institutional", "ortho1", "hosp1", ("M25.561", "Pain in right knee"),
                 ("62", "MRI/CAT Scan"), 12,
                 "Not approved: the records sent do not show six weeks of physical therapy or other treatment tried "
                 "first, which the plan requires before a knee MRI. Your provider can send more records, or you can appeal."),
    "therapy": ("97110", 12, "professional", "pt1", None, ("M54.50", "Low back pain, unspecified"),
                ("PT", "Physical Therapy"), 12,
                "Not approved: the plan covers 12 visits of physical therapy a year and this request is beyond "
                "them. Your provider can ask again with notes showing progress, or you can appeal."),
    "echo": ("93306", 1, "institutional", "cardio1", "hosp1", ("R06.02", "Shortness of breath"),
             ("1", "Medical Care"), 30,
             "Not approved: an echocardiogram done in the last twelve months already answers this question. "
             "Your provider can send the reason a new one is needed, or you can appeal."),
    "arthroscopy": ("29881", 1, "institutional", "ortho1", "hosp1",
                    ("S83.241A", "Other tear of medial meniscus, current injury, right knee, initial encounter"),
                    ("2", "Surgical"), 16,
                    "Not approved: the plan needs an MRI showing the tear and a trial of physical therapy before "
                    "knee arthroscopy. Your provider can send them, or you can appeal."),
    "knee_replacement": ("27447", 1, "institutional", "ortho1", "hosp1",
                         ("M17.11", "Unilateral primary osteoarthritis, right knee"), ("2", "Surgical"), 45,
                         "Not approved: the records do not show x-rays of severe arthritis and three months of other "
                         "treatment, which the plan requires before a knee replacement. You can appeal."),
}

# Medicare (the bluebutton profile). Cost sharing by calendar year, in cents, as CMS announces it each year: the
# Part A deductible per benefit period, the Part B deductible, and the skilled nursing coinsurance per day for
# days 21-100 of a benefit period.
PART_A_DEDUCTIBLE = {2019: 136400, 2020: 140800, 2021: 148400, 2022: 155600, 2023: 160000, 2024: 163200,
                     2025: 167600, 2026: 173600}
PART_B_DEDUCTIBLE = {2019: 18500, 2020: 19800, 2021: 20300, 2022: 23300, 2023: 22600, 2024: 24000, 2025: 25700,
                     2026: 28300}
SNF_DAY_COINSURANCE = {2019: 17050, 2020: 17600, 2021: 18550, 2022: 19450, 2023: 20000, 2024: 20400, 2025: 20950,
                       2026: 21700}
PART_B_COINSURANCE_PERCENT = 20
BENEFIT_PERIOD_GAP_DAYS = 60  # a Part A benefit period ends after 60 days without hospital or SNF care
SNF_DAYS_WITHOUT_COINSURANCE = 20
# Part D (an illustrative standard plan): a generic fill costs a flat copay, a brand one a share of its cost.
PART_D_GENERIC_COPAY, PART_D_BRAND_COINSURANCE_PERCENT = 500, 25
# Blue Button's eight claim types, in the order a beneficiary's first claims take them, and how often each occurs.
MEDICARE_CLAIM_TYPES = ("carrier", "pde", "outpatient", "dme", "inpatient", "snf", "hha", "hospice")
MEDICARE_CLAIM_WEIGHTS = (44, 30, 10, 5, 4, 3, 2, 2)
# Part B services that cost the beneficiary nothing: preventive visits, flu shots, clinical labs, screening mammograms.
PART_B_NO_COST_SHARING = frozenset({"G0439", "G0008", "90662", "36415", "80053", "80061", "83036", "85025", "77067"})
# CCW provider specialty (prvdr_spclty) of the roster's practitioner taxonomies.
MEDICARE_SPECIALTIES = {"207Q00000X": ("08", "Family practice"), "207R00000X": ("11", "Internal medicine"),
                        "207RC0000X": ("06", "Cardiology"), "207X00000X": ("20", "Orthopedic surgery"),
                        "225100000X": ("65", "Physical therapist in private practice"),
                        "2085R0202X": ("30", "Diagnostic radiology")}
# CCW race codes (the `race` variable) and how often each is drawn.
MEDICARE_RACES = ((("1", "White"), 70), (("2", "Black"), 11), (("5", "Hispanic"), 9), (("4", "Asian"), 5),
                  (("3", "Other"), 3), (("6", "North American Native"), 2))
# Providers of the claim types the roster has none for: claim type -> name.
MEDICARE_FACILITIES = {"dme": "Midwest Medical Supply", "snf": "Maple Grove Skilled Nursing and Rehabilitation",
                       "hha": "Buckeye Home Health Services", "hospice": "Harbor Light Hospice"}
# Durable medical equipment: HCPCS, quantity, CCW type of service (P purchase, R rental), condition it needs or None.
DME_ITEMS = (("A4253", 2, "P", "t2d"), ("E0143", 1, "P", None), ("E0601", 1, "R", None), ("E0114", 1, "P", None),
             ("K0001", 1, "P", None), ("E0260", 1, "R", None))
# Why someone receives hospice care (ICD-10-CM).
HOSPICE_DIAGNOSES = (("I50.9", "Heart failure, unspecified"), ("G30.9", "Alzheimer's disease, unspecified"),
                     ("C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
                     ("J44.9", "Chronic obstructive pulmonary disease, unspecified"))
