"""The client side of SMART App Launch's authorization-code flow, and the connection file that keeps its result.

The flow is RFC 6749 §4.1 with PKCE (RFC 7636) and loopback redirects for native apps (RFC 8252 §7.3), on authlib's
`OAuth2Session`; the private connection file keeps what the flow yields (its two tokens in the OS keyring when there
is one, see `mirror.token_vault`).

A connect either ends with a connection record written whole, or changes nothing on disk: an earlier good
connection survives a failed or abandoned attempt. Tokens, codes and secrets never reach a message, a log
line or a `repr`.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import json
import queue
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from mirror import token_vault
from mirror.fhir.scopes import readable_types, split_scope
from mirror.http.mock_login import MockLoginError, complete_mock_login
from mirror.plans import PlanConfig, PlanError, unreachable
from mirror.store.files import ensure_private_folder, write_atomically

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

LOOPBACK = "127.0.0.1"
CALLBACK_PATH = "/callback"
CONNECTIONS_FOLDER = "connections"
DEFAULT_WAIT = 300.0  # seconds a member has to finish signing in
TOKEN_TIMEOUT = (10, 30)  # seconds to connect, seconds to read
MAX_REFLECTED = 200  # characters of a server's error description we repeat
SECRET_TOKEN_FIELDS = ("access_token", "refresh_token")  # kept in the keyring when there is one


class ConnectError(RuntimeError):
    """Connecting (or refreshing) failed; the message is one line a member can act on and holds no secret."""


class ReconnectNeeded(ConnectError):
    """The plan refused the saved sign-in (expired, revoked or rotated away): only a new `mirror connect` helps."""


@dataclass(frozen=True)
class Token:
    """What a token response grants, as the mirror keeps it; the two tokens stay out of `repr`."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: int | None
    scope: str
    patient: str | None
    refresh_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_response(cls, response: dict, requested_scope: str, previous_refresh_token: str | None = None) -> Token:
        """A Token from authlib's parsed response (which has turned `expires_in` into `expires_at`).

        An omitted `scope` means the scope asked for (RFC 6749 §5.1); an omitted refresh token on refresh
        means the old one stays valid (RFC 6749 §6).
        """
        access_token = response.get("access_token")
        token_type = str(response.get("token_type") or "")
        if not isinstance(access_token, str) or not access_token or token_type.lower() != "bearer":
            raise ConnectError("the token endpoint's answer holds no bearer access token")
        patient = response.get("patient")
        return cls(
            access_token=access_token,
            token_type="Bearer",
            expires_at=response.get("expires_at") if isinstance(response.get("expires_at"), int) else None,
            scope=response.get("scope") or requested_scope,
            patient=patient if isinstance(patient, str) and patient else None,
            refresh_token=response.get("refresh_token") or previous_refresh_token,
        )


@dataclass(frozen=True)
class Connection:
    """One connected plan: how to reach it, the tokens it granted, and when the member connected."""

    plan: PlanConfig
    token: Token
    connected_at: str  # ISO 8601, UTC

    def to_dict(self) -> dict:
        return {"plan": self.plan.to_dict(), "token": asdict(self.token), "connected_at": self.connected_at}

    @classmethod
    def from_dict(cls, data: dict) -> Connection:
        return cls(PlanConfig.from_dict(data["plan"]), Token(**data["token"]), data["connected_at"])


@dataclass(frozen=True)
class MockLogin:
    """A member's answers to the mock payer's sign-in pages (`--login USER:PASSWORD --mfa CODE`)."""

    username: str
    password: str = field(repr=False)
    mfa_code: str | None = field(default=None, repr=False)
    allow: bool = True
    choose: tuple[tuple[str, str], ...] = ()  # consent page choices other than the defaults: (field, value)

    @classmethod
    def parse(cls, user_and_password: str, mfa_code: str | None = None) -> MockLogin:
        username, colon, password = user_and_password.partition(":")
        if not username or not colon:
            raise ConnectError("--login takes USER:PASSWORD")
        return cls(username, password, mfa_code)


# The connection record: a private file, its tokens there or in the OS keyring ---------------------------


