"""GET requests to one plan's FHIR API, as a careful client makes them.

The bearer token kept fresh (SY-4), explicit timeouts (SY-3), retries with backoff (SY-1, SY-2), an optional request
budget (SY-9) and a cap on what a response may weigh (IN-J4).

Only URLs on the plan's own FHIR base are requested, so a `next` link or a reference pointing elsewhere
can never carry the member's token to another host. Errors name the URL with any token-like query
parameter blanked, never a token or a response body.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.structures import CaseInsensitiveDict

from mirror.oauth import ConnectError, Connection, ReconnectNeeded, Token, one_line, refresh
from mirror.sync.retry import RetryPolicy, WaitTooLong

TIMEOUTS = (10.0, 30.0)  # seconds to connect, seconds between bytes read (requests has no default: SY-3)
MAX_BODY_BYTES = 50 * 1024 * 1024  # IN-J4: one page never weighs more than this
PAGE_DEADLINE = 300.0  # seconds one response may take to arrive whole, however slowly it trickles
REFRESH_SKEW = 60.0  # refresh this many seconds before the access token expires (SY-4)
ACCEPT = "application/fhir+json, application/json;q=0.9"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
SECRET_PARAMETERS = frozenset({"access_token", "token", "code", "refresh_token", "client_secret", "id_token"})
READ_CHUNK = 64 * 1024
MAX_DETAIL = 200  # characters of a server's OperationOutcome text we repeat


class FetchFailed(Exception):
    """A request that did not give a usable answer after the retries it deserved; one line, no secret."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{display_url(url)}: {reason}")
        self.url = url
        self.status = status


class Refused(FetchFailed):
    """A 4xx answer that retrying cannot change (400, 403, 404, 410, ...); `detail` is the server's reason."""

    def __init__(self, url: str, status: int, detail: str):
        super().__init__(url, f"HTTP {status}{f' ({detail})' if detail else ''}", status)
        self.detail = detail


class Garbled(ValueError):
    """A 2xx answer whose body does not parse, as one cut short on the way: asked for again like a reset."""


class _TooSlow(Exception):
    """A response still arriving after PAGE_DEADLINE seconds: treated like a read timeout."""


@dataclass(frozen=True)
class Answer:
    """A 2xx response read whole: its final URL, status, headers and body."""

    url: str
    status: int
    headers: CaseInsensitiveDict
    body: bytes


