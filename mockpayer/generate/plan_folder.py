"""Writes a whole plan folder (plan.json, data/, directory/, days/), one member at a time, each resource as
soon as it is made, so any size fits in bounded memory."""

from __future__ import annotations

import random
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

import orjson

from mockpayer.generate.bundles import BundleFile, indented, relink
from mockpayer.generate.claims import ClaimWriter
from mockpayer.generate.clinical import ClinicalWriter
from mockpayer.generate.dates import DIRECTORY_UPDATED, OFFSET
from mockpayer.generate.days import day_date, later_days
from mockpayer.generate.directory import directory_resources
from mockpayer.generate.formulary import formulary_resources
from mockpayer.generate.members import coverage_resource, make_member, patient_resource
from mockpayer.generate.prior_auths import prior_authorizations
from mockpayer.generate.roster import PlanContext, build_roster, payer_resource, provider_resource
from mockpayer.generate.settings import GENERATED_PLAN_KEYS, member_login, plan_settings

SYSTEM_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")


@dataclass
class Summary:
    """What a run wrote; `line()` is the one-line report `mockpayer generate` prints."""
    out_dir: Path
    members: int = 0
    files: int = 0
    bytes: int = 0
    resources: dict[str, int] = field(default_factory=dict)  # day 1's
    prior_authorizations: int = 0  # day 1's ExplanationOfBenefit resources with use = preauthorization
    days: int = 1

    def count(self, resource: dict) -> None:
        kind = resource["resourceType"]
        self.resources[kind] = self.resources.get(kind, 0) + 1
        self.prior_authorizations += resource.get("use") == "preauthorization"

    def line(self) -> str:
        eobs = self.resources.get("ExplanationOfBenefit", 0) - self.prior_authorizations
        total = sum(self.resources.values())
        later = f" (day 1; days 2-{self.days} in days/)" if self.days > 1 else ""
        return (f"wrote {self.out_dir}: {self.members} members, {eobs} claims, {self.prior_authorizations} prior "
                f"authorizations, {total} resources{later} in {self.files} files ({self.bytes / 1e6:.1f} MB)")


