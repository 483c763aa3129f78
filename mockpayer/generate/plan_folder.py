"""Writes a whole plan folder (plan.json, data/, directory/, days/) of either profile, one member at a time, each
resource as soon as it is made, so any size fits in bounded memory."""

from __future__ import annotations

import random
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

import orjson

from mockpayer.generate.beneficiaries import coverage_resources, make_beneficiary
from mockpayer.generate.beneficiaries import patient_resource as beneficiary_patient
from mockpayer.generate.bundles import BundleFile, indented, relink
from mockpayer.generate.claims import ClaimWriter
from mockpayer.generate.clinical import ClinicalWriter
from mockpayer.generate.dates import DIRECTORY_UPDATED, OFFSET, service_days
from mockpayer.generate.days import day_date, later_days
from mockpayer.generate.directory import directory_resources
from mockpayer.generate.formulary import formulary_resources
from mockpayer.generate.medicare_claims import MedicareClaimWriter
from mockpayer.generate.members import coverage_resource, make_member, patient_resource
from mockpayer.generate.prior_auths import prior_authorizations
from mockpayer.generate.roster import PlanContext, build_roster, payer_resource, provider_resource
from mockpayer.generate.settings import GENERATED_PLAN_KEYS, member_login, plan_settings
from mockpayer.generate.tables import MEDICARE_CLAIM_TYPES, MEDICARE_CLAIM_WEIGHTS
from mockpayer.plans import MODES

SYSTEM_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")
PROFILES = {"carin": "1up", "bluebutton": "bluebutton"}  # profile -> its default mode


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


def write_plan(out_dir: str | Path, *, profile: str = "carin", system_id: str = "demoplan",
               name: str = "Demo Health Plan", base_url: str = "1updemohealthplan.com", mode: str | None = None,
               members: int = 3, claims_per_member: int | Sequence[int] = 20, seed: int = 0, clinical: bool = False,
               settings_from: str | Path | None = None, days: int = 1) -> Summary:
    """Write a complete plan folder to `out_dir` and return what was written.

    `profile` is the shape of the records: "carin" (a commercial plan's CARIN BB claims, providers, directory)
    or "bluebutton" (Medicare beneficiaries as CMS Blue Button 2.0 serves them: Patient, Coverage and
    ExplanationOfBenefit only); `mode` defaults to the profile's (1up, bluebutton). `claims_per_member` is one
    count for every member, or one per member in order (the last repeats).
    The generator owns `data/`, `directory/` and `days/`: their JSON files are replaced, `days/` holds days
    2 to `days` (none for 1), and a bluebutton plan has no `directory/`. `settings_from` names a plan.json
    whose tokens, paging, clients, other extra keys and member logins (username, password, name, mfa, email,
    verification) are kept, so a hand-tuned plan can get fresh data without losing its accounts; members beyond
    its list get new logins. New client ids and usernames are made from `system_id` (`<id>-confidential-app`,
    `<id>-member1`; the demo plan's own for `demoplan`).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}: {profile!r}")
    mode = mode or PROFILES[profile]
    if not SYSTEM_ID_PATTERN.fullmatch(system_id):
        raise ValueError(f"system id must match {SYSTEM_ID_PATTERN.pattern}: {system_id!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
    counts = claim_counts(claims_per_member, members)
    if members < 1 or min(counts) < 0 or days < 1:
        raise ValueError("need at least one member and one day, and a non-negative number of claims")
    if profile == "bluebutton" and (clinical or days > 1):
        raise ValueError("the bluebutton profile serves Patient, Coverage and ExplanationOfBenefit of one day: "
                         "no clinical records, no later days")
    settings = orjson.loads(Path(settings_from).read_bytes()) if settings_from else {}
    kept_logins = settings.get("members", [])
    settings = {key: value for key, value in settings.items() if key not in GENERATED_PLAN_KEYS + ("members",)}

    out = Path(out_dir)
    files = PlanFiles(out, Summary(out))
    owned = ("data",) if profile == "bluebutton" else ("data", "directory")  # Blue Button serves no directory
    for folder in owned:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out / folder).glob("*.json"):
            stale.unlink()
    for folder in {"days", "directory"} - set(owned):
        shutil.rmtree(out / folder, ignore_errors=True)
    plan = PlanContext(system_id, name, base_url, seed)
    build_roster(plan)
    if profile == "bluebutton":
        logins = _write_beneficiaries(files, plan, counts, kept_logins)
    else:
        logins = _write_carin(files, plan, counts, kept_logins, clinical, days)
    files.summary.days = days
    files.raw(out / "plan.json", indented(plan_settings(system_id, name, base_url, mode, logins, settings, profile)))
    return files.summary


def claim_counts(claims_per_member: int | Sequence[int], members: int) -> list[int]:
    """Each member's number of claims: one count for all, or the nth count for member n (the last repeats)."""
    counts = [claims_per_member] if isinstance(claims_per_member, int) else list(claims_per_member)
    if not counts:
        raise ValueError("claims per member: give at least one count")
    return [counts[min(index, len(counts) - 1)] for index in range(max(members, 0))] or counts


