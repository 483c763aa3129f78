"""Later days of a member's claims (`--days`), as mockpayer/scenarios.py reads them.

Money still adds up: a removed claim is the last one its year processed (so no remaining claim's cost share
leaned on it), a changed claim keeps its amounts, and new claims continue the year's deductible and
out-of-pocket totals of the claims still there.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Iterator

from mockpayer.generate.claims import ClaimWriter
from mockpayer.generate.dates import REFERENCE_TODAY, instant
from mockpayer.generate.members import Member
from mockpayer.generate.roster import PlanContext
from mockpayer.generate.tables import CLAIM_KIND_WEIGHTS, CLAIM_KINDS

NEW_CLAIMS_PER_DAY = (1, 3)
NEW_CLAIM_AGE_DAYS = (55, 70)  # service this long ago: adjudicated (at most 5 + 37 days later) and paid by the day


def day_date(day: int) -> date:
    """Day 1 is REFERENCE_TODAY; day n is n - 1 days later."""
    return REFERENCE_TODAY + timedelta(days=day - 1)


def later_days(plan: PlanContext, member: Member, eobs: list[dict], days: int,
               seed: int) -> Iterator[tuple[int, list[dict], list[str]]]:
    """Days 2 to `days` of a member's claims, as (day, the claims new or changed that day, the ids removed).

    Each day removes one claim, changes one and adds a few; the new and changed ones are updated on that day,
    later than anything before it. `eobs` are day 1's claims in the order they were processed.
    """
    claims = list(eobs)
    next_number = len(claims) + 1
    for day in range(2, days + 1):
        rng = random.Random(f"{seed}/member/{member.number}/day/{day}")
        today = day_date(day)
        removed = [_remove_last_of_a_year(claims, rng)] if len(claims) > 1 else []
        changed = [_reprocess(claims, rng, today)] if claims else []
        member.cost_years = cost_years_after(member, claims)
        writer = ClaimWriter(plan, member, rng)
        new = []
        visits = sorted((today - timedelta(days=rng.randint(*NEW_CLAIM_AGE_DAYS)),
                         rng.choices(CLAIM_KINDS, CLAIM_KIND_WEIGHTS)[0]) for _ in range(rng.randint(*NEW_CLAIMS_PER_DAY)))
        for service_day, kind in visits:
            claim = writer.eob(next_number, service_day, kind)
            claim["meta"]["lastUpdated"] = instant(today, rng)
            next_number += 1
            new.append(claim)
        claims += new
        yield day, changed + new, removed


def _remove_last_of_a_year(claims: list[dict], rng: random.Random) -> str:
    """Removes the last claim processed in a year picked at random: no claim left leaned on its cost share."""
    year = rng.choice(sorted({_claim_year(claim) for claim in claims}))
    position = max(index for index, claim in enumerate(claims) if _claim_year(claim) == year)
    return claims.pop(position)["id"]


def _reprocess(claims: list[dict], rng: random.Random, today: date) -> dict:
    """A claim reprocessed today: a new version with a note saying so; its amounts do not change."""
    position = rng.randrange(len(claims))
    claim = claims[position]
    meta = claim["meta"]
    version = int(meta.get("versionId", "1")) + 1
    notes = claim.get("processNote", [])
    reprocessed = {**claim, "meta": {"versionId": str(version), "lastUpdated": instant(today, rng)} | {
        key: value for key, value in meta.items() if key not in ("versionId", "lastUpdated")}}
    reprocessed["processNote"] = notes + [{"number": len(notes) + 1, "type": "display",
                                           "text": f"Reprocessed on {today.isoformat()}: the provider corrected the "
                                                   "claim's details; the amounts are unchanged."}]
    claims[position] = reprocessed
    return reprocessed


def _claim_year(claim: dict) -> int:
    """The year whose deductible and out-of-pocket totals the claim counted against (its first service day's)."""
    return int(claim["billablePeriod"]["start"][:4])


def cost_years_after(member: Member, claims: list[dict]) -> dict[int, list[int]]:
    """The member's deductible and out-of-pocket room left per year after `claims`, in `cost_share`'s shape."""
    _, _, deductible_limit, oop_limit, _, _ = member.design
    room: dict[int, list[int]] = {}
    for claim in claims:
        totals = {entry["category"]["coding"][0]["code"]: round(entry["amount"]["value"] * 100)
                  for entry in claim["total"]}
        left = room.setdefault(_claim_year(claim), [deductible_limit, oop_limit])
        left[0] -= totals["deductible"]
        left[1] -= totals["memberliability"]
    return room
