"""So that a member depends only on the seed and its number.

A member: who they are, their plan design and long-term conditions, and their Patient and Coverage
resources (CARIN BB 2.0.0, US Core). A member depends only on the seed and its number."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from mockpayer.generate.codes import CARIN, CARIN_PROFILE, US_CORE_PROFILE, V2_0203, concept
from mockpayer.generate.dates import REFERENCE_TODAY, instant
from mockpayer.generate.roster import PlanContext, random_address, random_phone
from mockpayer.generate.tables import CONDITIONS, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES, PLAN_DESIGNS

HISTORY_START_YEARS = (2019, 2020, 2021, 2022, 2023)


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


def person_name(rng: random.Random, login_name: str | None) -> tuple[str, str, bool]:
    """Given name, family name and whether female, drawn from the tables; a kept login's name wins."""
    female = rng.random() < 0.5
    given = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    family = rng.choice(FAMILY_NAMES)
    if login_name:
        given, _, family = login_name.partition(" ")
        family = family or given
        female = given in FEMALE_NAMES or (given not in MALE_NAMES and female)
    return given, family, female


def chronic_conditions(rng: random.Random, age: int) -> list[str]:
    """The long-term conditions someone of `age` has, each by its prevalence (nearly twice as common from 55)."""
    return [key for key, (_, _, youngest, prevalence, _, _) in CONDITIONS.items()
            if age >= youngest and rng.random() < prevalence * (1.8 if age >= 55 else 1.0)]


def make_member(plan: PlanContext, number: int, rng: random.Random, login_name: str | None) -> Member:
    given, family, female = person_name(rng, login_name)
    age = rng.choice((rng.randint(1, 17), rng.randint(18, 64), rng.randint(18, 64), rng.randint(18, 64), rng.randint(65, 84)))
    birth_date = REFERENCE_TODAY - timedelta(days=age * 365 + rng.randrange(365))
    coverage_start = max(date(rng.choice(HISTORY_START_YEARS), 1, 1), birth_date + timedelta(days=30))
    member = Member(number, f"{plan.system_id}-m{number}", given, family, "female" if female else "male", birth_date,
                    random_address(rng), random_phone(rng), f"{rng.randint(10**8, 10**9 - 1)}01", coverage_start,
                    rng.choice(PLAN_DESIGNS), [], "", rng.choice(("dds1", "dds2")), rng.choice(("rx1", "rx2", "rx-mail")),
                    rng.choice(("hosp1", "hosp2")))
    member.pcp = "peds1" if age < 18 else rng.choice(("pcp1", "pcp2", "pcp3"))
    member.conditions = chronic_conditions(rng, age)
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
