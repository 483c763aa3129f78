"""Which claims Blue Button's data server counts as SAMHSA-related, for `excludeSAMHSA=true`.

SAMHSA-related: 42 CFR Part 2 records of substance use disorder treatment, those an `ExplanationOfBenefit` search
with `excludeSAMHSA=true` leaves out.

A claim is SAMHSA-related when it carries the `42CFRPart2` security label (HL7 v3 ActCode in `meta.security`), as
BFD labels such claims, or when one of its diagnoses is a substance use disorder: ICD-10-CM F10-F19 but F17
(nicotine), or ICD-9-CM 291, 292, 303, 304 or 305 but 305.1 (tobacco), the code families CMS's list is drawn
from. Codes are compared as BFD normalises them: trimmed, without their first dot, in capitals.
"""

from __future__ import annotations

from collections.abc import Mapping

PART_2_LABEL = "42CFRPart2"
ICD_10 = frozenset({"http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm"})
ICD_9 = frozenset({"http://hl7.org/fhir/sid/icd-9-cm"})
ICD_10_FAMILIES = tuple(f"F1{digit}" for digit in "0123456789" if digit != "7")
ICD_9_FAMILIES = ("291", "292", "303", "304", "305")
ICD_9_TOBACCO = "3051"


def is_samhsa_related(claim: Mapping) -> bool:
    meta = claim.get("meta")
    labels = meta.get("security") if isinstance(meta, Mapping) else None
    if any(isinstance(label, Mapping) and label.get("code") == PART_2_LABEL for label in labels or ()):
        return True
    return any(_is_substance_use_disorder(system, code) for system, code in _diagnosis_codes(claim))


def _diagnosis_codes(claim: Mapping):
    for diagnosis in claim.get("diagnosis") or ():
        concept = diagnosis.get("diagnosisCodeableConcept") if isinstance(diagnosis, Mapping) else None
        for coding in (concept.get("coding") or ()) if isinstance(concept, Mapping) else ():
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                yield coding.get("system"), coding["code"]


def _is_substance_use_disorder(system: str | None, code: str) -> bool:
    normalised = code.strip().replace(".", "", 1).upper()
    if system in ICD_10:
        return normalised.startswith(ICD_10_FAMILIES)
    if system in ICD_9:
        return normalised.startswith(ICD_9_FAMILIES) and not normalised.startswith(ICD_9_TOBACCO)
    return False
