"""The `mockpayer` command: serve the mock, list its plans, generate plan data."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

from ipaddress import ip_network
from pathlib import Path

from mockpayer import generate as generate_options
from mockpayer.load_report import count, plan_problems, report_lines
from mockpayer.plans import BUNDLED_PLANS_DIR, EMAIL, PlanError, load_plan, load_plans
from mockpayer.resources import PlanResources, load_plan_resources
from mockpayer.scenarios import DAYS_FOLDER, day_count, next_day
from mockpayer.state import StateError, open_state, shown_url
from mockpayer.validation import EVERY, VALIDATED_BY_DEFAULT
from mirror.http.closed_pipe import closed_pipe
from mirror.http.hosts import LOOPBACK, is_loopback_host
from mirror.http.wsgi_server import ServeError, serve_forever

DEFAULT_PORT = 9000
VALIDATED = {"sample": VALIDATED_BY_DEFAULT, "all": EVERY, "none": 0}  # `check --validate`: how many of a load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mockpayer", description="A mock 1upHealth-style health plan.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve every plan's OAuth server and FHIR API")
    serve.add_argument("--host", default=LOOPBACK, help="address to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s)")
    serve.add_argument("--fixtures", default=str(BUNDLED_PLANS_DIR), help="folder of plan folders")
    serve.add_argument("--faults", metavar="FILE",
                       help='QA faults, JSON {"<system-id>" or "*": spec}, over the plans\' own (see README)')
    serve.add_argument("--trust-proxy", action="store_true",
                       help="behind a TLS proxy: advertise the scheme and host it forwards (X-Forwarded-Proto, "
                            "-Host, -For); only with a proxy in front, as anyone can send these headers")
    serve.add_argument("--public-host", action="append", default=[], metavar="NAME",
                       help="also answer requests addressed to NAME, such as the proxy's public name (repeatable)")
    serve.add_argument("--plan", action="append", default=[], metavar="ID",
                       help="serve only this plan (repeatable); a Blue Button plan served alone also answers at "
                            "the root (/v2/...), where CMS's SDK looks")
    serve.add_argument("--admin-from", action="append", default=[], type=_network, metavar="CIDR",
                       help="also answer /_admin from this network, such as a container bridge (repeatable); for "
                            "development only: anyone there can move the clock and set faults for every member")
    serve.add_argument("--state", metavar="URL",
                       help="keep codes, tokens, sign-ins, lockouts, faults, the clock, days and registered clients "
                            "in Redis (redis://host:port/db, optionally ?prefix=NAME), shared by every mock process "
                            "using it (default: in this process)")
    serve.add_argument("--strict", action="store_true",
                       help="refuse to start when any file or entry of a plan cannot be served (errors in the report)")
    serve.add_argument("--workers", type=_worker_count, default=1, metavar="N",
                       help="serve from N processes on the one port, to use more cores (default: %(default)s); N > 1 "
                            "needs --state redis://..., where the workers share codes, tokens, faults and the clock")
    serve.set_defaults(run=_serve)

    plans = commands.add_parser("plans", help="list plans with their clients and members (mock credentials)")
    plans.add_argument("--fixtures", default=str(BUNDLED_PLANS_DIR), help="folder of plan folders")
    plans.add_argument("--json", action="store_true", help="print JSON instead of text")
    plans.set_defaults(run=_plans)

    generate = commands.add_parser("generate", help="write a plan folder of deterministic synthetic members")
    generate_options.add_arguments(generate)
    generate.set_defaults(run=_generate)

    check = commands.add_parser("check", help="report problems in plan folders (JSON, ids, R4 validation, references)")
    check.add_argument("folder", nargs="?", default=str(BUNDLED_PLANS_DIR),
                       help="a plan folder, or a folder of plan folders (default: the bundled plans)")
    check.add_argument("--validate", choices=tuple(VALIDATED), default="sample",
                       help=f"R4-validate every resource of a load of at most {VALIDATED_BY_DEFAULT:,}, else a sample "
                            "covering every type and profile and every file (default: sample); all: every "
                            "resource (slow: milliseconds each); none: no R4 validation")
    check.set_defaults(run=_check)

    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # here, where a reader that went away is caught, rather than at exit
        return status
    except (PlanError, ServeError, StateError) as error:
        print(f"mockpayer: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return closed_pipe()


def _serve(args) -> int:
    from mockpayer.app import create_app
    from mockpayer.faults import read_faults_file

    if args.workers > 1:
        _check_workers(args)
    state = open_state(args.state)
    app = create_app(args.fixtures, plans=_chosen_plans(args.fixtures, args.plan), state=state,
                     faults=read_faults_file(args.faults) if args.faults else None,
                     bind_host=args.host, trust_proxy=args.trust_proxy, public_hosts=args.public_host,
                     admin_from=args.admin_from)
    context = app.extensions["mockpayer"]
    errors = 0
    for system_id, plan in context.plans.items():
        problems = plan_problems(plan, context.resources[system_id])
        errors += count(problems, "error")
        print("\n".join(report_lines(plan, context.resources[system_id], problems)))
    # The plans are held for the process's life: out of the collector's generations, its full collections walk
    # what requests allocate, not the plans' millions of objects.
    gc.freeze()
    if args.strict and errors:
        print(f"mockpayer: --strict: {errors} files or entries cannot be served (listed above); not starting",
              file=sys.stderr)
        return 2
    if not is_loopback_host(args.host):
        print(f"mockpayer: warning: listening on {args.host}, reachable from other machines", file=sys.stderr)
    if args.admin_from:
        networks = ", ".join(map(str, args.admin_from))
        print(f"mockpayer: warning: /_admin also answers {networks} (--admin-from): for development only",
              file=sys.stderr)

    def announce(root: str) -> None:  # once listening: with --port 0, the port it got
        print(f"mock payer serving at {root}  (Ctrl-C stops it)")
        if args.state:
            print(f"state shared in Redis at {shown_url(args.state)}")
        if args.trust_proxy:
            print("behind a proxy: the URLs it advertises follow its X-Forwarded-Proto and X-Forwarded-Host")
        served = app.extensions["mockpayer"].plans
        for plan in served.values():
            print(_plan_tour(plan, root, alone=len(served) == 1))
        sys.stdout.flush()

    if args.workers > 1:
        from mirror.http.prefork_server import serve_workers

        serve_workers(app, args.host, args.port, args.workers, name="mockpayer", announce=announce)
    else:
        serve_forever(app, args.host, args.port, announce=announce)
    return 0


def _network(text: str):
    """`--admin-from`: a network in CIDR notation, or one address."""
    try:
        return ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a network such as 172.18.0.0/16: {text!r}") from None


def _check_workers(args) -> None:
    """Before anything loads: several workers need a state they share, and a system gunicorn runs on."""
    if args.state is None:
        raise ServeError(f"--workers {args.workers} needs --state redis://HOST:PORT/DB: each worker process would "
                         "keep its own codes, tokens, faults and clock")
    if os.name != "posix":
        raise ServeError("--workers above 1 needs a Unix system, where gunicorn's pre-fork server runs")


def _worker_count(text: str) -> int:
    """`--workers`: a whole number of processes, at least one."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a number of processes such as 2: {text!r}")
    return int(text)


