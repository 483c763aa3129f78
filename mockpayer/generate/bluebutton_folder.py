"""The bluebutton profile's `data/`: each Medicare beneficiary's Patient, Coverage (Parts A-D) and claims."""

from __future__ import annotations

import random

from mockpayer.generate.beneficiaries import coverage_resources, make_beneficiary, patient_resource
from mockpayer.generate.dates import DIRECTORY_UPDATED, service_days
from mockpayer.generate.medicare_claims import MedicareClaimWriter
from mockpayer.generate.plan_files import PlanFiles
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.settings import member_login
from mockpayer.generate.tables import MEDICARE_CLAIM_TYPES, MEDICARE_CLAIM_WEIGHTS


def write_beneficiaries(files: PlanFiles, plan: PlanContext, counts: list[int], kept_logins: list[dict]) -> list[dict]:
    """Write every beneficiary's records and return their logins.

    fullUrls are under the plan's Blue Button FHIR base (`https://<base-url>/v2/fhir`).
    """
    fhir_base = f"https://{plan.base_url}/v2/fhir"
    logins = []
    for number, count in enumerate(counts, 1):
        kept = kept_logins[number - 1] if number <= len(kept_logins) else None
        rng = random.Random(f"{plan.seed}/beneficiary/{number}")
        beneficiary = make_beneficiary(number, rng, kept.get("name") if kept else None)
        logins.append(member_login(plan.system_id, f"Patient/{beneficiary.id}", number, plan.seed, kept,
                                   f"{beneficiary.given} {beneficiary.family}", "bluebutton"))
        bundle = files.member_bundle(files.out / "data" / f"member-{number}.json", f"{beneficiary.id}-records",
                                     DIRECTORY_UPDATED)
        files.add(bundle, fhir_base, patient_resource(beneficiary, rng))
        for coverage in coverage_resources(beneficiary, rng):
            files.add(bundle, fhir_base, coverage)
        claims = MedicareClaimWriter(plan, beneficiary, rng)
        for claim_number, (day, kind) in enumerate(service_days(rng, beneficiary.history_start, count,
                                                                MEDICARE_CLAIM_TYPES, MEDICARE_CLAIM_WEIGHTS), 1):
            files.add(bundle, fhir_base, claims.eob(claim_number, day, kind))
        files.close(bundle)
        files.summary.members += 1
    return logins
