"""So that a generated plan has a public provider directory (Da Vinci PDex Plan-Net 1.1.0).

Da Vinci PDex Plan-Net 1.1.0: the plan's public provider directory (payer, network, in-network
organizations and practitioners where they practise, the plan and its API endpoint)."""

from __future__ import annotations

from typing import Iterator

from mockpayer.generate.codes import NPI_SYSTEM, NUCC, PLAN_NET_CS, PLAN_NET_PROFILE, coding, concept
from mockpayer.generate.dates import DIRECTORY_UPDATED
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import PHYSICIAN_TAXONOMY_PREFIXES, STATE

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