def _chosen_plans(fixtures: str, wanted: list[str]) -> dict:
    """The plans `--plan` names (every plan without it), in the order named."""
    plans = load_plans(fixtures)
    for system_id in wanted:
        if system_id not in plans:
            raise PlanError(f"{fixtures}: no plan {system_id!r} (plans: {', '.join(plans)})")
    return {system_id: plans[system_id] for system_id in dict.fromkeys(wanted)} if wanted else plans


def _plan_tour(plan, root: str, *, alone: bool) -> str:
    lines = [f"\n{plan.name} [{plan.system_id}, {plan.mode} mode]"]
    if plan.is_bluebutton:
        base = root if alone else f"{root}/{plan.system_id}"
        lines += [f"  FHIR base:  {base}/v2/fhir",
                  "  sign in:    through a Blue Button client (PKCE S256 is required), e.g. CMS's SDK with base "
                  f"URL {base}"]
    elif plan.is_strict_smart:
        lines += [f"  FHIR base:  {root}/{plan.system_id}/r4",
                  "  sign in:    through a SMART client (PKCE S256 and aud are required), e.g. from the FHIR base"]
    else:
        client = next(iter(plan.clients.values()))
        lines += [f"  FHIR base:  {root}/{plan.system_id}/r4",
                  f"  sign in:    {root}/oauth2/authorize/{plan.system_id}?client_id={client.client_id}"
                  f"&redirect_uri={client.redirect_uris[0]}&scope=patient/*.read%20offline_access&state=demo"]
    for m in plan.members.values():
        second_step = _second_step(m.mfa, m.email if m.verifies_by_email else None)
        lines.append(f"  member:     {m.username} / {m.password}" + (f" ({second_step})" if second_step else ""))
    days = day_count(plan.folder)
    if days > 1:
        lines.append(f"  days:       {days} days of records; POST {root}/_admin/advance moves to the next")
    return "\n".join(lines)


