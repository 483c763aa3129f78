"""What a health plan is to the mirror, and how its endpoints are found.

A plan is its FHIR base, its authorization server and our client there; its endpoints come from a named preset,
1upHealth's URL shapes, or SMART discovery from the FHIR base.

Every URL that will carry a code, a secret or a token passes `require_secure_url` (CL-4): https, or plain
http to this machine only, so a mistyped base URL cannot send the member's tokens over the network in clear.
The one exception is explicit and for test networks only: MIRROR_INSECURE_HTTP_HOSTS names container hosts
(docker compose's `mockpayer`) that plain http may reach.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mirror.fhir.capability import OAUTH_URIS
from mirror.http.hosts import is_loopback_host

if TYPE_CHECKING:
    import requests

AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")
DEFAULT_SCOPE = "patient/*.read launch/patient offline_access"
DEFAULT_MOCK_URL = "http://127.0.0.1:9000"
DISCOVERY_TIMEOUT = (10, 30)  # seconds to connect, seconds to read
INSECURE_HOSTS_ENV = "MIRROR_INSECURE_HTTP_HOSTS"
_PLAN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?")
_SYSTEM_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CONTAINER_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


class PlanError(ValueError):
    """A plan cannot be used as described; the message is one line a member can act on."""


def unreachable(url: str, error: requests.RequestException) -> str:
    """One line saying that the server behind `url` could not be talked to, naming only its host and port."""
    import requests  # here, not with the module: describing a plan must not pay for it

    if isinstance(error, requests.Timeout):
        reason = "it did not answer in time"
    elif isinstance(error, requests.exceptions.SSLError):
        reason = "its TLS certificate was not accepted"
    elif isinstance(error, requests.ConnectionError):
        reason = "the connection failed"
    else:
        reason = type(error).__name__
    return f"could not reach {urlsplit(url).netloc}: {reason}"


def require_secure_url(url: str, what: str) -> str:
    """`url` if it is absolute https, or http to a loopback host (a local mock); PlanError otherwise (CL-4)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PlanError(f"the {what} {url!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname) and parts.hostname not in insecure_http_hosts():
        raise PlanError(f"the {what} {url} uses plain http; only https is allowed except to this machine (127.0.0.1, ::1, localhost)")
    return url


def insecure_http_hosts() -> set[str]:
    """So that a private development network can reach the mock payer over plain http, and no real plan can.

    The hosts MIRROR_INSECURE_HTTP_HOSTS (comma-separated) lets plain http reach: a development opt-in for a
    private container network where the mock payer answers as, say, `mockpayer`. Single-label names only, so
    no real plan's host (which has a domain) can be let through by it, by mistake or otherwise."""
    names = {name.strip().lower() for name in os.environ.get(INSECURE_HOSTS_ENV, "").split(",") if name.strip()}
    dotted = sorted(name for name in names if not _CONTAINER_NAME.fullmatch(name))
    if dotted:
        raise PlanError(f"{INSECURE_HOSTS_ENV} takes container host names such as mockpayer, not {dotted[0]!r}")
    return names


@dataclass(frozen=True)
class Endpoints:
    """Where a plan answers: its FHIR base and its authorization server's endpoints."""

    fhir_base: str
    authorize_url: str
    token_url: str
    revoke_url: str | None = None

    def __post_init__(self):
        require_secure_url(self.fhir_base, "FHIR base")
        require_secure_url(self.authorize_url, "authorization endpoint")
        require_secure_url(self.token_url, "token endpoint")
        if self.revoke_url is not None:
            require_secure_url(self.revoke_url, "revocation endpoint")


@dataclass(frozen=True)
class PlanConfig:
    """One plan as the mirror connects to it: a local name, where it answers, and our client registration.

    The secret is kept out of `repr` so that it cannot reach a log line or a traceback.
    """

    name: str
    endpoints: Endpoints
    client_id: str
    scope: str = DEFAULT_SCOPE
    auth_method: str = "none"
    client_secret: str | None = field(default=None, repr=False)
    max_page_size: int | None = None  # the most a page may hold where the plan refuses more (Blue Button: 50)

    def __post_init__(self):
        if not _PLAN_NAME.fullmatch(self.name):
            raise PlanError(f"plan name {self.name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if not self.client_id:
            raise PlanError("a client id is needed (--client-id)")
        if self.auth_method not in AUTH_METHODS:
            raise PlanError(f"unknown client authentication {self.auth_method!r}; use one of {', '.join(AUTH_METHODS)}")
        if self.auth_method == "none" and self.client_secret:
            raise PlanError("a public client (--auth-method none) has no secret; leave out --client-secret")
        if self.auth_method != "none" and not self.client_secret:
            raise PlanError(f"{self.auth_method} needs the client secret (--client-secret)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PlanConfig:
        return cls(**{**data, "endpoints": Endpoints(**data["endpoints"])})


BLUE_BUTTON = "bluebutton"  # a preset's URL shapes: CMS Blue Button 2.0's `/v2/o/...` and `/v2/fhir`
BLUE_BUTTON_SCOPE = "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read profile"


@dataclass(frozen=True)
class Preset:
    """So that a member can connect a known plan by name, without typing its endpoints.

    A plan known by name, with the client registration that works on the local mock out of the box, and,
    for a real service, its environments by name (their hosts), where the member's app needs its own client."""

    system_id: str
    client_id: str
    client_secret: str | None
    scope: str = DEFAULT_SCOPE
    shape: str = "1up"  # or BLUE_BUTTON
    environments: tuple[tuple[str, str], ...] = ()  # (name, root URL)
    max_page_size: int | None = None

    def on_mock(self, mock_url: str) -> Endpoints:
        """The endpoints of this preset's plan on the local mock payer, served among others."""
        if self.shape == BLUE_BUTTON:
            return blue_button_endpoints(f"{mock_url.rstrip('/')}/{self.system_id}")
        return mock_endpoints(mock_url, self.system_id)

    def in_environment(self, environment: str) -> tuple[Endpoints, bool]:
        """So that `--environment` can pick a named environment or a server with the same paths.

        (the endpoints, whether they are the real service's) for `--environment`: a name, or the root URL of
        a server with the same paths (the mock serving this plan alone)."""
        named = dict(self.environments)
        if not named:
            raise PlanError("--environment applies to presets of services with environments (bluebutton)")
        if environment in named:
            return blue_button_endpoints(named[environment]), True
        if "://" not in environment:
            raise PlanError(f"--environment must be {' or '.join(named)}, or the URL of a server with the same paths, "
                            f"not {environment!r}")
        endpoints = blue_button_endpoints(environment)
        _require_capability_statement(endpoints.fhir_base, "--environment takes the root URL of a server with Blue "
                                      "Button's paths (as http://localhost:8000); a mock serving several plans is "
                                      "reached with --mock-url")
        return endpoints, False


# The mock payer's bundled plans; their client secrets are public test data, not credentials.
PRESETS = {
    "demo": Preset("demoplan", "demo-confidential-app", "mock-secret-not-for-production"),
    "bluebutton": Preset("bluebutton", "bluebutton-confidential-app", "mock-bluebutton-secret-not-for-production",
                         BLUE_BUTTON_SCOPE, BLUE_BUTTON, (("sandbox", "https://sandbox.bluebutton.cms.gov"),
                                                          ("production", "https://api.bluebutton.cms.gov")),
                         max_page_size=50),  # Blue Button answers a larger _count with 400
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PlanError(f"no preset named {name!r}; known presets: {', '.join(PRESETS)}") from None


def mock_endpoints(mock_url: str, system_id: str) -> Endpoints:
    """A plan served by the local mock payer under its per-plan path prefix."""
    root = mock_url.rstrip("/")
    return Endpoints(
        fhir_base=f"{root}/{system_id}/r4",
        authorize_url=f"{root}/oauth2/authorize/{system_id}",
        token_url=f"{root}/{system_id}/oauth2/token",
        revoke_url=f"{root}/{system_id}/oauth2/revoke",
    )


def blue_button_endpoints(root: str) -> Endpoints:
    """CMS Blue Button 2.0's paths under `root` (its host, or the mock's root for that plan)."""
    root = root.rstrip("/")
    return Endpoints(
        fhir_base=f"{root}/v2/fhir",
        authorize_url=f"{root}/v2/o/authorize/",
        token_url=f"{root}/v2/o/token/",
        revoke_url=f"{root}/v2/o/revoke_token/",
    )


def one_up_endpoints(base_url: str, system_id: str) -> Endpoints:
    """1upHealth's URL shapes: `https://auth.{base}/oauth2/...` and the FHIR base `https://api.{base}/r4`."""
    if not _HOST_NAME.fullmatch(base_url or ""):
        raise PlanError(f"--base-url must be a bare host name such as 1updemohealthplan.com, not {base_url!r}")
    if not _SYSTEM_ID.fullmatch(system_id or ""):
        raise PlanError(f"--system-id must be the plan's system id such as demoplan, not {system_id!r}")
    return Endpoints(
        fhir_base=f"https://api.{base_url}/r4",
        authorize_url=f"https://auth.{base_url}/oauth2/authorize/{system_id}",
        token_url=f"https://auth.{base_url}/oauth2/token",
    )


def discover_endpoints(fhir_base: str, timeout=DISCOVERY_TIMEOUT) -> Endpoints:
    """The endpoints a SMART server publishes for `fhir_base`.

    `.well-known/smart-configuration` (SMART App Launch 2.x), else the `oauth-uris` extension of its
    CapabilityStatement at `metadata` (SMART 1.0), which older servers offer alone.
    """
    base = require_secure_url(fhir_base, "FHIR base").rstrip("/")
    problems = []
    for document, read_endpoints in ((".well-known/smart-configuration", _from_smart_configuration),
                                     ("metadata", _from_capability_statement)):
        try:
            found = read_endpoints(_get_json(f"{base}/{document}", timeout))
        except _Unusable as problem:
            problems.append(f"{document} {problem}")
            continue
        return Endpoints(fhir_base=base, **found)
    raise PlanError(f"could not find the sign-in endpoints of {base}: {'; '.join(problems)}")


def _require_capability_statement(fhir_base: str, hint: str) -> None:
    """So that a hand-typed URL that misses the API fails at once with a clear line.

    PlanError, ending with `hint`, unless `fhir_base` answers its CapabilityStatement: a URL given by hand that
    misses the API by a path fails here in one line, not at a sign-in page that is not there."""
    try:
        statement = _get_json(f"{fhir_base}/metadata", DISCOVERY_TIMEOUT)
    except _Unusable as problem:
        raise PlanError(f"no FHIR API at {fhir_base} (its metadata {problem}); {hint}") from None
    if statement.get("resourceType") != "CapabilityStatement":
        raise PlanError(f"no FHIR API at {fhir_base} (its metadata is no CapabilityStatement); {hint}")


class _Unusable(Exception):
    """A discovery document that cannot be used; the message says why, in a few words."""


def _get_json(url: str, timeout) -> dict:
    import requests

    try:
        response = requests.get(url, headers={"Accept": "application/json, application/fhir+json"}, timeout=timeout)
    except requests.RequestException as error:
        raise PlanError(unreachable(url, error)) from None
    if response.status_code != 200:
        raise _Unusable(f"answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise _Unusable("is not JSON") from None
    if not isinstance(document, dict):
        raise _Unusable("is not a JSON object")
    return document


def _from_smart_configuration(config: dict) -> dict:
    return _endpoint_fields(config.get("authorization_endpoint"), config.get("token_endpoint"),
                            config.get("revocation_endpoint"))


def _from_capability_statement(statement: dict) -> dict:
    """The `oauth-uris` extension in `rest[].security` (https://hl7.org/fhir/smart-app-launch/1.0.0/conformance/)."""
    for rest in _list(statement.get("rest")):
        security = rest.get("security") if isinstance(rest, dict) else None
        for extension in _list(security.get("extension") if isinstance(security, dict) else None):
            if isinstance(extension, dict) and extension.get("url") == OAUTH_URIS:
                uris = {item.get("url"): item.get("valueUri") for item in _list(extension.get("extension"))
                        if isinstance(item, dict)}
                return _endpoint_fields(uris.get("authorize"), uris.get("token"), uris.get("revoke"))
    raise _Unusable("has no oauth-uris extension")


def _endpoint_fields(authorize, token, revoke) -> dict:
    if not isinstance(authorize, str) or not isinstance(token, str):
        raise _Unusable("lacks the authorize or token endpoint")
    return {"authorize_url": authorize, "token_url": token, "revoke_url": revoke if isinstance(revoke, str) else None}


def _list(value) -> list:
    return value if isinstance(value, list) else []
