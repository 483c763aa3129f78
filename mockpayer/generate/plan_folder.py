"""Writes a whole plan folder (plan.json, data/, directory/, days/) of either profile in bounded memory.

Each member is written at a time, each resource as soon as it is made, so any size fits. The profiles' files
are carin_folder.py's and bluebutton_folder.py's; this module checks the options, clears what the generator
owns, keeps the settings and logins of an earlier plan.json and writes the new one.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import orjson

from mockpayer.generate.bluebutton_folder import write_beneficiaries
from mockpayer.generate.bundles import indented
from mockpayer.generate.carin_folder import write_carin
from mockpayer.generate.plan_files import PlanFiles, Summary
from mockpayer.generate.roster import PlanContext, build_roster
from mockpayer.generate.settings import GENERATED_PLAN_KEYS, plan_settings
from mockpayer.plans import MODES

__all__ = ["PROFILES", "Summary", "claim_counts", "write_plan"]

SYSTEM_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")
PROFILES = {"carin": "1up", "bluebutton": "bluebutton"}  # profile -> its default mode


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
    mode = _chosen_mode(profile, mode, system_id)
    counts = claim_counts(claims_per_member, members)
    _check_sizes(profile, members, counts, days, clinical)
    settings, kept_logins = _kept_settings(settings_from)
    out = Path(out_dir)
    files = PlanFiles(out, Summary(out))
    _clear_owned_folders(out, profile)
    plan = PlanContext(system_id, name, base_url, seed)
    build_roster(plan)
    if profile == "bluebutton":
        logins = write_beneficiaries(files, plan, counts, kept_logins)
    else:
        logins = write_carin(files, plan, counts, kept_logins, clinical, days)
    files.summary.days = days
    files.raw(out / "plan.json", indented(plan_settings(system_id, name, base_url, mode, logins, settings, profile)))
    return files.summary


def claim_counts(claims_per_member: int | Sequence[int], members: int) -> list[int]:
    """Each member's number of claims: one count for all, or the nth count for member n (the last repeats)."""
    counts = [claims_per_member] if isinstance(claims_per_member, int) else list(claims_per_member)
    if not counts:
        raise ValueError("claims per member: give at least one count")
    return [counts[min(index, len(counts) - 1)] for index in range(max(members, 0))] or counts


def _chosen_mode(profile: str, mode: str | None, system_id: str) -> str:
    """The plan's mode (the profile's own unless given), once the profile, mode and system id are known good."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}: {profile!r}")
    mode = mode or PROFILES[profile]
    if not SYSTEM_ID_PATTERN.fullmatch(system_id):
        raise ValueError(f"system id must match {SYSTEM_ID_PATTERN.pattern}: {system_id!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
    return mode


def _check_sizes(profile: str, members: int, counts: list[int], days: int, clinical: bool) -> None:
    """Refuse sizes no plan can have, and what the bluebutton profile does not serve."""
    if members < 1 or min(counts) < 0 or days < 1:
        raise ValueError("need at least one member and one day, and a non-negative number of claims")
    if profile == "bluebutton" and (clinical or days > 1):
        raise ValueError("the bluebutton profile serves Patient, Coverage and ExplanationOfBenefit of one day: "
                         "no clinical records, no later days")


def _kept_settings(settings_from: str | Path | None) -> tuple[dict, list[dict]]:
    """The extra settings and the member logins of the plan.json `settings_from` names (none without one)."""
    settings = orjson.loads(Path(settings_from).read_bytes()) if settings_from else {}
    kept_logins = settings.get("members", [])
    settings = {key: value for key, value in settings.items() if key not in GENERATED_PLAN_KEYS + ("members",)}
    return settings, kept_logins


def _clear_owned_folders(out: Path, profile: str) -> None:
    """Empty the folders the generator owns of their JSON files, and remove the ones this profile has not."""
    owned = ("data",) if profile == "bluebutton" else ("data", "directory")  # Blue Button serves no directory
    for folder in owned:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for stale in (out / folder).glob("*.json"):
            stale.unlink()
    for folder in {"days", "directory"} - set(owned):
        shutil.rmtree(out / folder, ignore_errors=True)
