"""A Medicare beneficiary of the bluebutton profile.

Who they are, and their Patient and Coverage (Parts A, B, C and D) as CMS Blue Button 2.0 serves them. A beneficiary
depends only on the seed and its number.

Everything identifying is clearly synthetic, as CMS's own sandbox data is: the Patient id (the CCW `bene_id`) is
negative, and the MBI has `S` as its second character, which no real MBI has.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from mockpayer.generate.cms import (
    bfd_instant,
    coded_extension,
    synthetic_id,
    synthetic_mbi,
    variable,
)
from mockpayer.generate.codes import CARIN_PROFILE_UNVERSIONED, MBI_SYSTEM, V2_0203, coding, concept
from mockpayer.generate.dates import LAST_SERVICE_DAY, REFERENCE_TODAY
from mockpayer.generate.medicare_costs import MedicareCosts
from mockpayer.generate.members import chronic_conditions, person_name
from mockpayer.generate.roster import random_address
from mockpayer.generate.tables import MEDICARE_RACES

BENE_IDS = 10000010000000
PARTS = ("a", "b", "c", "d")
HISTORY_START_YEARS = (2019, 2020, 2021, 2022, 2023)
CMS_PAYOR = [{"identifier": {"value": "Centers for Medicare and Medicaid Services"}}]
MONTHS = [f"{month:02d}" for month in range(1, 13)]


@dataclass
class Beneficiary:
    number: int
    id: str  # the CCW bene_id, the Patient's id
    mbi: str
    given: str
    middle: str
    family: str
    gender: str
    birth_date: date
    address: dict
    race: tuple[str, str]
    disabled: bool  # entitled before 65 by disability (Medicare status code 20), else by age (10)
    entitled: date  # Parts A and B since
    history_start: date  # the first day its claims may be from
    part_d_plan: tuple[str, str]  # Part D contract and plan benefit package
    conditions: list[str]
    pcp: str
    hospital: str
    pharmacy: str
    costs: MedicareCosts = field(default_factory=MedicareCosts)

    @property
    def reference(self) -> dict:
        return {"reference": f"Patient/{self.id}"}

    def coverage(self, part: str) -> dict:
        return {"reference": f"Coverage/part-{part}-{self.id}"}

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def make_beneficiary(number: int, rng: random.Random, login_name: str | None) -> Beneficiary:
    given, family, female = person_name(rng, login_name)
    disabled = rng.random() < 0.12
    age = rng.randint(45, 64) if disabled else rng.randint(66, 92)
    birth_date = REFERENCE_TODAY - timedelta(days=age * 365 + rng.randrange(365))
    entitled = (date(rng.randint(2012, 2018), rng.randint(1, 12), 1) if disabled
                else date(birth_date.year + 65, birth_date.month, 1))
    history_start = min(max(date(rng.choice(HISTORY_START_YEARS), 1, 1), entitled), LAST_SERVICE_DAY - timedelta(days=90))
    races, weights = zip(*MEDICARE_RACES, strict=True)
    return Beneficiary(
        number, synthetic_id(BENE_IDS, number), synthetic_mbi(rng), given, rng.choice("ABCDEFGHJKLMNPRSTW"), family,
        "female" if female else "male", birth_date, random_address(rng), rng.choices(races, weights)[0], disabled,
        entitled, history_start, (f"S{rng.randint(1000, 9999)}", f"{rng.randint(1, 40):03d}"),
        chronic_conditions(rng, age), rng.choice(("pcp1", "pcp2", "pcp3")), rng.choice(("hosp1", "hosp2")),
        rng.choice(("rx1", "rx2")))


def patient_resource(beneficiary: Beneficiary, rng: random.Random) -> dict:
    """The Patient as Blue Button v2 serves it: CCW race and reference year, the bene_id and the current MBI."""
    current = {"url": "https://bluebutton.cms.gov/resources/codesystem/identifier-currency",
               "valueCoding": coding("https://bluebutton.cms.gov/resources/codesystem/identifier-currency", "current",
                                     "Current")}
    address = beneficiary.address
    return {
        "resourceType": "Patient",
        "id": beneficiary.id,
        "meta": {"lastUpdated": bfd_instant(REFERENCE_TODAY - timedelta(days=rng.randint(20, 90)), rng),
                 "profile": [CARIN_PROFILE_UNVERSIONED.format("C4BB-Patient")]},
        "extension": [coded_extension("race", *beneficiary.race),
                      {"url": variable("rfrnc_yr"), "valueDate": str(REFERENCE_TODAY.year)}],
        "identifier": [
            {"type": concept(V2_0203, "MB", "Member Number"), "system": variable("bene_id"), "value": beneficiary.id},
            {"type": {"coding": [{"extension": [current]} | coding(V2_0203, "MC", "Patient's Medicare number")]},
             "system": MBI_SYSTEM, "value": beneficiary.mbi, "period": {"start": beneficiary.entitled.isoformat()}},
        ],
        "name": [{"use": "usual", "family": beneficiary.family, "given": [beneficiary.given, beneficiary.middle]}],
        "gender": beneficiary.gender,
        "birthDate": beneficiary.birth_date.isoformat(),
        "address": [{"city": address["city"], "state": address["state"], "postalCode": address["postalCode"]}],
    }


def coverage_resources(beneficiary: Beneficiary, rng: random.Random) -> list[dict]:
    """Parts A, B, C and D as Blue Button serves them, ids `part-a-<bene_id>` and so on.

    This beneficiary is in Original Medicare with a stand-alone drug plan: Part C says, month by month, that no
    Medicare Advantage plan (HMO) covers them, and Part D names the drug plan's contract and benefit package."""
    status = ("20", "Disabled without ESRD") if beneficiary.disabled else ("10", "Aged without end-stage renal disease (ESRD)")
    entitlement = ("1", "Disability insurance benefits (DIB)") if beneficiary.disabled else ("0", "Old age and survivor's insurance (OASI)")
    year = {"url": variable("rfrnc_yr"), "valueDate": str(REFERENCE_TODAY.year)}
    contract, package = beneficiary.part_d_plan
    extensions = {
        "a": [coded_extension("ms_cd", *status), coded_extension("orec", *entitlement),
              coded_extension("crec", *entitlement), coded_extension("esrd_ind", "0", "the beneficiary does not have ESRD"),
              coded_extension("a_trm_cd", "0", "Not Terminated"), year],
        "b": [coded_extension("ms_cd", *status), coded_extension("b_trm_cd", "0", "Not Terminated"), year],
        "c": [coded_extension(f"hmo_ind_{month}", "0", "Not a member of an HMO") for month in MONTHS] + [year],
        "d": [coded_extension(f"ptdcntrct{month}", contract) for month in MONTHS]
             + [coded_extension(f"ptdpbpid{month}", package) for month in MONTHS] + [year],
    }
    resources = []
    for part in PARTS:
        start = beneficiary.entitled if part in "ab" else max(beneficiary.entitled, date(2006, 1, 1))
        resources.append({
            "resourceType": "Coverage",
            "id": f"part-{part}-{beneficiary.id}",
            "meta": {"lastUpdated": bfd_instant(REFERENCE_TODAY - timedelta(days=rng.randint(20, 90)), rng),
                     "profile": [CARIN_PROFILE_UNVERSIONED.format("C4BB-Coverage")]},
            "extension": extensions[part],
            "status": "active",
            "type": concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "SUBSIDIZ"),
            "subscriberId": beneficiary.mbi,
            "beneficiary": beneficiary.reference,
            "relationship": concept("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self"),
            "period": {"start": start.isoformat()},
            "payor": CMS_PAYOR,
            "class": [{"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class", "group", "Group"),
                       "value": "Medicare"},
                      {"type": concept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan", "Plan"),
                       "value": f"Part {part.upper()}"}],
        })
    return resources