def connection_path(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / CONNECTIONS_FOLDER / f"{name}.json"


def save_connection(data_dir: Path, connection: Connection) -> Path:
    """Replace the plan's connection durably.

    The tokens into the OS keyring first when there is one, then the file, atomically and readable by its owner only
    (DR-1), holding where the tokens went (`token_store`).

    Keyring first, so a rotated refresh token is kept before the file points at it (RT-4); a failure there
    leaves the file, and so the earlier connection, as it was.
    """
    ensure_private_folder(Path(data_dir))
    ensure_private_folder(Path(data_dir) / CONNECTIONS_FOLDER)
    name = connection.plan.name
    path = connection_path(data_dir, name)
    previous_store = _token_store_of(path)
    record = connection.to_dict()
    record["token_store"] = token_vault.chosen_store()
    if record["token_store"] == token_vault.KEYRING:
        tokens = {key: record["token"].pop(key) for key in SECRET_TOKEN_FIELDS}
        try:
            token_vault.put(data_dir, name, tokens)
        except token_vault.VaultError as error:
            raise ConnectError(f"{name}: {error}; nothing was saved") from None
    write_atomically(path, json.dumps(record, indent=2).encode())
    if previous_store == token_vault.KEYRING and record["token_store"] == token_vault.FILE:
        token_vault.forget(data_dir, name)
    return path


def load_connection(data_dir: Path, name: str) -> Connection:
    """The saved connection, its tokens read from wherever its file says they were put."""
    path = connection_path(data_dir, name)
    try:
        record = json.loads(path.read_bytes())
        if isinstance(record, dict) and record.get("token_store") == token_vault.KEYRING:
            record["token"] = {**record["token"], **_tokens_from_keyring(data_dir, name)}
        return Connection.from_dict(record)
    except FileNotFoundError:
        raise ConnectError(f"{name} is not connected; run: mirror connect {name} ...") from None
    except (ValueError, KeyError, TypeError, PlanError) as error:
        problem = error if isinstance(error, PlanError) else type(error).__name__
        raise ConnectError(f"the connection file {path} is damaged ({problem}); run: mirror connect {name} ...") from None


def _tokens_from_keyring(data_dir: Path, name: str) -> dict:
    try:
        tokens = token_vault.get(data_dir, name)
    except token_vault.VaultError as error:
        raise ConnectError(f"{name}: {error}; run: mirror connect {name} ...") from None
    if tokens is None or not all(key in tokens for key in SECRET_TOKEN_FIELDS):
        raise ConnectError(f"{name}: its tokens are missing from the OS keyring; run: mirror connect {name} ...")
    return {key: tokens[key] for key in SECRET_TOKEN_FIELDS}


def _token_store_of(path: Path) -> str | None:
    """Where an existing connection file says its tokens are; None when there is no readable file."""
    try:
        record = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return record.get("token_store", token_vault.FILE) if isinstance(record, dict) else None


def list_connections(data_dir: Path) -> list[Connection]:
    """Every saved connection, by name; a damaged file raises ConnectError rather than hiding the plan."""
    folder = Path(data_dir) / CONNECTIONS_FOLDER
    return [load_connection(data_dir, path.stem) for path in sorted(folder.glob("*.json"))]


# Connecting ----------------------------------------------------------------------------------------------


def connect(
    plan: PlanConfig,
    data_dir: Path,
    *,
    port: int = 0,
    open_browser: bool = True,
    wait: float = DEFAULT_WAIT,
    mock_login: MockLogin | None = None,
    show: Callable[[str], None] = print,
) -> Connection:
    """Run the authorization-code flow for `plan` and save the connection; returns it.

    The member signs in through the system browser, which the plan sends back to a one-shot listener on
    `http://127.0.0.1:{port}/callback` (CL-3); or, against the mock, `mock_login` fills the pages in and
    its redirect is taken directly. Either way the answer must carry this request's fresh state (CL-1),
    and the code goes to the token endpoint with this request's fresh PKCE verifier (CL-2).
    """
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    with contextlib.nullcontext() if mock_login else _CallbackListener(port, state) as listener:
        redirect_uri = callback_url(listener.port if listener else port)
        session = _session(plan, redirect_uri=redirect_uri, scope=plan.scope)
        authorize_url, _ = session.create_authorization_url(
            plan.endpoints.authorize_url, state=state, code_verifier=verifier, aud=plan.endpoints.fhir_base
        )
        if listener is None:
            code = code_from_redirect(_sign_in_to_mock(authorize_url, mock_login), redirect_uri, state)
        else:
            _send_member_to(authorize_url, open_browser, show)
            code = listener.wait(wait)
    response = _token_request(plan, lambda: session.fetch_token(
        plan.endpoints.token_url, grant_type="authorization_code", code=code, code_verifier=verifier,
        timeout=TOKEN_TIMEOUT))
    connection = Connection(plan, Token.from_response(response, plan.scope), _now())
    for warning in grant_warnings(plan.scope, connection.token):
        show(f"warning: {warning}")
    save_connection(data_dir, connection)
    return connection


def callback_url(port: int) -> str:
    """The redirect URI: loopback IP literal, never `localhost`, with the listener's port when there is one."""
    return f"http://{LOOPBACK}:{port}{CALLBACK_PATH}" if port else f"http://{LOOPBACK}{CALLBACK_PATH}"


def code_from_redirect(redirect_url: str, redirect_uri: str, expected_state: str) -> str:
    """The authorization code from the plan's redirect, after checking it answers this very request (CL-1).

    The state is compared before anything else is believed, so a forged or replayed answer is refused even
    when it claims an error.
    """
    answer = urlsplit(redirect_url)
    expected = urlsplit(redirect_uri)
    if (answer.scheme, answer.netloc, answer.path) != (expected.scheme, expected.netloc, expected.path):
        raise ConnectError("the plan sent the sign-in back somewhere other than this app's callback")
    params = parse_qs(answer.query, keep_blank_values=True)
    if any(len(values) > 1 for values in params.values()):
        raise ConnectError("the answer to the sign-in repeats a parameter; nothing was exchanged")
    state = params.get("state", [""])[0]
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise ConnectError("the answer to the sign-in does not carry this request's state (a stale or forged "
                           "answer); nothing was exchanged. Run mirror connect again")
    if "error" in params:
        raise ConnectError(_refusal("the plan did not grant access", params["error"][0],
                                    params.get("error_description", [""])[0]))
    code = params.get("code", [""])[0]
    if not code:
        raise ConnectError("the answer to the sign-in holds neither a code nor an error")
    return code


def grant_warnings(requested_scope: str, token: Token) -> list[str]:
    """What the member should know about a grant that is narrower than asked (CL-6); an empty list if none.

    A grant that reads nothing is an error: there would be nothing to sync.
    """
    every_type, named_types = readable_types(token.scope)
    if not every_type and not named_types:
        raise ConnectError(f"the plan granted no permission to read records (granted scope: {token.scope!r})")
    warnings = []
    missing = [word for word in split_scope(requested_scope) if word not in split_scope(token.scope)]
    if missing:
        warnings.append(f"the plan granted less than asked; missing: {' '.join(missing)}")
    if token.patient is None and any(word.startswith("patient/") for word in split_scope(token.scope)):
        warnings.append("the plan did not say which patient record it granted; sync will have to ask it")
    if token.refresh_token is None:
        warnings.append("the plan gave no refresh token; connect again when the access token expires")
    return warnings


def _session(plan: PlanConfig, **options) -> OAuth2Session:
    """So that commands that need no OAuth do not pay for importing authlib and requests.

    authlib's client session for the plan. authlib and requests are imported here and in the two functions
    below, not with this module: loading a connection for `mirror status` needs neither, and both are slow to import."""
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(
        plan.client_id,
        plan.client_secret,
        token_endpoint_auth_method=plan.auth_method,
        code_challenge_method="S256",
        **options,
    )


def _sign_in_to_mock(authorize_url: str, login: MockLogin) -> str:
    import requests

    try:
        return complete_mock_login(requests.Session(), authorize_url, login.username, login.password,
                                   mfa_code=login.mfa_code, allow=login.allow, choose=dict(login.choose),
                                   timeout=TOKEN_TIMEOUT[1])
    except MockLoginError as error:
        raise ConnectError(str(error)) from None
    except requests.RequestException as error:
        raise ConnectError(unreachable(authorize_url, error)) from None


def _send_member_to(authorize_url: str, open_browser: bool, show: Callable[[str], None]) -> None:
    if open_browser and webbrowser.open(authorize_url):
        show("Sign in to your health plan in the browser window that just opened. If none did, open:")
    else:
        show("Open this address in a browser on this computer and sign in to your health plan:")
    show(authorize_url)


def _token_request(
    plan: PlanConfig, request: Callable[[], dict], refused: Callable[[str], ConnectError] = ConnectError
) -> dict:
    """Run a token endpoint request, turning each way it fails into one plain line.

    `refused` makes the error for an OAuth error answer, the one failure that trying again cannot fix.
    """
    import requests
    from authlib.integrations.base_client.errors import OAuthError

    url = plan.endpoints.token_url
    try:
        return request()
    except OAuthError as error:
        raise refused(_refusal("the plan's token endpoint refused", error.error, error.description)) from None
    except requests.HTTPError as error:
        raise ConnectError(f"the token endpoint {url} answered HTTP {error.response.status_code}") from None
    except requests.RequestException as error:
        raise ConnectError(unreachable(url, error)) from None
    except ValueError:
        raise ConnectError(f"the token endpoint {url} answered something that is not a token response") from None


_PLAIN_REASONS = {
    "access_denied": "access was declined at the plan's consent page",
    "invalid_client": "the client id or secret was not accepted",
    "unauthorized_client": "this client may not use this kind of sign-in",
    "invalid_grant": "the code or refresh token was not accepted (expired, used or revoked)",
    "invalid_scope": "the scope asked for is not allowed",
}


def _refusal(what: str, error: str | None, description: str | None) -> str:
    """`what: plain reason (error code: the server's words)`, the server's words trimmed to one short line."""
    code = one_line(error or "unknown_error")
    detail = f"{code}: {one_line(description)}" if description else code
    return f"{what}: {_PLAIN_REASONS.get(code, 'the request was refused')} ({detail})"


def one_line(text: str, limit: int = MAX_REFLECTED) -> str:
    """`text` fit to repeat in a message: printable characters only, whitespace collapsed, at most `limit` long."""
    printable = "".join(character if character.isprintable() else " " for character in str(text))
    return " ".join(printable.split())[:limit]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# The loopback listener -----------------------------------------------------------------------------------


class _CallbackListener:
    """A one-shot HTTP listener for the plan's redirect, bound to 127.0.0.1 only (CL-3, RFC 8252 §8.3).

    The first answer on `/callback` settles the attempt, right or wrong: the state is checked once (CL-1).
    The page shown to the browser says what happened in plain words and reflects nothing unescaped (CL-5).
    """

    def __init__(self, port: int, state: str):
        self.state = state
        self.outcomes: queue.Queue[str | ConnectError] = queue.Queue()
        self.answered = threading.Lock()
        try:
            self.server = HTTPServer((LOOPBACK, port), _handler_for(self))
        except OSError as error:
            raise ConnectError(f"cannot listen on {LOOPBACK}:{port} for the sign-in ({error.strerror}); "
                               "choose another --port") from None
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=f"mirror-callback-{self.port}", daemon=True)
        self.thread.start()

    def wait(self, seconds: float) -> str:
        try:
            outcome = self.outcomes.get(timeout=seconds)
        except queue.Empty:
            raise ConnectError(f"no sign-in came back within {seconds:g} seconds; run mirror connect again") from None
        if isinstance(outcome, ConnectError):
            raise outcome
        return outcome

    def settle(self, path: str) -> tuple[int, str, str]:
        """(status, page title, page text) for a request to `path`, delivering the first callback's outcome."""
        if urlsplit(path).path != CALLBACK_PATH:
            return 404, "Not found", "This address belongs to payer-mirror's sign-in and has nothing else."
        if not self.answered.acquire(blocking=False):
            return 400, "Already answered", "This sign-in was already answered. Return to the terminal."
        try:
            code = code_from_redirect(f"{callback_url(self.port)}?{urlsplit(path).query}", callback_url(self.port),
                                      self.state)
        except ConnectError as error:
            self.outcomes.put(error)
            return 400, "Not connected", f"payer-mirror could not connect: {error}."
        self.outcomes.put(code)
        return 200, "Signed in", "You have signed in. payer-mirror is finishing the connection in the terminal; " \
                                 "you can close this tab."

    def __enter__(self) -> _CallbackListener:
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler_for(listener: _CallbackListener) -> type[BaseHTTPRequestHandler]:
    class CallbackHandler(BaseHTTPRequestHandler):
        server_version = "payer-mirror"
        sys_version = ""

        def do_GET(self):
            status, title, text = listener.settle(self.path)
            body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
                    f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></html>").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", "default-src 'none'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            """Silent: the request line carries the authorization code (WB-4)."""

    return CallbackHandler


# Refreshing ----------------------------------------------------------------------------------------------


def refresh(data_dir: Path, name: str) -> Connection:
    """Exchange the saved refresh token for new tokens, save them durably, and only then return them (RT-4).

    It starts from the saved connection, not from a copy in memory, so it always presents the newest refresh
    token; a rotated one is saved (keyring first, then file) before anyone can use the new access token, so a
    crash in between costs at most a re-connect, never a loop of replays. A refusal raises ReconnectNeeded; an
    unreachable or failing server raises ConnectError, and the saved connection is unchanged.
    """
    connection = load_connection(data_dir, name)
    refresh_token = connection.token.refresh_token
    if refresh_token is None:
        raise ReconnectNeeded(f"{name}: the plan gave no refresh token; run: mirror connect {name} ...")
    plan = connection.plan
    session = _session(plan)
    response = _token_request(
        plan,
        lambda: session.refresh_token(plan.endpoints.token_url, refresh_token=refresh_token, timeout=TOKEN_TIMEOUT),
        refused=lambda message: ReconnectNeeded(f"{name}: {message}; run: mirror connect {name} ..."),
    )
    renewed = replace(connection, token=Token.from_response(response, connection.token.scope, refresh_token))
    save_connection(data_dir, renewed)
    return renewed
