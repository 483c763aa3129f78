"""The carin profile's files: a commercial plan's roster, members' records and later days, directory, formulary."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time

import orjson

from mockpayer.generate.bundles import BundleFile, relink
from mockpayer.generate.claims import ClaimWriter
from mockpayer.generate.clinical import ClinicalWriter
from mockpayer.generate.dates import DIRECTORY_UPDATED, OFFSET
from mockpayer.generate.days import day_date, later_days
from mockpayer.generate.directory import directory_resources
from mockpayer.generate.formulary import formulary_resources
from mockpayer.generate.members import Member, coverage_resource, make_member, patient_resource
from mockpayer.generate.plan_files import PlanFiles
from mockpayer.generate.prior_auths import prior_authorizations
from mockpayer.generate.roster import PlanContext, payer_resource, provider_resource
from mockpayer.generate.settings import member_login


def write_carin(files: PlanFiles, plan: PlanContext, counts: list[int], kept_logins: list[dict], clinical: bool,
                days: int) -> list[dict]:
    """Write the carin profile's `data/`, `directory/` and `days/`, and return the members' logins."""
    removed_by_day: dict[int, list[str]] = {day: [] for day in range(2, days + 1)}
    _write_roster(files, plan)
    logins = []
    for number, claims_per_member in enumerate(counts, 1):
        kept = kept_logins[number - 1] if number <= len(kept_logins) else None
        rng = random.Random(f"{plan.seed}/member/{number}")
        member = make_member(plan, number, rng, kept.get("name") if kept else None)
        logins.append(member_login(plan.system_id, f"Patient/{member.id}", number, plan.seed, kept,
                                   f"{member.given} {member.family}"))
        eobs = _write_member(files, plan, number, member, rng, claims_per_member, clinical)
        _write_later_days(files, plan, number, member, eobs, days, removed_by_day)
    _write_directory(files, plan)
    _write_formulary(files, plan)
    _write_removals(files, removed_by_day)
    return logins


def _write_roster(files: PlanFiles, plan: PlanContext) -> None:
    """The payer's Organization, and the providers as one `searchset` Bundle that includes their references."""
    payer = payer_resource(plan)
    files.single(files.out / "data" / f"Organization-{payer['id']}.json", payer)
    roster = [provider_resource(provider) for provider in plan.providers.values()]
    bundle = BundleFile(files.out / "data" / "providers.json", {
        "resourceType": "Bundle", "id": f"{plan.system_id}-providers", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "searchset", "total": len(roster),
        "link": [{"relation": "self", "url": f"{plan.fhir_base}/Organization?_count={len(roster)}&_include=*"}]})
    for resource in roster:
        bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
                    "search": {"mode": "match"}})
        files.summary.count(resource)
    files.close(bundle)


def _write_member(files: PlanFiles, plan: PlanContext, number: int, member: Member, rng: random.Random,
                  claims_per_member: int, clinical: bool) -> list[dict]:
    """Member `number`'s day-1 Bundle; returns their claims (EOBs), which later days change."""
    bundle = files.member_bundle(files.out / "data" / f"member-{number}.json", f"{member.id}-records",
                                 DIRECTORY_UPDATED)
    files.add(bundle, plan.fhir_base, patient_resource(plan, member, rng))
    files.add(bundle, plan.fhir_base, coverage_resource(plan, member, rng))
    claims = ClaimWriter(plan, member, rng)
    eobs = []
    for claim_number, (day, kind) in enumerate(claims.claim_days(claims_per_member), 1):
        eobs.append(claims.eob(claim_number, day, kind))
        files.add(bundle, plan.fhir_base, eobs[-1])
    for resource in prior_authorizations(plan, member, random.Random(f"{plan.seed}/prior-authorization/{number}")):
        files.add(bundle, plan.fhir_base, resource)
    if clinical:
        for resource in ClinicalWriter(plan, member, random.Random(f"{plan.seed}/clinical/{number}")).resources(
                claims.visits, claims.fills):
            files.add(bundle, plan.fhir_base, resource)
    files.close(bundle)
    files.summary.members += 1
    return eobs


def _write_later_days(files: PlanFiles, plan: PlanContext, number: int, member: Member, eobs: list[dict],
                      days: int, removed_by_day: dict[int, list[str]]) -> None:
    """Member `number`'s changed claims of days 2 to `days`, noting the removed ones in `removed_by_day`."""
    for day, updated, removed in later_days(plan, member, eobs, days, plan.seed):
        removed_by_day[day] += [f"ExplanationOfBenefit/{claim_id}" for claim_id in removed]
        if updated:
            folder = files.out / "days" / str(day) / "data"
            folder.mkdir(parents=True, exist_ok=True)
            moment = datetime.combine(day_date(day), time(23), OFFSET).isoformat()
            bundle = files.member_bundle(folder / f"member-{number}.json", f"{member.id}-day{day}", moment)
            for resource in updated:
                bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}",
                            "resource": resource})
            files.close(bundle)


def _write_directory(files: PlanFiles, plan: PlanContext) -> None:
    """The Plan-Net directory, one resource a file."""
    for resource in directory_resources(plan):
        files.single(files.out / "directory" / f"{resource['resourceType']}-{resource['id']}.json", resource)


def _write_formulary(files: PlanFiles, plan: PlanContext) -> None:
    """The formulary as a `transaction` Bundle whose references are `urn:uuid`s, a shape the loader must read."""
    formulary = list(formulary_resources(plan))
    keys = [f"{r['resourceType']}/{r['id']}" for r in formulary]
    uuids = {key: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, plan.fhir_base + '/' + key)}" for key in keys}
    bundle = BundleFile(files.out / "directory" / "formulary.json", {
        "resourceType": "Bundle", "id": f"{plan.system_id}-formulary", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "transaction"})
    for resource in formulary:
        key = f"{resource['resourceType']}/{resource['id']}"
        linked = relink(resource, uuids)
        bundle.add({"fullUrl": uuids[key], "resource": linked, "request": {"method": "PUT", "url": key}})
        files.summary.count(linked)
    files.close(bundle)


def _write_removals(files: PlanFiles, removed_by_day: dict[int, list[str]]) -> None:
    """Each later day's `removed.json` (the claims gone that day), with the day's `data/` even when empty."""
    for day, removed in removed_by_day.items():
        (files.out / "days" / str(day) / "data").mkdir(parents=True, exist_ok=True)
        files.raw(files.out / "days" / str(day) / "removed.json",
                  orjson.dumps(removed, option=orjson.OPT_INDENT_2) + b"\n")
