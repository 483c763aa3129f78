"""The mock payer's one entry point, so that `serve` and tests build the same app.

`create_app(...)`: the mock payer as one Flask app, wiring plans, the authorization server, discovery, the
FHIR API, QA fault injection and the days of each plan's records (scenarios), with their `/_admin` controls."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from email.utils import formatdate
from ipaddress import ip_network
from pathlib import Path

from authlib.oauth2.rfc6749 import InsecureTransportError
from flask import Flask, g, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from mirror.http.fhir_flask import bearer_credential, outcome_response
from mirror.http.hosts import LOOPBACK, trusted_hosts
from mockpayer import admin, cors, discovery, r4
from mockpayer.auth import authorize, token, userinfo
from mockpayer.auth.ledger import Ledger
from mockpayer.auth.lockout import Lockouts
from mockpayer.auth.server import PlanAuthorizationServer
from mockpayer.auth.outbox import Outbox
from mockpayer.auth.registration import CHANGES as CLIENT_CHANGES, Registry
from mockpayer.auth.transactions import Transactions
from mockpayer.bluebutton import discovery as bluebutton_discovery
from mockpayer.bluebutton import fhir as bluebutton_fhir
from mockpayer.bluebutton import oauth as bluebutton_oauth
from mockpayer.bluebutton import userinfo as bluebutton_userinfo
from mockpayer.bluebutton.errors import BlueButtonError, error_response as bluebutton_error
from mockpayer.clock import OFFSET, Clock
from mockpayer.context import PayerContext, payer
from mockpayer.faults import FaultBoard
from mockpayer.plans import BUNDLED_PLANS_DIR, Plan, load_plans
from mockpayer.proxy import honour_forwarded_headers
from mockpayer.resources import load_plan_resources
from mockpayer.scenarios import DAYS, Scenarios
from mockpayer.state import State, open_state

MAX_REQUEST_BYTES = 1024 * 1024  # IN-J4: the mock takes forms, never uploads
OAUTH_PATHS = re.compile(r"/oauth2/|^(/[^/]+)?/v2/o/")
BLUE_BUTTON_API_PATHS = re.compile(r"(/[^/]+)?/v2/(fhir|connect)/")
access_log = logging.getLogger("mockpayer.access")

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def create_app(
    fixtures_dir: Path | str = BUNDLED_PLANS_DIR,
    *,
    plans: dict[str, Plan] | None = None,
    clock: Clock | None = None,
    config: dict | None = None,
    faults: dict | None = None,
    bind_host: str = LOOPBACK,
    trust_proxy: bool = False,
    public_hosts: Iterable[str] = (),
    admin_from: Iterable = (),
    state: State | str | None = None,
) -> Flask:
    """`faults`: QA fault specs by system id (`"*"`: every other plan), over the plans' own (mockpayer/faults.py).

    Bound to a loopback address (`bind_host`), the mock answers only loopback names, its plans' own
    `auth.`/`api.` host names and `public_hosts`, so a page in the tester's browser cannot reach it by DNS
    rebinding. `trust_proxy`: behind a TLS proxy, its `X-Forwarded-*` headers are honoured (mockpayer/proxy.py).
    `admin_from`: networks (CIDR) whose callers `/_admin` answers besides loopback (mockpayer/admin.py).
    `state`: where codes, tokens, sign-ins, lockouts, faults, the clock, days and registered clients live: a
    State or a URL for `open_state` (`redis://host:port/db` shares them with every process on that Redis);
    by default this process's memory (mockpayer/state/).
    """
    # authlib logs issued tokens at DEBUG ("Issue token ..."): keep it above that, whatever the root level (WB-4).
    logging.getLogger("authlib").setLevel(logging.INFO)
    state = open_state(state) if state is not None or clock is None else clock.state
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_shared_secret(state, "secret:session-cookies"),
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_NAME="mockpayer_session",
    )
    plans = plans if plans is not None else load_plans(fixtures_dir)
    plan_hosts = [host for plan in plans.values() for host in (plan.auth_host, plan.api_host)]
    app.config["TRUSTED_HOSTS"] = trusted_hosts(bind_host, *plan_hosts, *public_hosts)
    app.config[admin.ADMIN_FROM] = tuple(ip_network(network, strict=False) for network in admin_from)
    app.config.update(config or {})
    if clock is None:
        clock = Clock(state=state)
    elif clock.state is not state:
        clock.attach(state)
    ledger = Ledger(clock, state)
    context = PayerContext(plans=plans, clock=clock, ledger=ledger, lockouts=Lockouts(clock, state),
                           transactions=Transactions(clock, state), outbox=Outbox(clock, state), state=state,
                           registry=Registry(plans, state))
    context.auth_servers = {system_id: PlanAuthorizationServer(plan, ledger, context.lockouts)
                            for system_id, plan in plans.items()}
    context.resources = {system_id: load_plan_resources(plan.folder, duplicates=plan.duplicates or "last",
                                                        follow_symlinks=plan.follow_symlinks)
                         for system_id, plan in plans.items()}
    context.faults = FaultBoard(plans, ledger, faults, state)
    context.scenarios = Scenarios(plans, state)
    app.extensions["mockpayer"] = context

    app.register_blueprint(authorize.blueprint)
    app.register_blueprint(token.blueprint)
    app.register_blueprint(userinfo.blueprint)
    app.register_blueprint(discovery.blueprint)
    app.register_blueprint(r4.blueprint)
    app.register_blueprint(admin.blueprint)
    for blueprint in (bluebutton_oauth.blueprint, bluebutton_fhir.blueprint, bluebutton_discovery.blueprint,
                      bluebutton_userinfo.blueprint):
        app.register_blueprint(blueprint)
    app.register_error_handler(InsecureTransportError, _insecure_transport)
    app.register_error_handler(HTTPException, _http_error)
    for unavailable in state.unavailable:
        app.register_error_handler(unavailable, _state_unavailable)
    app.before_request(_up_to_date)
    app.teardown_request(_release_state)
    app.after_request(_harden)
    app.after_request(_dated)
    cors.allow_browser_apps(app)
    if trust_proxy:
        honour_forwarded_headers(app)
    return app


def _shared_secret(state: State, key: str) -> bytes:
    """A random secret made once per state: in a shared state, the first process's, which every other one reads."""
    state.put_new(key, secrets.token_hex(32))
    return bytes.fromhex(state.get(key))


