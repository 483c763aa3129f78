"""The plan-wide context: the plan's identity and the provider roster every member's claims point at.

It is made from its own random stream, with the payer's and providers' CARIN BB Organization and Practitioner
resources.

NPIs are invented but carry a valid check digit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mockpayer.generate.codes import CARIN, CARIN_PROFILE, NPI_SYSTEM, NUCC, V2_0203, concept
from mockpayer.generate.dates import DIRECTORY_UPDATED
from mockpayer.generate.tables import (
    CITIES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    ORGANIZATIONS,
    PRACTITIONERS,
    STATE,
    STREETS,
)

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
