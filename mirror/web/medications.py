"""Drug fills and prescriptions by drug name.

Pharmacy claims (CARIN BB pharmacy EOBs), pharmacy records (MedicationDispense) and prescriptions
(MedicationRequest), each with its date, quantity and who.

A drug's name is the NDC display on a pharmacy claim's line, else the line's own display or text; on a
dispense or prescription it is `medicationCodeableConcept`, or the code of the Medication it references
(contained or stored). Prior authorizations and estimates (`use` other than claim) are no fills.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mirror.fhir.dates import element_range
from mirror.fhir.references import reference_target
from mirror.web.claims import is_claim
from mirror.web.held import EARLIEST, left_out
from mirror.web.readable import Resolver, codes, display, mappings, party_name, status_words, text

NDC = "http://hl7.org/fhir/sid/ndc"
# Quantity units a pharmacy sends (NCPDP billing units, their common abbreviations, UCUM units and UCUM
# {annotations}), read case-blind without braces, in words: (one, many).
QUANTITY_UNITS = {
    **dict.fromkeys(("tab", "tabs", "tablet", "tbl"), ("tablet", "tablets")),
    **dict.fromkeys(("cap", "caps", "capsule"), ("capsule", "capsules")),
    **dict.fromkeys(("ea", "each", "unit"), ("each", "each")),
    **dict.fromkeys(("ml", "milliliter"), ("mL", "mL")), **dict.fromkeys(("gm", "g", "gram"), ("g", "g")),
    "l": ("L", "L"), "mg": ("mg", "mg"), **dict.fromkeys(("puff", "actuat", "actuation"), ("puff", "puffs")),
    "patch": ("patch", "patches"), "suppository": ("suppository", "suppositories"), "vial": ("vial", "vials"),
    **dict.fromkeys(("pack", "package", "pkg"), ("pack", "packs")), "kit": ("kit", "kits"),
    "syringe": ("syringe", "syringes"), "drop": ("drop", "drops"), "lozenge": ("lozenge", "lozenges"),
}


@dataclass
class Entry:
    source: str
    resource_type: str  # ExplanationOfBenefit links to the claim page, the others to the record
    id: str
    kind: str  # "Filled" or "Prescribed"
    date: str | None
    quantity: str | None
    days_supply: str | None
    who: str | None  # the pharmacy for a fill, the prescriber for a prescription
    where_from: str  # "Pharmacy claim", "Pharmacy record" or "Prescription"
    status: str | None
    sort_key: datetime | None = None


@dataclass
class Drug:
    name: str
    entries: list[Entry]


def drugs(claims: Iterable[tuple[str, Mapping]], dispenses: Iterable[tuple[str, Mapping]],
          requests: Iterable[tuple[str, Mapping]], resolver) -> list[Drug]:
    """Every drug by name (A to Z), each with its fills and prescriptions newest first.

    `resolver(source)` resolves references inside that source."""
    found: dict[str, Drug] = {}

    def add(name: str, entry: Entry) -> None:
        found.setdefault(name.casefold(), Drug(name, [])).entries.append(entry)

    for source, eob in claims:
        if "pharmacy" in codes(eob.get("type")) and is_claim(eob) and not left_out(eob):
            for name, entry in _claim_fills(source, eob, resolver(source)):
                add(name, entry)
    for source, dispense in dispenses:
        if not left_out(dispense):
            add(*_dispense(source, dispense, resolver(source)))
    for source, request in requests:
        if not left_out(request):
            add(*_request(source, request, resolver(source)))
    for drug in found.values():
        drug.entries.sort(key=lambda entry: entry.sort_key or EARLIEST, reverse=True)
    return sorted(found.values(), key=lambda drug: drug.name.casefold())


def _claim_fills(source: str, eob: Mapping, resolve: Resolver) -> list[tuple[str, Entry]]:
    period = eob.get("billablePeriod") if isinstance(eob.get("billablePeriod"), Mapping) else {}
    days = next((_quantity(info.get("valueQuantity"), bare=True) for info in mappings(eob.get("supportingInfo"))
                 if "dayssupply" in codes(info.get("category"))), None)
    fills = []
    for item in mappings(eob.get("item")):
        served = item.get("servicedPeriod") if isinstance(item.get("servicedPeriod"), Mapping) else {}
        when = text(item.get("servicedDate")) or text(served.get("start")) or text(period.get("start"))
        fills.append((_product_name(item.get("productOrService")), _entry(
            source, eob, "Filled", when, _quantity(item.get("quantity")), days,
            party_name(eob.get("provider"), resolve), "Pharmacy claim")))
    return fills


def _dispense(source: str, dispense: Mapping, resolve: Resolver) -> tuple[str, Entry]:
    when = text(dispense.get("whenHandedOver")) or text(dispense.get("whenPrepared"))
    pharmacy = next((name for name in (party_name(performer.get("actor"), resolve)
                                       for performer in mappings(dispense.get("performer"))) if name), None)
    return _medication_name(dispense, resolve), _entry(
        source, dispense, "Filled", when, _quantity(dispense.get("quantity")),
        _quantity(dispense.get("daysSupply"), bare=True), pharmacy or party_name(dispense.get("location"), resolve),
        "Pharmacy record")


def _request(source: str, request: Mapping, resolve: Resolver) -> tuple[str, Entry]:
    asked = request.get("dispenseRequest") if isinstance(request.get("dispenseRequest"), Mapping) else {}
    supply = asked.get("expectedSupplyDuration") if isinstance(asked.get("expectedSupplyDuration"), Mapping) else {}
    days = _quantity(supply, bare=True) if supply.get("code") in (None, "d") else None
    return _medication_name(request, resolve), _entry(
        source, request, "Prescribed", text(request.get("authoredOn")), _quantity(asked.get("quantity")), days,
        party_name(request.get("requester"), resolve), "Prescription")


def _entry(source: str, resource: Mapping, kind: str, when: str | None, quantity: str | None, days: str | None,
           who: str | None, where_from: str) -> Entry:
    moment = element_range(when) if when else None
    status, resource_type = text(resource.get("status")), str(resource.get("resourceType"))
    return Entry(source, resource_type, str(resource.get("id", "")), kind, when[:10] if moment else None, quantity,
                 days, who, where_from,
                 None if status in (None, "active", "completed") else status_words(resource_type, status),
                 moment.start if moment else None)


def _product_name(concept: object) -> str:
    """The NDC coding's display (CARIN BB pharmacy lines code the drug by NDC), else any display or text."""
    coding = mappings(concept.get("coding")) if isinstance(concept, Mapping) else []
    ndc = next((c for c in coding if c.get("system") == NDC), None)
    if ndc is not None and text(ndc.get("display")):
        return ndc["display"]
    named = display(concept)
    if named and named != (ndc or {}).get("code"):
        return named
    return f"NDC {ndc['code']}" if ndc is not None and text(ndc.get("code")) else (named or "Unnamed drug")


