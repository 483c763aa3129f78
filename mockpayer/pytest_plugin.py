"""The `mock_payer` pytest fixture: a real mock payer on a free loopback port for each test.

With it, what a QA test needs to drive it: each plan's URLs, clients and members, `login` through the real
authorization flow (or refused there, as the test asks), the `outbox` of emailed codes, `faults`, the `clock`, and
`advance_day`. Its twin `mock_payer_session` is one mock for the whole session (per process: each pytest-xdist
worker has its own), for a plan too big to load for every test.

Registered through the `pytest11` entry point (pyproject.toml), so installing payer-mirror is enough; nothing
to import. Everything goes over HTTP to the running server, through the same endpoints a QA engineer would
use by hand (`/_admin/...` from loopback, the sign-in pages, the token endpoint), except the clock, which is
the server's own object so that moving it takes effect at once and never sleeps, and `reset`'s rewind of the
days, which no endpoint offers.

Which plans are served, first match wins:
- a `mock_payer_fixtures` fixture the test suite defines (in a conftest or a test module), returning a folder
  of plan folders: for instance one `mockpayer.generate.write_plan` wrote into `tmp_path`;
- the `mock_payer_fixtures` ini option (a folder, relative to the ini file);
- the bundled plans (`demoplan` with three days of records, `smartplan`).
`mock_payer_session` serves `mock_payer_session_fixtures`: a session-scoped fixture of that name, else the
`mock_payer_session_fixtures` ini option, else the same as `mock_payer`.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests

from mirror.http.mock_login import MockLoginError, complete_mock_login
from mockpayer.clock import Clock
from mockpayer.plans import BUNDLED_PLANS_DIR, Client, Member, parse_client

DEFAULT_SCOPES = "patient/*.read launch/patient offline_access"
BLUE_BUTTON_SCOPES = "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read profile"
TIMEOUT = 30


class MockPayerError(AssertionError):
    """The mock refused what the test asked of it; the message carries the mock's own answer.

    A refused sign-in also carries the OAuth `error` (from the redirect back to the app, or named on the error page)
    when there is one, and the refusing page's `status`."""

    def __init__(self, message: str, *, error: str | None = None, status: int | None = None):
        super().__init__(message)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class Tokens:
    """A token response: what `login` and `refresh` return."""

    access_token: str
    token_type: str
    expires_in: int | None
    scope: str
    patient: str | None
    refresh_token: str | None
    id_token: str | None  # with the `openid` scope: a JWT signed by the plan's key at its `jwks_uri`
    response: dict = field(repr=False)
    system_id: str | None = None  # the plan and client that signed in, which `refresh` uses again
    client_id: str | None = None

    @classmethod
    def from_response(cls, body: dict, system_id: str | None = None, client_id: str | None = None) -> Tokens:
        return cls(body["access_token"], body.get("token_type", "Bearer"), body.get("expires_in"),
                   body.get("scope", ""), body.get("patient"), body.get("refresh_token"), body.get("id_token"), body,
                   system_id, client_id)

    @property
    def headers(self) -> dict[str, str]:
        """`{"Authorization": "Bearer ..."}`, ready for `requests.get(..., headers=tokens.headers)`."""
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass(frozen=True)
class Grant:
    """A code from the authorization pages, with what its exchange needs (`authorize` returns it)."""

    system_id: str
    client_id: str
    code: str
    redirect_uri: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class PlanInfo:
    """One plan as a client sees it: its URLs (the OAuth ones from its SMART configuration) and accounts."""

    system_id: str
    name: str
    mode: str
    fhir_base: str
    directory_base: str
    authorize_url: str
    token_url: str
    revoke_url: str
    introspect_url: str
    clients: dict[str, Client]
    members: dict[str, Member]


