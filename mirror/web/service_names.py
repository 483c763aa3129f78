"""So that a claim line is always named for what it was for.

What a claim line was for, in words: the plan's display of its procedure, drug or revenue code, else a name
from a small table of common codes, so a line is never called "Not Applicable" (CARIN institutional lines
without a procedure code `productOrService` as data-absent-reason `not-applicable` and name the service only by
its NUBC revenue code)."""

from __future__ import annotations

from collections.abc import Mapping

from mirror.web.readable import as_list, text

NOT_APPLICABLE = "not-applicable"

# NUBC revenue codes: exact codes first, then the three-digit category (the last digit refines it).
REVENUE_CODES = {
    "0001": "Total charge", "0023": "Home health prospective payment",
    "0110": "Room & board (private room)", "0120": "Room & board (semi-private room)",
    "0250": "Pharmacy", "0300": "Laboratory", "0370": "Anesthesia", "0450": "Emergency room",
    "0710": "Recovery room",
}
REVENUE_CATEGORIES = {
    "010": "Room & board (all-inclusive)", "011": "Room & board (private room)",
    "012": "Room & board (semi-private room)", "013": "Room & board (3 or 4 beds)", "015": "Room & board (ward)",
    "020": "Intensive care", "021": "Coronary care", "025": "Pharmacy", "026": "IV therapy",
    "027": "Medical and surgical supplies", "030": "Laboratory", "031": "Pathology laboratory",
    "032": "X-ray and imaging", "033": "Radiation therapy", "034": "Nuclear medicine", "035": "CT scan",
    "036": "Operating room", "037": "Anesthesia", "038": "Blood", "040": "Other imaging",
    "041": "Respiratory services", "042": "Physical therapy", "043": "Occupational therapy",
    "044": "Speech therapy", "045": "Emergency room", "046": "Pulmonary function tests", "048": "Cardiology",
    "051": "Clinic visit", "055": "Skilled nursing", "061": "MRI", "063": "Drugs",
    "071": "Recovery room", "072": "Labor and delivery room", "073": "EKG / ECG", "074": "EEG",
    "076": "Treatment or observation room", "090": "Behavioral health", "096": "Professional fees",
}
# Common CPT/HCPCS procedure codes a claim may send without a display.
PROCEDURE_CODES = {
    "99202": "Office visit, new patient", "99203": "Office visit, new patient",
    "99204": "Office visit, new patient", "99212": "Office visit", "99213": "Office visit",
    "99214": "Office visit", "99215": "Office visit", "99221": "Hospital admission care",
    "99231": "Hospital care, later day", "99232": "Hospital care, later day", "99238": "Hospital discharge",
    "99283": "Emergency room visit", "99284": "Emergency room visit", "99285": "Emergency room visit",
    "99395": "Preventive visit", "99396": "Preventive visit", "36415": "Blood draw",
    "80053": "Metabolic panel (blood test)", "80061": "Cholesterol panel (blood test)",
    "83036": "Hemoglobin A1c (blood test)", "85025": "Complete blood count", "93000": "EKG / ECG",
    "71046": "Chest x-ray", "97110": "Physical therapy exercises", "90471": "Vaccine given",
    "A0428": "Ambulance, non-emergency",
    "20610": "Joint injection or drainage", "27447": "Knee replacement", "44970": "Appendix removal (laparoscopic)",
    "45378": "Colonoscopy", "47562": "Gallbladder removal (laparoscopic)", "90662": "Flu vaccine (high dose)",
    "92928": "Heart stent placement", "93306": "Heart ultrasound (echocardiogram)", "97140": "Manual therapy",
    "C1776": "Joint implant", "C1874": "Heart stent", "E0114": "Crutches", "E0143": "Walker",
    "E0260": "Hospital bed for home", "E0601": "CPAP machine", "G0008": "Flu vaccine given",
    "G0151": "Physical therapy at home (home health)", "G0299": "Nursing visit at home (home health)",
    "G0439": "Annual wellness visit", "J1030": "Steroid injection", "J2405": "Anti-nausea injection",
    "J2704": "Anesthesia drug (propofol)", "Q5001": "Hospice care at home", "K0001": "Wheelchair",
    "73721": "MRI of a knee, ankle or other leg joint",
}
DRUG_SYSTEMS = ("http://hl7.org/fhir/sid/ndc", "http://www.nlm.nih.gov/research/umls/rxnorm")


def service_name(item: Mapping) -> str:
    """The line's procedure or drug in words, else its revenue code's, else "Not described"."""
    product = _named(item.get("productOrService"), PROCEDURE_CODES, "Procedure")
    return product or _named(item.get("revenue"), REVENUE_CODES, "Revenue code", REVENUE_CATEGORIES) or "Not described"


def _named(concept: object, table: Mapping[str, str], kind: str,
           categories: Mapping[str, str] | None = None) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    codings = [coding for coding in as_list(concept.get("coding")) if isinstance(coding, Mapping)]
    if any(coding.get("code") == NOT_APPLICABLE for coding in codings):
        return None
    for coding in codings:
        if text(coding.get("display")):
            return coding["display"]
    if text(concept.get("text")):
        return concept["text"]
    for coding in codings:
        code = text(coding.get("code"))
        if not code:
            continue
        if code in table:
            return table[code]
        if categories and len(code) == 4 and code[:3] in categories:
            return categories[code[:3]]
        if coding.get("system") in DRUG_SYSTEMS:
            return f"Drug {code}"
        return f"{kind} {code}"
    return None
