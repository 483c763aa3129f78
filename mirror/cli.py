"""The `mirror` command: parse arguments, call the modules that do the work, print what happened.

Each subcommand is one `add_<name>(commands)` function that builds its parser and points it at its
`run_<name>(args) -> exit status`; `SUBCOMMANDS` lists them, so a new subcommand is one function and one
line. Expected failures are one line on stderr (`mirror: ...`) and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from mirror import demo
from mirror.export import FORMATS, ExportError, describe, export
from mirror.http.closed_pipe import closed_pipe
from mirror.http.hosts import LOOPBACK, is_loopback_host
from mirror.http.wsgi_server import ServeError, port_is_free, serve_forever
from mirror.oauth import DEFAULT_WAIT, ConnectError, MockLogin, connect, list_connections
from mirror.plans import (
    AUTH_METHODS,
    DEFAULT_MOCK_URL,
    DEFAULT_SCOPE,
    PRESETS,
    PlanConfig,
    PlanError,
    discover_endpoints,
    one_up_endpoints,
    preset,
)
from mirror.store import STORE_FILE_NAME, Store, has_store, is_readable_store, restore
from mirror.store.errors import StoreError
from mirror.store.files import default_data_dir
from mirror.sync.options import DEFAULT_PAGE_SIZE, SyncOptions
from mirror.sync.progress import progress_for
from mirror.sync.status import epoch_instant, plan_statuses, render_status

CLIENT_SECRET_ENV = "MIRROR_CLIENT_SECRET"
API_TOKEN_ENV = "MIRROR_API_TOKEN"
DEFAULT_SERVE_PORT = 8080
FAILED = 1
INTERRUPTED = 130
EXPECTED_ERRORS = (PlanError, ConnectError, StoreError, ExportError, demo.DemoError, ServeError)


def data_dir(args: argparse.Namespace) -> Path:
    """`--data-dir`, else MIRROR_DATA_DIR, else the platform's user data folder."""
    return Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else default_data_dir()


# connect -------------------------------------------------------------------------------------------------


def add_connect(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "connect", parents=[common], help="sign in to a health plan and keep its tokens privately",
        description="Sign in to a health plan with the OAuth authorization-code flow (PKCE, state, loopback "
                    "redirect) and save the connection, readable by you only, in the data folder.",
    )
    parser.add_argument("name", metavar="NAME", help="your name for this plan (a preset name such as 'demo' "
                                                     "needs no plan option)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--preset", choices=sorted(PRESETS),
                       help="a known plan: demo (the local mock's demoplan), bluebutton (Medicare's Blue Button 2.0)")
    where.add_argument("--base-url", help="a 1upHealth plan's base host, e.g. 1updemohealthplan.com (needs --system-id)")
    where.add_argument("--fhir-base", help="any SMART server's FHIR base URL; endpoints are discovered")
    parser.add_argument("--system-id", help="the 1upHealth plan's system id, e.g. demoplan")
    parser.add_argument("--mock-url", help=f"where the mock payer runs, for presets (default {DEFAULT_MOCK_URL})")
    parser.add_argument("--environment", metavar="sandbox|production|URL",
                        help="bluebutton: CMS's sandbox or production (your app's own --client-id and "
                             "--client-secret), or the root URL of a mock serving the plan alone")
    parser.add_argument("--client-id", help="your app's client id at the plan (presets have one)")
    parser.add_argument("--client-secret", help=f"your app's client secret (or set {CLIENT_SECRET_ENV}, which "
                                                "keeps it out of the process list)")
    parser.add_argument("--auth-method", choices=AUTH_METHODS,
                        help="how the client proves itself to the token endpoint (default: client_secret_post "
                             "with a secret, none without)")
    parser.add_argument("--scope", help=f"scopes to ask for (default: {DEFAULT_SCOPE!r})")
    parser.add_argument("--port", type=_port, default=0, help="loopback port for the sign-in redirect (default: any free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the sign-in address instead of opening a browser")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_WAIT, help="seconds to wait for the sign-in (default %(default)g)")
    parser.add_argument("--login", metavar="USER:PASSWORD", help="fill in the mock payer's sign-in pages (mock only; "
                                                                 "a code the mock emails is read from its outbox)")
    parser.add_argument("--mfa", metavar="CODE", help="the one-time code for --login, when the member has one")
    parser.set_defaults(run=run_connect)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return seconds