def _plans(args) -> int:
    plans = load_plans(args.fixtures)
    described = [
        {
            "system_id": plan.system_id,
            "name": plan.name,
            "base_url": plan.base_url,
            "mode": plan.mode,
            "clients": [
                {"client_id": c.client_id, "client_secret": c.client_secret, "redirect_uris": list(c.redirect_uris)}
                for c in plan.clients.values()
            ],
            "members": [
                {"username": m.username, "password": m.password, "patient": f"Patient/{m.patient_id}", "mfa": m.mfa,
                 "verification": m.verification, "email": m.email}
                for m in plan.members.values()
            ],
        }
        for plan in plans.values()
    ]
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for plan in described:
        print(f"{plan['system_id']}: {plan['name']} ({plan['mode']} mode, base_url {plan['base_url']})")
        for client in plan["clients"]:
            kind = "public" if client["client_secret"] is None else f"secret {client['client_secret']}"
            print(f"  client {client['client_id']} ({kind}) redirect {' '.join(client['redirect_uris'])}")
        for member in plan["members"]:
            second_step = _second_step(member["mfa"], member["email"] if member["verification"] == EMAIL else None)
            second_step = f", {second_step}" if second_step else ""
            print(f"  member {member['username']} / {member['password']} -> {member['patient']}{second_step}")
    return 0


def _second_step(mfa: str | None, emailed_to: str | None) -> str:
    """What a member enters after the password, in words ("" when the password is all)."""
    if emailed_to:
        return f"a code emailed to {emailed_to}, read at GET /_admin/outbox"
    return f"MFA code {mfa}" if mfa else ""


def _generate(args) -> int:
    generate_options.run(args)
    return 0


def _check(args) -> int:
    """Loads like `serve` does, plus R4 validation; exit status 1 when something would not be served."""
    folder = Path(args.folder)
    plans = [load_plan(folder)] if (folder / "plan.json").is_file() else list(load_plans(folder).values())
    validate = VALIDATED[args.validate]
    errors = 0
    for plan in plans:
        resources = load_plan_resources(plan.folder, validate=validate, duplicates=plan.duplicates or "error",
                                        follow_symlinks=plan.follow_symlinks)
        problems = plan_problems(plan, resources)
        errors += count(problems, "error")
        print("\n".join(report_lines(plan, resources, problems)))
        print(f"  {_validated_line([resources.data.validated, resources.directory.validated])}")
        errors += _check_later_days(plan, resources, validate)
    return 1 if errors else 0


def _validated_line(counts: list[tuple[int, int] | None]) -> str:
    """How many of a load's resources were R4-validated (ResourceSet.validated), in words."""
    if None in counts:
        return "R4 validation: none (--validate none)"
    validated, seen = (sum(column) for column in zip(*counts, strict=True))
    if validated == seen:
        return f"R4 validation: every resource ({seen:,})"
    return (f"R4 validation: {validated:,} of {seen:,} resources (a sample covering every type and profile; "
            "--validate all checks each one)")


def _check_later_days(plan, resources: PlanResources, validate: float) -> int:
    """Each later day as the mock would serve it after advancing (mockpayer/scenarios.py); its error count."""
    data, errors = resources.data, 0
    for day in range(2, day_count(plan.folder) + 1):
        data, changes = next_day(data, plan.folder / DAYS_FOLDER / str(day), 0, validate=validate,
                                 follow_symlinks=plan.follow_symlinks)
        problems = PlanResources(data, resources.directory).problems
        day_errors = count(problems, "error")
        errors += day_errors
        print(f"  day {day}: {len(changes.new)} new, {len(changes.changed)} changed, {len(changes.removed)} removed, "
              f"{day_errors} errors, {count(problems, 'warning')} warnings")
        for problem in problems:
            print(f"    {problem}")
        print(f"    {_validated_line([data.validated])}")
    return errors


if __name__ == "__main__":
    sys.exit(main())