@dataclass
class PlanFiles:
    """Writes a plan folder's files and counts what they hold in the run's Summary."""
    out: Path
    summary: Summary

    def single(self, path: Path, resource: dict) -> None:
        self.raw(path, indented(resource))
        self.summary.count(resource)

    def raw(self, path: Path, content: bytes) -> None:
        path.write_bytes(content)
        self.summary.files += 1
        self.summary.bytes += len(content)

    def close(self, bundle: BundleFile) -> None:
        bundle.close()
        self.summary.files += 1
        self.summary.bytes += bundle.bytes

    def member_bundle(self, path: Path, bundle_id: str, moment: str) -> BundleFile:
        """A member's records: a `collection` Bundle streamed one entry per line."""
        return BundleFile(path, {"resourceType": "Bundle", "id": bundle_id, "meta": {"lastUpdated": moment},
                                 "type": "collection", "timestamp": moment})

    def add(self, bundle: BundleFile, fhir_base: str, resource: dict) -> None:
        bundle.add({"fullUrl": f"{fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource})
        self.summary.count(resource)


def _write_beneficiaries(files: PlanFiles, plan: PlanContext, counts: list[int], kept_logins: list[dict]) -> list[dict]:
    """The bluebutton profile: each beneficiary's Patient, Coverage (Parts A-D) and claims in `data/`, with
    fullUrls under the plan's Blue Button FHIR base (`https://<base-url>/v2/fhir`)."""
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
        files.add(bundle, fhir_base, beneficiary_patient(beneficiary, rng))
        for coverage in coverage_resources(beneficiary, rng):
            files.add(bundle, fhir_base, coverage)
        claims = MedicareClaimWriter(plan, beneficiary, rng)
        for claim_number, (day, kind) in enumerate(service_days(rng, beneficiary.history_start, count,
                                                                MEDICARE_CLAIM_TYPES, MEDICARE_CLAIM_WEIGHTS), 1):
            files.add(bundle, fhir_base, claims.eob(claim_number, day, kind))
        files.close(bundle)
        files.summary.members += 1
    return logins


def _write_roster(files: PlanFiles, plan: PlanContext) -> None:
    """The payer's Organization and one searchset Bundle of the provider roster, as a directory search answers."""
    out = files.out
    payer = payer_resource(plan)
    files.single(out / "data" / f"Organization-{payer['id']}.json", payer)
    roster = [provider_resource(provider) for provider in plan.providers.values()]
    bundle = BundleFile(out / "data" / "providers.json", {
        "resourceType": "Bundle", "id": f"{plan.system_id}-providers", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "searchset", "total": len(roster),
        "link": [{"relation": "self", "url": f"{plan.fhir_base}/Organization?_count={len(roster)}&_include=*"}]})
    for resource in roster:
        bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource,
                    "search": {"mode": "match"}})
        files.summary.count(resource)
    files.close(bundle)


