"""The options of `mockpayer generate` and what they mean (mockpayer/cli.py owns the parser)."""

from __future__ import annotations

import argparse

from mockpayer.generate.plan_folder import Summary, write_plan

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `mockpayer generate` (the cli module owns the parser; this module owns what it means)."""
    parser.add_argument("--out", required=True, help="plan folder to write (its data/ and directory/ are replaced)")
    parser.add_argument("--members", type=int, default=3, help="number of members (default 3)")
    parser.add_argument("--claims-per-member", type=int, default=20, help="ExplanationOfBenefit resources per member (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument("--clinical", action="store_true", help="add US Core clinical records for every member")
    parser.add_argument("--system-id", default="demoplan", help="plan id used in URLs and resource ids (default demoplan)")
    parser.add_argument("--name", default="Demo Health Plan", help="plan name (default 'Demo Health Plan')")
    parser.add_argument("--base-url", default="1updemohealthplan.com", help="plan host name (default 1updemohealthplan.com)")
    parser.add_argument("--mode", choices=("1up", "smart"), default="1up", help="URL and auth style of the plan (default 1up)")
    parser.add_argument("--settings-from", metavar="PLAN_JSON",
                        help="keep tokens, paging, clients and member logins from this plan.json")
    parser.add_argument("--days", type=int, default=1,
                        help="days of records: day 1 in data/, days 2..D in days/<n>/ with each member's new, "
                             "changed and removed claims (default 1)")


def run(args: argparse.Namespace) -> Summary:
    summary = write_plan(args.out, system_id=args.system_id, name=args.name, base_url=args.base_url, mode=args.mode,
                         members=args.members, claims_per_member=args.claims_per_member, seed=args.seed,
                         clinical=args.clinical, settings_from=args.settings_from, days=args.days)
    print(summary.line())
    return summary