def run_connect(args: argparse.Namespace) -> int:
    plan = plan_from_arguments(args)
    login = MockLogin.parse(args.login, args.mfa) if args.login else None
    connection = connect(plan, data_dir(args), port=args.port, open_browser=not args.no_browser, wait=args.timeout,
                         mock_login=login, show=lambda line: print(line, file=sys.stderr, flush=True))
    token = connection.token
    patient = f" as Patient/{token.patient}" if token.patient else ""
    print(f"Connected to {plan.name}{patient}. Granted: {token.scope}. Access until {_moment(token.expires_at)}; "
          f"{'a refresh token is saved' if token.refresh_token else 'no refresh token'}.")
    return 0


def plan_from_arguments(args: argparse.Namespace) -> PlanConfig:
    """The plan the connect options describe: preset, 1up URL shapes, or a SMART FHIR base."""
    known, real = None, False
    if args.base_url:
        if not args.system_id:
            raise PlanError("--base-url needs --system-id (the plan's system id, e.g. demoplan)")
        endpoints = one_up_endpoints(args.base_url, args.system_id)
    elif args.fhir_base:
        endpoints = discover_endpoints(args.fhir_base)
    else:
        if not args.preset and args.name not in PRESETS:
            raise PlanError("say where the plan is: --preset, --base-url with --system-id, or --fhir-base")
        known = preset(args.preset or args.name)
        if args.environment and args.mock_url:
            raise PlanError("--environment and --mock-url both say where the plan is; give one")
        endpoints, real = (known.in_environment(args.environment) if args.environment
                           else (known.on_mock(args.mock_url or DEFAULT_MOCK_URL), False))
        if real and not args.client_id:
            raise PlanError(f"{args.environment} needs your app's own client id and secret, registered with the "
                            "service: --client-id and --client-secret")
    if (args.mock_url or args.environment) and known is None:
        raise PlanError("--mock-url and --environment apply to presets only")
    client_id = args.client_id or (known.client_id if known else None)
    secret = args.client_secret or os.environ.get(CLIENT_SECRET_ENV) or None
    if secret is None and known and not real and client_id == known.client_id:
        secret = known.client_secret
    method = args.auth_method or ("client_secret_post" if secret else "none")
    scope = args.scope or (known.scope if known else DEFAULT_SCOPE)
    return PlanConfig(args.name, endpoints, client_id or "", scope, method, secret,
                      known.max_page_size if known else None)


# connections ---------------------------------------------------------------------------------------------