def write_plan(out_dir: str | Path, *, system_id: str = "demoplan", name: str = "Demo Health Plan",
               base_url: str = "1updemohealthplan.com", mode: str = "1up", members: int = 3, claims_per_member: int = 20,
               seed: int = 0, clinical: bool = False, settings_from: str | Path | None = None,
               days: int = 1) -> Summary:
    """Write a complete plan folder to `out_dir` and return what was written.

    The generator owns `data/`, `directory/` and `days/`: their JSON files are replaced, and `days/` holds days
    2 to `days` (none for 1). `settings_from` names a plan.json
    whose tokens, paging, clients, other extra keys and member logins (username, password, name, mfa) are kept,
    so a hand-tuned plan can get fresh data without losing its accounts; members beyond its list get new logins.
    """
    if not SYSTEM_ID_PATTERN.fullmatch(system_id):
        raise ValueError(f"system id must match {SYSTEM_ID_PATTERN.pattern}: {system_id!r}")
    if mode not in ("1up", "smart"):
        raise ValueError(f"mode must be 1up or smart: {mode!r}")
    if members < 1 or claims_per_member < 0 or days < 1:
        raise ValueError("need at least one member and one day, and a non-negative number of claims")
    settings = orjson.loads(Path(settings_from).read_bytes()) if settings_from else {}
    kept_logins = settings.get("members", [])
    settings = {key: value for key, value in settings.items() if key not in GENERATED_PLAN_KEYS + ("members",)}

    out = Path(out_dir)
    summary = Summary(out)
    for folder in ("data", "directory"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out / folder).glob("*.json"):
            stale.unlink()
    shutil.rmtree(out / "days", ignore_errors=True)
    removed_by_day: dict[int, list[str]] = {day: [] for day in range(2, days + 1)}
    plan = PlanContext(system_id, name, base_url, seed)
    build_roster(plan)

    def write_single(path: Path, resource: dict) -> None:
        content = indented(resource)
        path.write_bytes(content)
        summary.files += 1
        summary.bytes += len(content)
        summary.count(resource)

    def close(bundle: BundleFile) -> None:
        bundle.close()
        summary.files += 1
        summary.bytes += bundle.bytes

    payer = payer_resource(plan)
    write_single(out / "data" / f"Organization-{payer['id']}.json", payer)
    roster = [provider_resource(provider) for provider in plan.providers.values()]
    bundle = BundleFile(out / "data" / "providers.json", {
        "resourceType": "Bundle", "id": f"{system_id}-providers", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "searchset", "total": len(roster),
        "link": [{"relation": "self", "url": f"{plan.fhir_base}/Organization?_count={len(roster)}&_include=*"}]})
    for resource in roster:
        bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
                    "search": {"mode": "match"}})
        summary.count(resource)
    close(bundle)

    logins = []
    for number in range(1, members + 1):
        kept = kept_logins[number - 1] if number <= len(kept_logins) else None
        rng = random.Random(f"{seed}/member/{number}")
        member = make_member(plan, number, rng, kept.get("name") if kept else None)
        logins.append(member_login(system_id, number, seed, kept, f"{member.given} {member.family}"))
        bundle = BundleFile(out / "data" / f"member-{number}.json", {
            "resourceType": "Bundle", "id": f"{member.id}-records", "meta": {"lastUpdated": DIRECTORY_UPDATED},
            "type": "collection", "timestamp": DIRECTORY_UPDATED})

        def add(resource: dict) -> None:
            bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource})
            summary.count(resource)

        add(patient_resource(plan, member, rng))
        add(coverage_resource(plan, member, rng))
        claims = ClaimWriter(plan, member, rng)
        eobs = []
        for claim_number, (day, kind) in enumerate(claims.claim_days(claims_per_member), 1):
            eobs.append(claims.eob(claim_number, day, kind))
            add(eobs[-1])
        for resource in prior_authorizations(plan, member, random.Random(f"{seed}/prior-authorization/{number}")):
            add(resource)
        if clinical:
            for resource in ClinicalWriter(plan, member, random.Random(f"{seed}/clinical/{number}")).resources(
                    claims.visits, claims.fills):
                add(resource)
        close(bundle)
        summary.members += 1
        for day, updated, removed in later_days(plan, member, eobs, days, seed):
            removed_by_day[day] += [f"ExplanationOfBenefit/{claim_id}" for claim_id in removed]
            if updated:
                folder = out / "days" / str(day) / "data"
                folder.mkdir(parents=True, exist_ok=True)
                moment = datetime.combine(day_date(day), time(23), OFFSET).isoformat()
                bundle = BundleFile(folder / f"member-{number}.json", {
                    "resourceType": "Bundle", "id": f"{member.id}-day{day}", "meta": {"lastUpdated": moment},
                    "type": "collection", "timestamp": moment})
                for resource in updated:
                    bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}",
                                "resource": resource})
                close(bundle)

    for resource in directory_resources(plan):
        write_single(out / "directory" / f"{resource['resourceType']}-{resource['id']}.json", resource)
    formulary = list(formulary_resources(plan))
    uuids = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, plan.fhir_base + '/' + r['resourceType'] + '/' + r['id'])}"
             for r in formulary}
    bundle = BundleFile(out / "directory" / "formulary.json", {
        "resourceType": "Bundle", "id": f"{system_id}-formulary", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "transaction"})
    for resource in formulary:
        key = f"{resource['resourceType']}/{resource['id']}"
        linked = relink(resource, uuids)
        bundle.add({"fullUrl": uuids[key], "resource": linked, "request": {"method": "PUT", "url": key}})
        summary.count(linked)
    close(bundle)

    for day, removed in removed_by_day.items():
        (out / "days" / str(day) / "data").mkdir(parents=True, exist_ok=True)
        content = orjson.dumps(removed, option=orjson.OPT_INDENT_2) + b"\n"
        (out / "days" / str(day) / "removed.json").write_bytes(content)
        summary.files += 1
        summary.bytes += len(content)
    summary.days = days

    content = indented(plan_settings(system_id, name, base_url, mode, logins, settings))
    (out / "plan.json").write_bytes(content)
    summary.files += 1
    summary.bytes += len(content)
    return summary