def _up_to_date() -> None:
    """Before each request, this process's copies of shared state: the plans' clients, each plan's day, the clock.

    One read of the state for the three and for what the request will check: the plans' faults and, for a bearer
    token, its record or what has happened to it (`State.hold`). The clock's offset is then held for the request
    (`Clock.pin`)."""
    context = payer()
    credential = bearer_credential()
    g.held_state = context.state.hold([CLIENT_CHANGES, DAYS, OFFSET, *context.faults.keys(),
                                       *(context.ledger.keys_to_check(credential) if credential else ())])
    clients, days, offset = context.state.get_many([CLIENT_CHANGES, DAYS, OFFSET])
    context.registry.refresh(clients or {})
    context.scenarios.sync(context.resources, days or {})
    g.pinned_clock = context.clock.pin(offset)


def _release_state(_error) -> None:
    context = payer()
    if "held_state" in g:
        context.state.release(g.pop("held_state"))
    token = g.pop("pinned_clock", None)
    if token is not None:
        context.clock.unpin(token)


def _harden(response):
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    # The path only: query strings carry codes and state, and tokens travel in headers (WB-4).
    access_log.info("%s %s %s", request.method, request.path, response.status_code)
    return response


def _dated(response):
    """So that clients reckoning time from `Date` see the mock's clock, not the wall clock.

    `Date` from the mock's clock (RFC 9110 §6.6.1, IMF-fixdate), as its `Retry-After` dates and token expiry
    are: a client that reckons time from `Date` must see the clock the QA engineer moved, not the wall's."""
    response.headers["Date"] = formatdate(payer().clock.now(), usegmt=True)
    return response


def _insecure_transport(error):
    return token.oauth_error(400, "invalid_request", "OAuth endpoints need https except on a loopback address.")


def _state_unavailable(error):
    """A shared state that stopped answering: 503 in each client's shape, never a traceback."""
    logging.getLogger("mockpayer").error("the shared state does not answer: %s", type(error).__name__)
    if "pinned_clock" not in g:  # the answer's `Date` cannot read the clock's offset either: the wall clock's
        g.pinned_clock = payer().clock.pin(0.0)
    return _http_error(ServiceUnavailable("The mock's shared state (Redis) does not answer; try again later."))


def _http_error(error: HTTPException):
    """So that each kind of client gets its errors in the shape it expects.

    Errors in the shape each client expects: RFC 6749 JSON, an OperationOutcome, Blue Button's JSON, or the
    HTML page."""
    allow = {name: value for name, value in error.get_headers() if name == "Allow"}  # RFC 9110 §15.5.6
    if OAUTH_PATHS.search(request.path) and "/authorize" not in request.path:
        return token.oauth_error(error.code or 500, "invalid_request", error.description or error.name, allow)
    if BLUE_BUTTON_API_PATHS.match(request.path):
        detail = f'Method "{request.method}" not allowed.' if error.code == 405 else error.description or error.name
        return bluebutton_error(BlueButtonError(error.code or 500, detail, allow))
    if "/r4" in request.path:
        return outcome_response(error.code or 500, error.description or error.name)
    return error