def _medication_name(resource: Mapping, resolve: Resolver) -> str:
    named = display(resource.get("medicationCodeableConcept"))
    if named:
        return named
    reference = resource.get("medicationReference")
    if not isinstance(reference, Mapping):
        return "Unnamed drug"
    medication = _contained(resource, reference.get("reference"))
    if medication is None:
        target = reference_target(reference.get("reference"))
        medication = resolve(*target) if target and target[0] == "Medication" else None
    found = display(medication.get("code")) if isinstance(medication, Mapping) else ""
    return found or text(reference.get("display")) or "Unnamed drug"


def _contained(resource: Mapping, reference: object) -> Mapping | None:
    if not isinstance(reference, str) or not reference.startswith("#") or len(reference) < 2:
        return None
    return next((inner for inner in mappings(resource.get("contained"))
                 if inner.get("id") == reference[1:] and inner.get("resourceType") == "Medication"), None)


def _quantity(quantity: object, bare: bool = False) -> str | None:
    """"30 capsules" (from "30 CAP"), or just "30" for a count of days."""
    if not isinstance(quantity, Mapping):
        return None
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = format(value, "g") if isinstance(value, float) else str(value)
    unit = "" if bare else _unit_words(quantity, value == 1)
    return f"{number} {unit}".strip()


def _unit_words(quantity: Mapping, one: bool) -> str:
    for said in (text(quantity.get("code")), text(quantity.get("unit"))):
        words = QUANTITY_UNITS.get(said.strip("{}").casefold()) if said else None
        if words:
            return words[0] if one else words[1]
    return text(quantity.get("unit")) or text(quantity.get("code")) or ""

