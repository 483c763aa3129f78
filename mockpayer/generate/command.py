"""The options of `mockpayer generate` and what they mean (mockpayer/cli.py owns the parser)."""

from __future__ import annotations

import argparse

from mockpayer.generate.plan_folder import PROFILES, Summary, write_plan
from mockpayer.plans import MODES, PlanError

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `mockpayer generate` (the cli module owns the parser; this module owns what it means)."""
    parser.add_argument("--out", required=True, help="plan folder to write (its data/ and directory/ are replaced)")
    parser.add_argument("--members", type=int, default=3, help="number of members (default 3)")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="carin",
                        help="shape of the records: carin (a commercial plan's CARIN BB 2.0.0 claims, providers and "
                             "directory) or bluebutton (Medicare beneficiaries as CMS Blue Button 2.0 serves them) "
                             "(default carin)")
    parser.add_argument("--claims-per-member", type=claim_counts_option, default=(20,), metavar="N[,N...]",
                        help="claims per member, or one count per member in order, the last repeating (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument("--clinical", action="store_true", help="add US Core clinical records for every member")
    parser.add_argument("--system-id", default="demoplan", help="plan id used in URLs and resource ids (default demoplan)")
    parser.add_argument("--name", default="Demo Health Plan", help="plan name (default 'Demo Health Plan')")
    parser.add_argument("--base-url", default="1updemohealthplan.com", help="plan host name (default 1updemohealthplan.com)")
    parser.add_argument("--mode", choices=MODES, help="URL and auth style of the plan (default: the profile's, 1up "
                                                       "or bluebutton)")
    parser.add_argument("--settings-from", metavar="PLAN_JSON",
                        help="keep tokens, paging, clients and member logins from this plan.json (without it, "
                             "client ids and usernames are made from the system id: <id>-confidential-app, "
                             "<id>-member1; demoplan's are the demo plan's own)")
    parser.add_argument("--days", type=int, default=1,
                        help="days of records: day 1 in data/, days 2..D in days/<n>/ with each member's new, "
                             "changed and removed claims (default 1)")


def claim_counts_option(text: str) -> tuple[int, ...]:
    """`20` or `1,60,12`: non-negative whole numbers, comma-separated."""
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count or comma-separated counts: {text!r}") from None
    if any(count < 0 for count in counts):
        raise argparse.ArgumentTypeError(f"counts cannot be negative: {text!r}")
    return counts


def run(args: argparse.Namespace) -> Summary:
    """So that `mockpayer generate` writes a plan folder, or fails in one line.

    Writes the plan folder and prints the one-line summary; options that cannot make a plan (a bad system id,
    clinical records for the bluebutton profile) end it with one line, as `mockpayer` reports plan errors."""
    try:
        summary = write_plan(args.out, profile=args.profile, system_id=args.system_id, name=args.name,
                             base_url=args.base_url, mode=args.mode, members=args.members,
                             claims_per_member=args.claims_per_member, seed=args.seed, clinical=args.clinical,
                             settings_from=args.settings_from, days=args.days)
    except ValueError as error:
        raise PlanError(f"generate: {error}") from None
    print(summary.line())
    return summary
