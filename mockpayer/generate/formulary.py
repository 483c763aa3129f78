"""Da Vinci US Drug Formulary 2.0.1: the plan's drug formulary, written as a `transaction` Bundle."""

from __future__ import annotations

import base64
from typing import Iterator

from mockpayer.generate.codes import PLAN_NET_CS, RXNORM, USDF, concept
from mockpayer.generate.dates import DIRECTORY_UPDATED, REFERENCE_TODAY
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import COPAY_BRAND, COPAY_GENERIC, DRUGS, STATE

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
