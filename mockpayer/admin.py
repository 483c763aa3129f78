"""`/_admin`: the QA controls of the mock, from this machine only.

Faults (set, show, rewind; a rewind also lifts lockouts and empties the outbox), days (show, advance to the next
snapshot), the clock (show, move forward), clients (register, list, remove) and the outbox (the sign-in codes
emailed to members). One file for the URL family, as the mock keeps one per endpoint family. Plain HTTP and JSON, so
a test suite in any language drives the mock as the pytest plugin does.

Loopback only, because they change what every member and client sees (`mockpayer serve --admin-from CIDR`
adds a network, for development only: a container bridge); and never for a web page of another site (an
`Origin` that is not the mock's own), because a plain cross-site form POST needs no CORS preflight.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from ipaddress import ip_address
from urllib.parse import quote, urlsplit

from flask import Blueprint, current_app, jsonify, request

from mirror.http.hosts import is_loopback_host
from mockpayer.auth import registration
from mockpayer.context import payer
from mockpayer.faults import FaultSpecError, parse_spec
from mockpayer.plans import PlanError, parse_client
from mockpayer.scenarios import fhir_instant

blueprint = Blueprint("admin", __name__, url_prefix="/_admin")
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto")
ADMIN_FROM = "MOCKPAYER_ADMIN_FROM"  # app.config: the networks `mockpayer serve --admin-from` opted in
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()  # the last instant RFC 3339 writes


class AdminRefusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@blueprint.errorhandler(AdminRefusal)
@blueprint.errorhandler(FaultSpecError)
def _refused(error):
    response = jsonify(error=str(error))
    response.status_code = getattr(error, "status", 400)
    return response


@blueprint.before_request
def _loopback_only() -> None:
    """Loopback callers (and the networks opted in) only, and never a web page.

    A browser marks a page's cross-site request with an `Origin`, which test code, curl and the pytest plugin do not
    send (a plain form POST needs no preflight).

    A request that came through a proxy (it names a forwarded host, scheme or client) is from wherever the proxy
    took it, even when the proxy runs here and sends no `X-Forwarded-For`: so it is refused too, whatever
    network it says it comes from.
    """
    if not _admitted(request.remote_addr) or any(header in request.headers for header in FORWARDING_HEADERS):
        raise AdminRefusal(403, "The admin endpoints answer only requests from this machine (loopback) or from "
                                "a network named with mockpayer serve --admin-from.")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise AdminRefusal(403, "The admin endpoints do not answer requests made by web pages of other sites.")


def _admitted(address: str | None) -> bool:
    """So that the admin API answers only the machine itself and the networks allowed.

    A loopback address, or one inside a network of `--admin-from` (an IPv4-mapped IPv6 address as its IPv4
    one, as a dual-stack listener reports IPv4 callers)."""
    if is_loopback_host(address):
        return True
    try:
        caller = ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    caller = getattr(caller, "ipv4_mapped", None) or caller
    return any(caller in network for network in current_app.config.get(ADMIN_FROM, ()))


# ---- faults (mockpayer/faults.py) ---------------------------------------------------------------------


@blueprint.get("/faults")
def show_faults():
    return jsonify(payer().faults.describe())


@blueprint.post("/faults")
def set_faults():
    """Body: `{"system_id": "demoplan", ...spec}`; without system_id the spec goes to every plan.

    A spec with no faults clears them."""
    body = _json_body(required=True)
    system_ids = _addressed_plans(body.pop("system_id", None))
    spec = parse_spec(body, "fault spec")
    board = payer().faults
    for system_id in system_ids:
        board.configure(system_id, spec)
    described = board.describe()
    return jsonify({system_id: described[system_id] for system_id in system_ids})


@blueprint.post("/reset")
def reset_faults():
    """Body (optional): `{"system_id": "demoplan"}`.

    Rewinds fault counters and seeds (the specs stay), lifts sign-in and client lockouts
    (mockpayer/auth/lockout.py), so QA can test a lockout again at once, and empties the outbox."""
    system_ids = _addressed_plans(_json_body(required=False).get("system_id"))
    context = payer()
    context.faults.rewind(system_ids)
    context.lockouts.clear(system_ids)
    context.outbox.clear(system_ids)
    return jsonify(reset=system_ids)


# ---- clients (mockpayer/auth/registration.py) ------------------------------------------------------------
# `/_admin/reset` leaves registered clients alone, like the fault specs: they are how a test set the mock up,
# not what a test run left behind.

CLIENT_FIELDS = ("system_id", "client_id", "client_secret", "redirect_uris", "name", "scopes")


@blueprint.get("/clients")
def show_clients():
    """Every plan's clients (`?system_id=` for one plan's), without their secrets."""
    plans = payer().plans
    return jsonify({system_id: [registration.described(plans[system_id], client)
                                for client in plans[system_id].clients.values()]
                    for system_id in _addressed_plans(request.args.get("system_id"))})


@blueprint.post("/clients")
def register_client():
    """So that tests can register a client with a plan while the mock runs.

    Body: `{"system_id", "client_id", "client_secret"?, "redirect_uris": [...], "name"?, "scopes"?}`, a client
    as plan.json lists one; without a secret it is public. 201 with the client as registered (its secret is not
    repeated); 409 when the plan has a client of that id."""
    body = _json_body(required=True)
    unknown = sorted(set(body) - set(CLIENT_FIELDS))
    if unknown:
        raise AdminRefusal(400, f"Unknown field {unknown[0][:64]!r} (fields: {', '.join(CLIENT_FIELDS)}).")
    if "system_id" not in body:
        raise AdminRefusal(400, "system_id is required: the plan the client is registered with.")
    plan = payer().plans[_addressed_plans(body["system_id"])[0]]
    try:
        client = parse_client(body)
        payer().registry.add(plan, client)
    except registration.ClientExists as error:
        raise AdminRefusal(409, str(error)) from None
    except KeyError as error:
        raise AdminRefusal(400, f"{error.args[0]} is required.") from None
    except ValueError as error:
        raise AdminRefusal(400, f"{error}.") from None
    response = jsonify(registration.described(plan, client))
    response.status_code = 201
    response.headers["Location"] = f"/_admin/clients/{plan.system_id}/{quote(client.client_id, safe='')}"
    return response


@blueprint.delete("/clients/<system_id>/<path:client_id>")
def remove_client(system_id: str, client_id: str):
    """204; 404 for an unknown plan or client.

    The client stops working at once: its codes are void and its tokens revoked. A client from plan.json can be
    removed too, until the mock restarts."""
    plan = payer().plans[_addressed_plans(system_id)[0]]
    if not payer().registry.remove(plan, payer().ledger, client_id):
        raise AdminRefusal(404, f"The plan {plan.system_id} has no client {client_id[:64]!r}.")
    return "", 204


# ---- days (mockpayer/scenarios.py) --------------------------------------------------------------------


@blueprint.get("/days")
def show_days():
    return jsonify(payer().scenarios.describe())


@blueprint.post("/advance")
def advance():
    """Body (optional): `{"system_id": "demoplan"}`.

    Moves the plan (else every plan that has one) to its next day and answers what changed, per plan moved; 409 when
    none has a next day."""
    system_ids = _addressed_plans(_json_body(required=False).get("system_id"))
    context = payer()
    try:
        advanced = context.scenarios.advance(context.resources, system_ids, context.clock.now())
    except PlanError as error:
        raise AdminRefusal(500, f"The next day cannot be served: {error}") from None
    if not advanced:
        raise AdminRefusal(409, f"No later day to move to ({', '.join(system_ids)} on the last day).")
    return jsonify(advanced)


# ---- the outbox (mockpayer/auth/outbox.py) ------------------------------------------------------------


@blueprint.get("/outbox")
def show_outbox():
    """So that tests can read the emails the mock sent instead of a real inbox.

    `?system_id=demoplan` (optional): each plan's emailed messages, oldest first, as
    `{"demoplan": [{"member", "to", "subject", "body", "code", "sent_at"}, ...]}`."""
    outbox = payer().outbox
    return jsonify({system_id: outbox.messages(system_id)
                    for system_id in _addressed_plans(request.args.get("system_id"))})


# ---- the clock (mockpayer/clock.py) -------------------------------------------------------------------


@blueprint.get("/clock")
def show_clock():
    return _clock_reading()


@blueprint.post("/clock")
def move_clock():
    """Body: `{"advance": seconds}` or `{"set": "<RFC 3339 instant with its offset>"}`.

    The clock only moves forward, so an instant before its now is 409. Everything that tells time reads this clock:
    codes and tokens expire, lockouts end, `Retry-After` dates, the `Date` header and a later day's
    `meta.lastUpdated`."""
    body = _json_body(required=True)
    if len(body) != 1 or set(body) - {"advance", "set"}:
        raise AdminRefusal(400, 'The body is {"advance": seconds} or {"set": "<instant>"}: one of the two.')
    clock = payer().clock
    try:
        if "advance" in body:
            clock.advance(_seconds(body["advance"], clock.now()))
        else:
            clock.set(_instant(body["set"]))
    except ValueError:
        raise AdminRefusal(409, f"The clock only moves forward: it is already {fhir_instant(clock.now())}.") from None
    return _clock_reading()


def _seconds(value, now: float) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise AdminRefusal(400, f"advance must be a number of seconds, 0 or more, not {json.dumps(value)[:32]}.")
    if now + value > LATEST:
        raise AdminRefusal(400, "The clock cannot go beyond the year 9999.")
    return value


def _instant(value) -> float:
    """An RFC 3339 date-time with its UTC offset (a FHIR instant, as `GET /_admin/clock` shows them)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise AdminRefusal(400, 'set must be an instant with its offset, such as "2030-01-01T00:00:00Z", '
                                f"not {json.dumps(value)[:40]}.")
    if moment.timestamp() > LATEST:
        raise AdminRefusal(400, "The clock cannot go beyond the year 9999.")
    return moment.timestamp()


def _clock_reading():
    clock = payer().clock
    offset = round(clock.offset, 3)
    return jsonify(now=fhir_instant(clock.now()), offset_seconds=int(offset) if offset.is_integer() else offset)


def _json_body(required: bool) -> dict:
    if not required and not request.get_data():
        return {}
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise AdminRefusal(400, "The body must be a JSON object sent as application/json.")
    return body


def _addressed_plans(system_id) -> list[str]:
    plans = payer().plans
    if system_id is None:
        return list(plans)
    if not isinstance(system_id, str) or system_id not in plans:
        raise AdminRefusal(404, f"No plan {str(system_id)[:64]!r} on this mock (plans: {', '.join(plans)}).")
    return [system_id]