def display_url(url: str) -> str:
    """`url` fit for a message or a report: query parameters that could hold a secret are blanked."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(name, "..." if name.lower() in SECRET_PARAMETERS else value)
             for name, value in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="/:,$")))


def is_on_base(url: str, base: str) -> bool:
    """True when `url` lies under the FHIR base `base`: same scheme, host and port, and a path below it."""
    target, root = urlsplit(url), urlsplit(base)
    return ((target.scheme.lower(), target.netloc.lower()) == (root.scheme.lower(), root.netloc.lower())
            and (target.path + "/").startswith(root.path.rstrip("/") + "/"))


class RequestBudget:
    """At most `per_minute` request starts in any minute (SY-9): starts are spaced 60/per_minute apart."""

    def __init__(self, per_minute: float, monotonic: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = 60.0 / per_minute
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_start = -float("inf")

    def wait_turn(self) -> None:
        wait = self._next_start - self._monotonic()
        if wait > 0:
            self._sleep(wait)
        self._next_start = max(self._monotonic(), self._next_start) + self.interval


@dataclass
class PayerClient:
    """GETs against `connection`'s FHIR base, counted so that a slow sync can be told from a slow plan.

    `requests` counts every HTTP attempt made (token refreshes aside) and `request_seconds` the time they took.

    `now` is the wall clock (token expiry, Retry-After dates), `sleep` and `uniform` drive the waits, and
    `renew(data_dir, name)` is `oauth.refresh`, which saves a rotated refresh token before returning it
    (RT-4); all four are here to be replaced in tests.
    """

    data_dir: Path
    connection: Connection
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: tuple[float, float] = TIMEOUTS
    max_body_bytes: int = MAX_BODY_BYTES
    budget: RequestBudget | None = None
    session: requests.Session = field(default_factory=requests.Session)
    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = random.uniform
    renew: Callable[[Path, str], Connection] = refresh
    requests: int = 0
    request_seconds: float = 0.0  # spent waiting for the plan's answers (retry waits not included)

    def __post_init__(self):
        self._token: Token = self.connection.token
        self._refresh_lock = threading.Lock()
        self._closing = False
        self.session.headers["Accept"] = ACCEPT

    def close(self) -> None:
        """So that a refresh token the plan rotated is saved before the sync ends, not lost with the process.

        The sync is over: no token refresh starts after this, and one under way (on the thread fetching a
        page ahead, say) is let finish first, so that a refresh token the plan rotated is saved rather than
        lost with the process, which would make the plan need connecting again."""
        self._closing = True
        with self._refresh_lock:
            pass

    @property
    def base(self) -> str:
        return self.connection.plan.endpoints.fhir_base.rstrip("/")

    @property
    def token(self) -> Token:
        return self._token

    def get(self, url: str, *, authorized: bool = True, read: Callable[[Answer], object] | None = None):
        """So that the sync gets a usable answer despite transient failures, or a precise error.

        The 2xx answer to GET `url`, or what `read` makes of it, after retries; FetchFailed, Refused, or
        ReconnectNeeded otherwise. An answer `read` finds Garbled is retried with the back-off of a 503."""
        if not is_on_base(url, self.base):
            raise FetchFailed(url, f"not on the plan's FHIR base {self.base}; not followed")
        attempt = 0
        refreshed_for_401 = False
        while True:
            used_token = self._fresh_token() if authorized else None
            try:
                status, headers, body = self._attempt(url, used_token)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, _TooSlow) as error:
                attempt = self._wait_or_give_up(url, attempt, None, None, _network_reason(error))
                continue
            if status == 401 and authorized:
                if refreshed_for_401:
                    raise FetchFailed(url, "HTTP 401: the plan did not accept a fresh access token", status)
                # SY-4: once per request; a token that has been renewed meanwhile is not renewed twice.
                self._renew(stale=used_token)
                refreshed_for_401 = True
                continue
            if 200 <= status < 300:
                answer = Answer(url, status, headers, body)
                try:
                    return answer if read is None else read(answer)
                except Garbled as garbled:
                    attempt = self._wait_or_give_up(url, attempt, None, None, str(garbled))
                    continue
            if self.policy.is_retryable_status(status):
                attempt = self._wait_or_give_up(url, attempt, status, headers.get("Retry-After"), f"HTTP {status}")
                continue
            raise Refused(url, status, _outcome_detail(body))

    def _attempt(self, url: str, token: Token | None) -> tuple[int, CaseInsensitiveDict, bytes]:
        if self.budget is not None:
            self.budget.wait_turn()
        headers = {"Authorization": f"Bearer {token.access_token}"} if token is not None else {}
        self.requests += 1
        started = time.monotonic()
        try:
            # Redirects are not followed: only URLs checked to be on the plan's base get the token.
            with self.session.get(url, headers=headers, timeout=self.timeouts, stream=True,
                                  allow_redirects=False) as response:
                body = self._read_capped(url, response, started)
                return response.status_code, response.headers, body
        finally:
            self.request_seconds += time.monotonic() - started

    def _read_capped(self, url: str, response: requests.Response, started: float) -> bytes:
        """The body, refused as soon as it is known to be over the cap (IN-J4) or to arrive too slowly."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise FetchFailed(url, f"the answer is {int(declared):,} bytes, over the {self.max_body_bytes:,}-byte cap")
        chunks, size = [], 0
        for chunk in response.iter_content(READ_CHUNK):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise FetchFailed(url, f"the answer is over the {self.max_body_bytes:,}-byte cap")
            if time.monotonic() - started > PAGE_DEADLINE:
                raise _TooSlow()
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait_or_give_up(self, url: str, attempt: int, status: int | None, retry_after: str | None, reason: str) -> int:
        """Sleep before the next attempt and return its number; FetchFailed once the attempts are spent."""
        if attempt + 1 >= self.policy.max_attempts:
            raise FetchFailed(url, f"{reason} after {attempt + 1} attempts", status)
        try:
            wait = self.policy.wait_before_retry(attempt, status, retry_after, self.now(), self.uniform)
        except WaitTooLong as too_long:
            raise FetchFailed(url, f"{reason}: {too_long}", status) from None
        self.sleep(wait)
        return attempt + 1

    # ----- the access token (SY-4)

    def _fresh_token(self) -> Token:
        token = self._token
        if token.expires_at is not None and self.now() >= token.expires_at - REFRESH_SKEW:
            self._renew(stale=token)
        return self._token

    def _renew(self, stale: Token | None) -> None:
        """Refresh under a lock; a caller that waited while another renewed the token just uses the new one.

        ReconnectNeeded (the plan refused the refresh token) goes straight up: trying again would replay a
        refused token. An unreachable or failing token endpoint is retried like any request (SY-4).
        """
        with self._refresh_lock:
            if stale is not None and self._token is not stale:
                return
            name = self.connection.plan.name
            for attempt in range(self.policy.max_attempts):
                if self._closing:
                    raise ConnectError(f"{name}: the sync is stopping; the access token was not refreshed")
                try:
                    self._token = self.renew(self.data_dir, name).token
                    return
                except ReconnectNeeded:
                    raise
                except ConnectError as error:
                    if attempt + 1 >= self.policy.max_attempts:
                        raise ConnectError(f"{name}: could not refresh the access token: {error}") from None
                    self.sleep(self.policy.backoff(attempt, self.uniform))


def _network_reason(error: Exception) -> str:
    if isinstance(error, (requests.Timeout, _TooSlow)):
        return "no answer in time"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"  # fewer bytes than its Content-Length or chunks said, or a reset mid-body
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "the answer's compressed body did not decompress"
    return "the connection failed"


def _outcome_detail(body: bytes) -> str:
    """The first issue's diagnostics or text of an OperationOutcome body, on one short line; else ''."""
    try:
        outcome = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    for issue in outcome.get("issue") or []:
        if isinstance(issue, dict):
            details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
            text = issue.get("diagnostics") or details.get("text")
            if isinstance(text, str) and text.strip():
                return one_line(text, MAX_DETAIL)
    return ""
