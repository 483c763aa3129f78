"""What a request is about: the mock's shared state, and which plan and FHIR base a request addresses.

Every plan is reachable two ways, so the seed's URLs work verbatim and plain loopback works too:
- by path prefix on any host: `/{system-id}/r4/...`, `/{system-id}/oauth2/token`;
- by host name, when a plan's hosts point at the mock: `Host: api.<base_url>` serves `/r4/...`,
  `Host: auth.<base_url>` serves `/oauth2/...`.
Links and discovery documents are built from the request's own scheme and host, because clients such as
fhirpy refuse a link on another host name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, current_app, request

from mockpayer.clock import Clock
from mockpayer.plans import Plan


@dataclass
class PayerContext:
    plans: dict[str, Plan]
    clock: Clock
    ledger: object  # mockpayer.auth.ledger.Ledger
    auth_servers: dict[str, object] = field(default_factory=dict)  # system id -> PlanAuthorizationServer
    resources: dict[str, object] = field(default_factory=dict)  # system id -> mockpayer.resources.PlanResources
    faults: object = None  # mockpayer.faults.FaultBoard
    scenarios: object = None  # mockpayer.scenarios.Scenarios: which day of its records each plan serves
    lockouts: object = None  # mockpayer.auth.lockout.Lockouts: failed sign-ins and client authentications
    transactions: object = None  # mockpayer.auth.transactions.Transactions: authorization requests in progress
    outbox: object = None  # mockpayer.auth.outbox.Outbox: the sign-in codes emailed to members
    state: object = None  # mockpayer.state.State: where all of the above keep what outlives a request
    registry: object = None  # mockpayer.auth.registration.Registry: clients registered and removed while running

    def plan_for_host(self, host: str) -> Plan | None:
        hostname = host.rsplit(":", 1)[0].lower() if not host.endswith("]") else host.lower()
        for plan in self.plans.values():
            if hostname in (plan.auth_host, plan.api_host):
                return plan
        return None


def payer() -> PayerContext:
    return current_app.extensions["mockpayer"]


def plan_for(system_id: str | None, *, bluebutton: bool = False) -> Plan:
    """The plan the request is for: named in the path, else by host name, else the one plan served.

    The plan named in the path, else the one whose host name the request used, else, at Blue Button's paths
    (`bluebutton`), the one plan the mock serves (`mockpayer serve --plan ID`); 404 otherwise.

    Each plan answers its own family of paths only: a `bluebutton` plan Blue Button's `/v2/...`, every other plan
    the 1up and SMART ones, so an app that works against the mock works against the payer it stands for.
    """
    context = payer()
    plan = context.plans.get(system_id) if system_id is not None else context.plan_for_host(request.host)
    if plan is None and system_id is None and bluebutton and len(context.plans) == 1:
        plan = next(iter(context.plans.values()))
    if plan is None:
        abort(404, description="No such health plan on this mock." if system_id else "No plan answers on this host.")
    if plan.is_bluebutton != bluebutton:
        where = f"Blue Button's paths, under /{plan.system_id}/v2/" if plan.is_bluebutton else "the 1up and SMART paths"
        abort(404, description=f"The plan {plan.system_id} answers {where}.")
    return plan


def addressed_by_host(plan: Plan) -> bool:
    return request.host.rsplit(":", 1)[0].lower() in (plan.api_host, plan.auth_host)


def _sibling_host(prefix: str, plan: Plan) -> str:
    """`auth.<base_url>` or `api.<base_url>`, keeping the port the request came in on."""
    host = request.host
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    return f"{prefix}.{plan.base_url}" + (f":{port}" if port else "")


def fhir_base_url(plan: Plan) -> str:
    """The plan's FHIR base as this request sees it."""
    if addressed_by_host(plan):
        return f"{request.scheme}://{_sibling_host('api', plan)}/r4"
    return f"{request.host_url}{plan.system_id}/r4"


def auth_endpoints(plan: Plan) -> dict[str, str]:
    """The plan's OAuth endpoints as this request sees them (the 1up shapes when addressed by host)."""
    if addressed_by_host(plan):
        root = f"{request.scheme}://{_sibling_host('auth', plan)}/oauth2"
        token_root = root
    else:
        root = f"{request.host_url}oauth2"
        token_root = f"{request.host_url}{plan.system_id}/oauth2"
    return {
        "authorization_endpoint": f"{root}/authorize/{plan.system_id}",
        "token_endpoint": f"{token_root}/token",
        "revocation_endpoint": f"{token_root}/revoke",
        "introspection_endpoint": f"{token_root}/introspect",
        "userinfo_endpoint": f"{token_root}/userinfo",
    }


def accepted_audiences(plan: Plan) -> set[str]:
    """Every spelling of the plan's FHIR base an app may send as `aud` (AZ-6)."""
    return {
        fhir_base_url(plan),
        f"{request.host_url}{plan.system_id}/r4",
        f"https://{plan.api_host}/r4",
        f"{request.scheme}://{_sibling_host('api', plan)}/r4",
    }