def add_connections(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("connections", parents=[common], help="list connected plans (never their tokens)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run_connections)


def run_connections(args: argparse.Namespace) -> int:
    summaries = [
        {
            "name": connection.plan.name,
            "fhir_base": connection.plan.endpoints.fhir_base,
            "client_id": connection.plan.client_id,
            "patient": connection.token.patient,
            "scope": connection.token.scope,
            "access_expires_at": _moment(connection.token.expires_at),
            "has_refresh_token": connection.token.refresh_token is not None,
            "connected_at": connection.connected_at,
        }
        for connection in list_connections(data_dir(args))
    ]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    if not summaries:
        print("No plans connected yet; try: mirror connect demo --login member1:pass-member1")
    for summary in summaries:
        refresh = "refresh token saved" if summary["has_refresh_token"] else "no refresh token"
        print(f"{summary['name']}: {summary['fhir_base']} patient {summary['patient'] or '?'}, "
              f"connected {summary['connected_at']}, access until {summary['access_expires_at']}, {refresh}")
    return 0


def _moment(epoch_seconds: int | None) -> str:
    return epoch_instant(epoch_seconds) or "unknown"


# sync ----------------------------------------------------------------------------------------------------


def add_sync(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "sync", parents=[common], help="bring your records home from connected plans",
        description="Fetch your records from each named plan (every connected plan when none is named) into the "
                    "local store: only what changed since the last complete sync, resuming an interrupted one. "
                    "Exit status: 0 complete, 3 partial (something is missing; the next sync resumes it), "
                    "4 failed (nothing could be synced), 1 the sync could not start.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="plans to sync (default: all connected plans)")
    parser.add_argument("--full", action="store_true",
                        help="fetch everything again and mark what the plan no longer has as removed")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("--no-validate", action="store_true",
                        help="store new records without checking them against the R4 models now; a later sync does")
    parser.add_argument("--search-by-type", action="store_true",
                        help="search each resource type instead of using Patient/$everything")
    parser.add_argument("--page-size", type=_positive_int, default=DEFAULT_PAGE_SIZE,
                        help="resources per page to ask for (default %(default)s; the plan may send fewer)")
    parser.add_argument("--max-requests-per-minute", type=_positive_int, metavar="N",
                        help="never send more requests than this in a minute (default: no limit)")
    parser.set_defaults(run=run_sync)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def run_sync(args: argparse.Namespace) -> int:
    from mirror.sync.engine import sync_plans

    if not args.names and not list_connections(data_dir(args)):
        raise PlanError("no plans connected yet, so nothing to sync; try: mirror connect demo --login member1:pass-member1")
    options = SyncOptions(full=args.full, use_everything=not args.search_by_type, page_size=args.page_size,
                          requests_per_minute=args.max_requests_per_minute, validate=not args.no_validate)
    report = sync_plans(data_dir(args), args.names, options, progress_for(sys.stderr))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.table())
    return report.exit_code


# status --------------------------------------------------------------------------------------------------


def add_status(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("status", parents=[common],
                                 help="each plan's last sync, records held, token expiry, re-connect needed")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run_status)


def run_status(args: argparse.Namespace) -> int:
    statuses = plan_statuses(data_dir(args))
    print(json.dumps(statuses, indent=2) if args.json else render_status(statuses))
    return 0


# restore -------------------------------------------------------------------------------------------------


def add_restore(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("restore", parents=[common],
                                 help="repair a damaged store, losing as little as possible (the damaged file is kept)")
    parser.set_defaults(run=run_restore)


def run_restore(args: argparse.Namespace) -> int:
    folder = data_dir(args)
    path = folder / STORE_FILE_NAME
    if is_readable_store(path):
        raise StoreError(f"{path} is readable; nothing was restored (`mirror restore` is for a damaged store).")
    damaged, how = restore(folder)
    kept = f"; the damaged file is kept as {damaged}" if damaged.exists() else ""
    print(f"mirror: restored {path}: {how}{kept}; run `mirror sync` to fetch what changed since.")
    return 0


# serve ---------------------------------------------------------------------------------------------------


def add_serve(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "serve", parents=[common], help="serve your records as a read-only FHIR API on this machine",
        description="Serve the local store as a read-only FHIR R4 API: /fhir/NAME for each plan, and /fhir when "
                    "there is one. It picks up what a running sync writes without a restart.",
    )
    parser.add_argument("--host", default=LOOPBACK,
                        help="address to listen on (default %(default)s, this machine only; anything else lets "
                             "other machines read your records)")
    parser.add_argument("--port", type=_port, default=DEFAULT_SERVE_PORT, help="port (default %(default)s; 0: any free one)")
    parser.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' on every request (or set "
                                         f"{API_TOKEN_ENV}, which keeps it out of the process list)")
    parser.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(API_TOKEN_ENV) or None
    if not is_loopback_host(args.host):
        if token is None:
            print(f"mirror: warning: serving your health records on {args.host} WITHOUT authentication: anyone who "
                  "can reach this address can read them. Use --token to require a bearer token.", file=sys.stderr)
        else:
            print(f"mirror: warning: serving on {args.host} over plain http: records and the token travel "
                  "unencrypted on the network.", file=sys.stderr)
    from mirror.api import create_app  # Flask: imported by the commands that serve, not by every command

    store = Store(data_dir(args), read_only=True)
    app = create_app(store, token=token, bind_host=args.host)
    serve_forever(app, args.host, args.port,
                  announce=lambda root: print(serve_tour(store, root, locked=token is not None), flush=True))
    return 0


def serve_tour(store: Store, root: str, locked: bool = False) -> str:
    """Where the pages and the API answer: the pages first, for a person; then example URLs for an app."""
    sources = store.sources()
    lines = [f"Read your records in a browser: {root}/  (Ctrl-C stops it)"
             + ("; it asks for the token once" if locked else ""),
             f"Serving your records read-only as a FHIR API at {root}/fhir"]
    if not sources:
        lines.append("The store holds no records yet; run `mirror sync` and they are served as soon as it writes.")
    for source in sources:
        base = f"{root}/fhir" if len(sources) == 1 else f"{root}/fhir/{source}"
        lines.append(f"\n{source}: FHIR base {base}" + (f" (also {root}/fhir/{source})" if len(sources) == 1 else ""))
        lines.append(f"  {base}/metadata")
        patients = sorted(stored.id for stored in store.search("Patient", source=source))
        if patients:
            lines.append(f"  {base}/Patient/{patients[0]}")
            lines.append(f"  {base}/ExplanationOfBenefit?patient={patients[0]}&_count=10")
            lines.append(f"  {base}/Patient/{patients[0]}/$everything")
    return "\n".join(lines)


# export --------------------------------------------------------------------------------------------------


def add_export(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "export", parents=[common], help="write your records out as FHIR NDJSON files or one Bundle",
        description="Write one plan's records, exactly as the plan sent them, as FHIR Bulk Data NDJSON (one "
                    "<Type>.ndjson per type in a folder) or as one collection Bundle. Files are private (0600) "
                    "and written atomically.",
    )
    parser.add_argument("--format", choices=FORMATS, required=True, help="ndjson (a folder) or bundle (a file)")
    parser.add_argument("--out", required=True, type=Path, help="the folder (ndjson) or file (bundle) to write")
    parser.add_argument("--source", metavar="NAME", help="the plan to export (needed when the store holds several)")
    parser.add_argument("--since", metavar="DATE",
                        help="only what changed in the mirror after DATE (a FHIR date or instant, e.g. 2024-05-01)")
    parser.add_argument("--include-removed", action="store_true",
                        help="also export resources the plan no longer has, as last held")
    parser.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    out = args.out.expanduser()
    result = export(Store(data_dir(args), read_only=True), out, format=args.format, source=args.source,
                    since=args.since, include_removed=args.include_removed)
    print(describe(result, out))
    return 0


# claims --------------------------------------------------------------------------------------------------


def add_claims(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "claims", parents=[common], help="list your claims with what was billed, paid and owed (JSON or CSV too)",
        description="One row per claim held (not removed; prior authorizations are not claims), with the same "
                    "amounts the claim pages show; an amount the claim does not state is empty (null in JSON).",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="only this plan's claims (default: every plan)")
    parser.add_argument("--year", metavar="YYYY", help="only claims whose service started in this year")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print a JSON list of objects")
    shape.add_argument("--csv", action="store_true", help="print CSV with a header row")
    parser.set_defaults(run=run_claims)


def run_claims(args: argparse.Namespace) -> int:
    from mirror.claims_report import claim_rows, render_claims

    if args.year is not None and not (len(args.year) == 4 and args.year.isascii() and args.year.isdigit()):
        print(f"mirror: --year wants a year such as 2024, not {args.year!r}", file=sys.stderr)
        return FAILED
    folder = data_dir(args)
    if not has_store(folder):
        raise StoreError(f"no records are stored in {folder}; run `mirror connect` and `mirror sync` first")
    with Store(folder, read_only=True) as store:
        year = int(args.year) if args.year else None
        rows = claim_rows(store, args.name, year)
    sys.stdout.write(render_claims(rows, "json" if args.json else "csv" if args.csv else "table", year))
    return 0


# demo ----------------------------------------------------------------------------------------------------


def add_demo(commands, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "demo", parents=[common], help="run the mock payer, connect, sync and serve, all on this machine",
        description="Start the mock payer, connect to its demo plan as member1, sync, and serve the records on "
                    "this machine, with a short tour; Ctrl-C stops everything. The records go to a temporary "
                    "folder, deleted at the end, unless --data-dir names one.",
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_SERVE_PORT, help="port to serve on (default %(default)s)")
    parser.add_argument("--mock-port", type=_port, default=demo.DEFAULT_MOCK_PORT,
                        help="port for the mock payer (default %(default)s)")
    parser.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from mirror.api import create_app  # see run_serve

    chosen = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else None
    port = args.port if port_is_free(args.port) else 0
    with demo.demo_data_dir(chosen) as folder, demo.running_mock(args.mock_port, _note) as mock_url:
        demo.connect_and_sync(mock_url, folder, show=_note)
        with Store(folder, read_only=True) as store:
            def announce(root: str) -> None:
                if port != args.port:
                    _note(f"Port {args.port} is in use, so the demo serves at {root} instead.")
                print(serve_tour(store, root), demo.tour(root, mock_url, folder, kept=chosen is not None),
                      sep="\n", flush=True)
            serve_forever(create_app(store), LOOPBACK, port, announce=announce)
    print("Demo stopped: the mock payer and the server are down.", flush=True)
    return 0


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# the command ---------------------------------------------------------------------------------------------

SUBCOMMANDS = [add_connect, add_connections, add_sync, add_status, add_restore, add_serve, add_export, add_claims,
               add_demo]


def build_parser() -> argparse.ArgumentParser:
    # --data-dir is accepted before or after the subcommand; SUPPRESS keeps the later one from being reset.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="where the store and connections live (default: MIRROR_DATA_DIR, else your user data folder)")
    parser = argparse.ArgumentParser(prog="mirror", parents=[common],
                                     description="A private local mirror of your health plan records.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _stopped_on_termination():
            try:
                status = args.run(args)
            except EXPECTED_ERRORS as error:
                print(f"mirror: {error}", file=sys.stderr)
                status = FAILED
            except KeyboardInterrupt:
                print("mirror: interrupted", file=sys.stderr)
                status = INTERRUPTED
        sys.stdout.flush()  # here, where a reader that went away is caught, rather than at exit
        return status
    except BrokenPipeError:
        return closed_pipe()


@contextlib.contextmanager
def _stopped_on_termination() -> Iterator[None]:
    """So that a closed terminal or a service manager stops a command cleanly, as Ctrl-C does.

    SIGTERM (a service manager, `kill`) and SIGHUP (the terminal closed) stop a command as Ctrl-C does:
    a sync commits what it staged, a server closes, and the demo stops its mock payer and deletes its
    temporary records, where Python's default for those signals ended the process on the spot and left the
    mock running on its port. The handlers before are put back after, for a caller that runs `main` in its
    own process; off the main thread, where Python takes no handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]  # Windows has no SIGHUP
    before = {name: signal.signal(getattr(signal, name), _interrupt) for name in names}
    try:
        yield
    finally:
        for name, handler in before.items():
            signal.signal(getattr(signal, name), handler)


def _interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
