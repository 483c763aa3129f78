"""`mockpayer generate --days D` (mockpayer/generate/days.py): deterministic, each day one claim
removed, one reprocessed and a few new per member, updated later than anything before, valid R4, and money
that still adds up, with new claims continuing the year's deductible and out-of-pocket totals."""

import argparse
import random

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from mockpayer import generate
from mockpayer.generate.claims import ClaimWriter
from mockpayer.generate.days import cost_years_after, day_date
from mockpayer.generate.members import make_member
from mockpayer.generate.roster import PlanContext, build_roster
from tests.test_generate import amounts, files_of

TINY = dict(members=2, claims_per_member=10, seed=3)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    out = tmp_path_factory.mktemp("series")
    generate.write_plan(out, days=4, **TINY)
    return out


def resources(path):
    return [entry["resource"] for entry in orjson.loads(path.read_bytes())["entry"]]


def state_by_day(folder):
    """Each day's claims, `{day: {id: claim}}`, by applying the deltas as the mock does."""
    claims = {c["id"]: c for f in sorted((folder / "data").glob("member-*.json")) for c in resources(f)
              if c["resourceType"] == "ExplanationOfBenefit" and c["use"] == "claim"}
    days = {1: dict(claims)}
    for day in range(2, 5):
        for reference in orjson.loads((folder / "days" / str(day) / "removed.json").read_bytes()):
            del claims[reference.split("/")[1]]
        for path in sorted((folder / "days" / str(day) / "data").glob("*.json")):
            claims.update({c["id"]: c for c in resources(path)})
        days[day] = dict(claims)
    return days


def test_same_seed_same_bytes_and_day_one_does_not_depend_on_the_days(series, tmp_path):
    generate.write_plan(tmp_path / "again", days=4, **TINY)
    assert files_of(tmp_path / "again") == files_of(series)
    generate.write_plan(tmp_path / "one", **TINY)
    assert files_of(tmp_path / "one") == {name: text for name, text in files_of(series).items()
                                          if not name.startswith("days")}
    generate.write_plan(tmp_path / "one", days=2, **TINY)  # fewer days: the stale ones go
    assert sorted(path.name for path in (tmp_path / "one" / "days").iterdir()) == ["2"]


def test_each_day_removes_one_changes_one_and_adds_a_few_per_member(series):
    days = state_by_day(series)
    for day in range(2, 5):
        before, after = days[day - 1], days[day]
        for member in ("demoplan-m1", "demoplan-m2"):
            old, now = ({key for key in claims if key.startswith(f"{member}-")} for claims in (before, after))
            removed, new = old - now, now - old
            changed = {key for key in now & old if after[key] != before[key]}
            assert len(removed) == len(changed) == 1 and 1 <= len(new) <= 3
            [key] = changed
            assert int(after[key]["meta"]["versionId"]) == int(before[key]["meta"].get("versionId", "1")) + 1
            assert after[key]["total"] == before[key]["total"] and after[key]["item"] == before[key]["item"]
            latest_before = max(claim["meta"]["lastUpdated"] for claim in before.values())
            assert all(after[key]["meta"]["lastUpdated"][:10] == day_date(day).isoformat()
                       and after[key]["meta"]["lastUpdated"] > latest_before for key in new | changed)
            assert all(after[key]["created"] < after[key]["meta"]["lastUpdated"] for key in new)
            assert all(after[key]["payment"]["date"] < day_date(day).isoformat() for key in new)


def test_later_day_files_validate_with_r4b(series):
    for path in sorted((series / "days").rglob("member-*.json")):
        bundle = orjson.loads(path.read_bytes())
        get_fhir_model_class("Bundle").model_validate(bundle)


def test_money_adds_up_every_day_within_each_years_limits(series):
    """Each claim's in-network benefitBalance is the year's running deductible and out-of-pocket total once it
    was processed, on later days too: a removed claim was its year's last and new claims continue the year."""
    designs = {f"demoplan-m{n}": make_member(PlanContext("demoplan", "", "", 3), n, random.Random(f"3/member/{n}"),
                                             None).design for n in (1, 2)}
    for claims in state_by_day(series).values():
        spent = {}
        for claim in claims.values():
            total = amounts(claim["total"])
            assert total["benefit"] + total["memberliability"] == total["eligible"] <= total["submitted"]
            assert total["memberliability"] == total["deductible"] + total["copay"] + total["coinsurance"]
            year = spent.setdefault((claim["patient"]["reference"][8:], claim["billablePeriod"]["start"][:4]), [0, 0])
            year[0] += total["deductible"]
            year[1] += total["memberliability"]
            in_network = next(balance for balance in claim["benefitBalance"]
                              if balance["network"]["coding"][0]["code"] == "in")
            assert [round(f["usedMoney"]["value"] * 100) for f in in_network["financial"]] == year, claim["id"]
        for (member, _), (deductible, liability) in spent.items():
            _, _, deductible_limit, oop_limit, _, _ = designs[member]
            assert deductible <= deductible_limit and liability <= oop_limit


def test_the_totals_read_back_from_claims_are_the_generators_own_accounting():
    """`cost_years_after` rebuilds `cost_share`'s running state from the claims alone, so new claims on a
    later day continue exactly where the claims still held leave the year."""
    plan = PlanContext("demoplan", "Demo", "demo.example", 5)
    build_roster(plan)
    rng = random.Random("5/member/1")
    member = make_member(plan, 1, rng, None)
    writer = ClaimWriter(plan, member, rng)
    claims = [writer.eob(number, day, kind) for number, (day, kind) in enumerate(writer.claim_days(40), 1)]
    assert cost_years_after(member, claims) == member.cost_years


def test_days_on_the_command_line(tmp_path, capsys):
    assert generate.run(generate_args(["--out", str(tmp_path), "--members", "1", "--claims-per-member", "3",
                                       "--days", "3"])).days == 3
    assert "days 2-3 in days/" in capsys.readouterr().out
    assert sorted(path.name for path in (tmp_path / "days").iterdir()) == ["2", "3"]


def generate_args(argv):
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    return parser.parse_args(argv)