class MockPayer:
    """A running mock payer. `url` is its root; `plans` maps system id to PlanInfo; `clock` is its clock."""

    def __init__(self, fixtures: Path | str, state: str | None = None):
        from mockpayer.app import create_app
        from mirror.http.wsgi_server import start_in_thread
        from mockpayer.state import open_state

        self.clock = Clock(state=open_state(state))
        self._app = create_app(fixtures, clock=self.clock)
        self._server = start_in_thread(self._app)
        self.url = self._server.url
        try:
            self.plans = {system_id: self._describe(plan)
                          for system_id, plan in self._app.extensions["mockpayer"].plans.items()}
        except BaseException:
            self._server.stop()
            raise

    def _describe(self, plan) -> PlanInfo:
        """So that a Blue Button plan's URLs, introspection included, are described correctly.

        A Blue Button plan's URLs are its `/v2` ones; its SMART configuration, like Blue Button's, names no
        introspection endpoint, which is at `/v2/o/introspect/` beside the others."""
        root = f"{self.url}/{plan.system_id}"
        fhir_base = f"{root}/v2/fhir" if plan.is_bluebutton else f"{root}/r4"
        smart = requests.get(f"{fhir_base}/.well-known/smart-configuration", timeout=TIMEOUT).json()
        introspect = smart.get("introspection_endpoint") or f"{root}/v2/o/introspect/"
        return PlanInfo(plan.system_id, plan.name, plan.mode, fhir_base, f"{root}/directory/r4",
                        smart["authorization_endpoint"], smart["token_endpoint"], smart["revocation_endpoint"],
                        introspect, dict(plan.clients), dict(plan.members))

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """So that each test on a shared mock starts from the state the mock started in.

        Back to the state the mock started in, as far as a test steers it: each plan's faults as its plan.json
        sets them, with fresh counters and seeds; no sign-in or client locked out; the clock where it started;
        every plan on day 1. Tokens, codes and sign-in sessions stay: each belongs to the test that got it, and a
        session-scoped fixture may hold tokens for many tests. `mock_payer_session` calls this before each test
        that uses it."""
        context = self._app.extensions["mockpayer"]
        for system_id, plan in context.plans.items():
            self._admin("post", "faults", {**plan.settings.get("faults", {}), "system_id": system_id})
        self._admin("post", "reset")
        self.clock.reset()
        context.scenarios.rewind(context.resources, list(context.plans))

    # ---- signing in -----------------------------------------------------------------------------------

    def login(self, member: str, scopes: str | None = None, *, client: str | None = None, plan: str | None = None,
              **answers) -> Tokens:
        """So that a test can sign a member in with one call.

        Signs `member` (a username) in and returns the tokens: `exchange(authorize(...))`, with the same
        arguments; a wrong one makes the mock refuse, raised as MockPayerError."""
        return self.exchange(self.authorize(member, scopes, client=client, plan=plan, **answers))

    def authorize(self, member: str, scopes: str | None = None, *, client: str | None = None,
                  plan: str | None = None, password: str | None = None, mfa: str | None = None,
                  email_code: str | None = None, decision: str = "allow", redirect_uri: str | None = None) -> Grant:
        """The first half of a sign-in: the code the plan's real pages give, before it is exchanged.

        `member` (a username) goes through the plan's real pages (login, the member's MFA code or the code the mock
        emailed, consent) for an app that sends state and PKCE S256, as a careful app does; the code comes back
        unexchanged, so a test can let it expire or replay it. `client`: a client id of the plan (default: its
        first, the confidential one in the bundled plans), or any other to see the mock refuse it. `plan`: needed
        only when two plans share the username. `scopes`: by default DEFAULT_SCOPES, or for a Blue Button plan the
        scopes Blue Button grants an app that asks for none.

        The member's answers are the right ones unless given: `password`, `mfa` (the MFA code), `email_code`
        (default: the newest in the outbox), `decision` ("allow" or "deny") and `redirect_uri` (default: the
        client's first loopback one). The mock's refusal is raised as MockPayerError with the page's message
        (`status` 401 for a wrong password or code, 429 when locked) or the OAuth `error` (`access_denied`
        after "deny", `invalid_request` or `invalid_client` on the error page)."""
        if decision not in ("allow", "deny"):
            raise ValueError(f"decision must be 'allow' or 'deny', not {decision!r}")
        info = self._plan_of(member, plan)
        account = info.members[member]
        app = info.clients.get(client) if client else next(iter(info.clients.values()))
        client_id = app.client_id if app else client
        if redirect_uri is None:
            uris = app.redirect_uris if app else ("http://127.0.0.1/callback",)
            redirect_uri = next((uri for uri in uris if uri.startswith("http://127.0.0.1")), uris[0])
        state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        scopes = scopes or (BLUE_BUTTON_SCOPES if info.mode == "bluebutton" else DEFAULT_SCOPES)
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scopes,
                 "state": state, "aud": info.fhir_base, "code_challenge": challenge, "code_challenge_method": "S256"}
        try:
            location = complete_mock_login(
                requests.Session(), f"{info.authorize_url}?{urlencode(query)}", account.username,
                account.password if password is None else password, mfa_code=account.mfa if mfa is None else mfa,
                email_code=email_code, allow=decision == "allow", timeout=TIMEOUT)
        except MockLoginError as refusal:
            raise MockPayerError(f"{member}: {refusal}", error=refusal.error,
                                 status=refusal.status) from None
        answer = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        if "error" in answer or answer.get("state") != state:
            raise MockPayerError(f"sign-in of {member} did not give a code: {answer}", error=answer.get("error"))
        return Grant(info.system_id, client_id, answer["code"], redirect_uri, verifier)

    def exchange(self, grant: Grant) -> Tokens:
        """The second half: the code for tokens at the token endpoint (with the client's secret, if it has one)."""
        info = self.plans[grant.system_id]
        form = {"grant_type": "authorization_code", "code": grant.code, "redirect_uri": grant.redirect_uri,
                "client_id": grant.client_id, "code_verifier": grant.code_verifier}
        return self._token_request(info, info.clients[grant.client_id], form)

    def refresh(self, tokens: Tokens, *, client: str | None = None, plan: str | None = None) -> Tokens:
        """So that a test can trade a refresh token for new tokens.

        Trades `tokens.refresh_token` for new tokens (the mock rotates refresh tokens), as the client that
        signed in unless `client` names another."""
        system_id = plan or tokens.system_id
        info = self.plans[system_id] if system_id else self._plan_of_patient(tokens.patient)
        client = client or tokens.client_id
        app = info.clients[client] if client else next(iter(info.clients.values()))
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": app.client_id}
        return self._token_request(info, app, form)

    def _token_request(self, info: PlanInfo, app: Client, form: dict) -> Tokens:
        if app.client_secret:
            form["client_secret"] = app.client_secret
        response = requests.post(info.token_url, data=form, timeout=TIMEOUT)
        if response.status_code != 200:
            raise MockPayerError(f"token endpoint answered {response.status_code}: {response.text[:300]}",
                                 error=_oauth_error(response), status=response.status_code)
        return Tokens.from_response(response.json(), info.system_id, app.client_id)

    def _plan_of(self, member: str, plan: str | None) -> PlanInfo:
        if plan is not None:
            return self.plans[plan]
        holding = [info for info in self.plans.values() if member in info.members]
        if len(holding) != 1:
            raise MockPayerError(f"member {member!r} is in {len(holding)} plans; say which with plan=")
        return holding[0]

    def _plan_of_patient(self, patient: str | None) -> PlanInfo:
        holding = [info for info in self.plans.values()
                   if any(account.patient_id == patient for account in info.members.values())]
        if len(holding) != 1:
            raise MockPayerError(f"cannot tell the plan of Patient/{patient}; say which with plan=")
        return holding[0]

    # ---- QA controls ----------------------------------------------------------------------------------

    def faults(self, system_id: str | None = None, **spec) -> dict:
        """So that a test can set a plan's faults while the mock runs.

        Sets a plan's faults (every plan's without `system_id`) through `POST /_admin/faults`, replacing what
        was set before; no spec clears them. `spec` as in the README, e.g. `rate_limit={"every": 3}`.
        Returns each plan's faults, request counts and hits."""
        return self._admin("post", "faults", {**spec, **({"system_id": system_id} if system_id else {})})

    def outbox(self, system_id: str) -> list[dict]:
        """So that a test can read the one-time codes the mock emailed.

        The emails the mock sent for the plan, oldest first (`GET /_admin/outbox`): each with `member`, `to`,
        `subject`, `body`, `code` (the one-time sign-in code) and `sent_at` (the mock's clock)."""
        return self._admin("get", f"outbox?{urlencode({'system_id': system_id})}")[system_id]

    def fault_report(self) -> dict:
        """So that a test can see which faults fired, and why one never did.

        Each plan's faults, request counts and hits so far, and `never_reached`: why a rule has not fired when the
        walk never served its page or a next link for it to rewrite (`GET /_admin/faults`)."""
        return self._admin("get", "faults")

    def register_client(self, system_id: str, client_id: str, redirect_uris: list[str], *,
                        client_secret: str | None = None, name: str = "",
                        scopes: list[str] | str | None = None) -> Client:
        """So that a test can register a client with the plan while the mock runs.

        Registers a client with the plan through `POST /_admin/clients`; it works at once, `login(...,
        client=client_id)` included. Any redirect URI an app registers, custom schemes too
        (`com.example.app:/callback`), exact-matched. Without `client_secret` the client is public; `scopes`
        caps what it may be granted."""
        body = {"system_id": system_id, "client_id": client_id, "redirect_uris": redirect_uris, "name": name}
        body.update({key: value for key, value in (("client_secret", client_secret), ("scopes", scopes))
                     if value is not None})
        self._admin("post", "clients", body)
        client = parse_client(body)
        self.plans[system_id].clients[client_id] = client
        return client

    def unregister_client(self, system_id: str, client_id: str) -> None:
        """Removes a client (`DELETE /_admin/clients/...`): its codes and tokens stop working at once."""
        self._admin("delete", f"clients/{system_id}/{quote(client_id, safe='')}")
        self.plans[system_id].clients.pop(client_id, None)

    def advance_day(self, system_id: str | None = None) -> dict:
        """So that a test can move a plan to its next day of records.

        Moves the plan (every plan that has one without `system_id`) to its next day of records and returns
        what changed per plan moved: `{"demoplan": {"day": 2, "days": 3, "new": ["ExplanationOfBenefit/..."],
        "changed": [...], "removed": [...]}}`. Raises MockPayerError when there is no next day."""
        return self._admin("post", "advance", {"system_id": system_id} if system_id else None)

    def day(self, system_id: str) -> int:
        """The day of records the plan serves now (1 from the start)."""
        return self._admin("get", "days")[system_id]["day"]

    def records(self, member: str, plan: str | None = None) -> dict[str, str]:
        """So that an end-to-end test has the expected side of its comparison.

        What the member's token can read now, `{"Type/id": the JSON text served}`: the expected side of an
        end-to-end comparison."""
        info = self._plan_of(member, plan)
        data = self._app.extensions["mockpayer"].resources[info.system_id].data
        readable = data.readable_by(info.members[member].patient_id)
        return {f"{resource_type}/{resource_id}": data.resources[(resource_type, resource_id)].text
                for resource_type, resource_id in sorted(readable)}

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{self.url}/_admin/{path}", json=body, timeout=TIMEOUT)
        if not response.ok:
            raise MockPayerError(f"/_admin/{path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else {}


def _oauth_error(response: requests.Response) -> str | None:
    """The RFC 6749 §5.2 `error` of a token endpoint's refusal, if it sent one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("mock_payer_fixtures", "folder of plan folders the mock_payer fixture serves (default: the "
                                         "bundled plans)", type="paths")
    parser.addini("mock_payer_state", "where the mock keeps its state: a Redis URL (redis://host:port/db) shared "
                                      "with mocks in other processes (default: in the test's process)")
    parser.addini("mock_payer_session_fixtures", "folder of plan folders the mock_payer_session fixture serves "
                                                 "(default: mock_payer_fixtures)", type="paths")


def _configured_plans(config: pytest.Config, *options: str) -> Path:
    """The folder the first of the ini `options` that is set names, else the bundled plans."""
    for option in options:
        configured = config.getini(option)
        if configured:
            return Path(configured[0])
    return BUNDLED_PLANS_DIR


@pytest.fixture
def mock_payer_fixtures(request: pytest.FixtureRequest) -> Path:
    """The folder of plan folders `mock_payer` serves; override this fixture to serve your own."""
    return _configured_plans(request.config, "mock_payer_fixtures")


def _configured_state(config: pytest.Config) -> str | None:
    return config.getini("mock_payer_state") or None


@pytest.fixture
def mock_payer(request: pytest.FixtureRequest, mock_payer_fixtures: Path) -> Iterator[MockPayer]:
    """A mock payer on a free loopback port serving `mock_payer_fixtures`, fresh for each test.

    With the `mock_payer_state` ini option it keeps its state in that Redis, which the test then shares with any
    other mock there (and finds as the last test left it, unless the suite empties it)."""
    payer = MockPayer(mock_payer_fixtures, _configured_state(request.config))
    yield payer
    payer.stop()


@pytest.fixture(scope="session")
def mock_payer_session_fixtures(request: pytest.FixtureRequest) -> Path:
    """So that a suite can choose which plans `mock_payer_session` serves.

    The folder of plan folders `mock_payer_session` serves; override it with a session-scoped fixture in the
    suite's top conftest.py (it is chosen once, for the whole session)."""
    return _configured_plans(request.config, "mock_payer_session_fixtures", "mock_payer_fixtures")


@pytest.fixture(scope="session")
def mock_payer_session(request: pytest.FixtureRequest, mock_payer_session_fixtures: Path) -> Iterator[MockPayer]:
    """One mock payer for the whole session (per process), serving `mock_payer_session_fixtures`.

    `reset` before each test that uses it.

    Its loaded records live in this process, as it runs in a thread of it, and a big plan's records run to millions
    of objects: so once they are loaded they are frozen out of the garbage collector's generations (`gc.freeze`),
    which every full collection in every later test would otherwise walk. Objects freed by their reference
    count still go; the session's end unfreezes them."""
    payer = MockPayer(mock_payer_session_fixtures, _configured_state(request.config))
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
    yield payer
    payer.stop()
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _mock_payer_session_reset(request: pytest.FixtureRequest) -> None:
    """So that tests sharing `mock_payer_session` do not see each other's changes.

    Each test that uses `mock_payer_session` (itself or through a fixture) finds it as it started, whichever
    tests ran before it in this process: `MockPayer.reset`."""
    if "mock_payer_session" in request.fixturenames:
        request.getfixturevalue("mock_payer_session").reset()