def _write_carin(files: PlanFiles, plan: PlanContext, counts: list[int], kept_logins: list[dict], clinical: bool,
                 days: int) -> list[dict]:
    """The carin profile: the payer and provider roster, each member's records (and later days), the directory
    and formulary."""
    out, summary, system_id, seed = files.out, files.summary, plan.system_id, plan.seed
    removed_by_day: dict[int, list[str]] = {day: [] for day in range(2, days + 1)}
    _write_roster(files, plan)

    logins = []
    for number, claims_per_member in enumerate(counts, 1):
        kept = kept_logins[number - 1] if number <= len(kept_logins) else None
        rng = random.Random(f"{seed}/member/{number}")
        member = make_member(plan, number, rng, kept.get("name") if kept else None)
        logins.append(member_login(system_id, f"Patient/{member.id}", number, seed, kept,
                                   f"{member.given} {member.family}"))
        bundle = files.member_bundle(out / "data" / f"member-{number}.json", f"{member.id}-records", DIRECTORY_UPDATED)
        files.add(bundle, plan.fhir_base, patient_resource(plan, member, rng))
        files.add(bundle, plan.fhir_base, coverage_resource(plan, member, rng))
        claims = ClaimWriter(plan, member, rng)
        eobs = []
        for claim_number, (day, kind) in enumerate(claims.claim_days(claims_per_member), 1):
            eobs.append(claims.eob(claim_number, day, kind))
            files.add(bundle, plan.fhir_base, eobs[-1])
        for resource in prior_authorizations(plan, member, random.Random(f"{seed}/prior-authorization/{number}")):
            files.add(bundle, plan.fhir_base, resource)
        if clinical:
            for resource in ClinicalWriter(plan, member, random.Random(f"{seed}/clinical/{number}")).resources(
                    claims.visits, claims.fills):
                files.add(bundle, plan.fhir_base, resource)
        files.close(bundle)
        summary.members += 1
        for day, updated, removed in later_days(plan, member, eobs, days, seed):
            removed_by_day[day] += [f"ExplanationOfBenefit/{claim_id}" for claim_id in removed]
            if updated:
                folder = out / "days" / str(day) / "data"
                folder.mkdir(parents=True, exist_ok=True)
                moment = datetime.combine(day_date(day), time(23), OFFSET).isoformat()
                bundle = files.member_bundle(folder / f"member-{number}.json", f"{member.id}-day{day}", moment)
                for resource in updated:
                    bundle.add({"fullUrl": f"{plan.fhir_base}/{resource['resourceType']}/{resource['id']}",
                                "resource": resource})
                files.close(bundle)

    for resource in directory_resources(plan):
        files.single(out / "directory" / f"{resource['resourceType']}-{resource['id']}.json", resource)
    formulary = list(formulary_resources(plan))
    keys = [f"{r['resourceType']}/{r['id']}" for r in formulary]
    uuids = {key: f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{plan.fhir_base}/{key}')}" for key in keys}
    bundle = BundleFile(out / "directory" / "formulary.json", {
        "resourceType": "Bundle", "id": f"{system_id}-formulary", "meta": {"lastUpdated": DIRECTORY_UPDATED},
        "type": "transaction"})
    for resource in formulary:
        key = f"{resource['resourceType']}/{resource['id']}"
        linked = relink(resource, uuids)
        bundle.add({"fullUrl": uuids[key], "resource": linked, "request": {"method": "PUT", "url": key}})
        summary.count(linked)
    files.close(bundle)

    for day, removed in removed_by_day.items():
        (out / "days" / str(day) / "data").mkdir(parents=True, exist_ok=True)
        files.raw(out / "days" / str(day) / "removed.json", orjson.dumps(removed, option=orjson.OPT_INDENT_2) + b"\n")
    return logins
