"""A lab test's or vital sign's name as a patient says it ("Total cholesterol"), not LOINC's long name.

LOINC's long name ("Cholesterol [Mass/volume] in Serum or Plasma") spells out the property, system and method for
machines.

The name is the plan's own `code.text` when it wrote one (not a copy of a coding's display), else a plain name
from a small table of common LOINC codes, else the display with its bracketed parts (the LOINC property or
scale, "[Mass/volume]", "[Ratio]") left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mirror.web.readable import display, mappings, text

LOINC = "http://loinc.org"
_BRACKETED = re.compile(r"\s*\[[^\]]*\]")

# Common LOINC codes of lipid, glucose, chemistry and blood-count tests and of the US Core vital signs.
PLAIN_NAMES = {
    "2093-3": "Total cholesterol", "2085-9": "HDL cholesterol (good)", "18262-6": "LDL cholesterol (bad)",
    "13457-7": "LDL cholesterol (bad)", "2089-1": "LDL cholesterol (bad)", "2571-8": "Triglycerides",
    "2345-7": "Glucose", "2339-0": "Glucose", "1558-6": "Fasting glucose", "4548-4": "Hemoglobin A1c",
    "17856-6": "Hemoglobin A1c", "2160-0": "Creatinine", "3094-0": "Urea nitrogen (BUN)", "2951-2": "Sodium",
    "2823-3": "Potassium", "2075-0": "Chloride", "2028-9": "Carbon dioxide", "17861-6": "Calcium",
    "33914-3": "Kidney function (eGFR)", "718-7": "Hemoglobin", "4544-3": "Hematocrit",
    "6690-2": "White blood cells", "789-8": "Red blood cells", "777-3": "Platelets",
    "85354-9": "Blood pressure", "55284-4": "Blood pressure", "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure", "8867-4": "Heart rate", "9279-1": "Breathing rate",
    "8310-5": "Body temperature", "29463-7": "Weight", "3141-9": "Weight", "8302-2": "Height",
    "39156-5": "Body mass index (BMI)", "2708-6": "Oxygen level (O2 saturation)",
    "59408-5": "Oxygen level (O2 saturation)", "9843-4": "Head circumference", "72514-3": "Pain (0 to 10)",
    "72166-2": "Smoking status",
}


def lab_name(concept: object) -> str | None:
    """The test's name in words, or None when the concept names nothing."""
    if not isinstance(concept, Mapping):
        return None
    coding = mappings(concept.get("coding"))
    written = text(concept.get("text"))
    if written and written not in {found.get("display") for found in coding}:
        return written
    plain = next((PLAIN_NAMES[found["code"]] for found in coding
                  if found.get("system") == LOINC and found.get("code") in PLAIN_NAMES), None)
    if plain:
        return plain
    named = display(concept)
    return (_BRACKETED.sub("", named).strip() or named) if named else None
