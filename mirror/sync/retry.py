"""When to try a payer request again, and how long to wait first (SY-1, SY-2): pure arithmetic, no I/O.

429 and 503 honour `Retry-After` (RFC 9110 §10.2.3: delta-seconds or an HTTP-date; RFC 6585 §4), up to a
cap; without it, and for 500/502/504, resets and timeouts, the wait is exponential backoff with full jitter
(a uniform draw between 0 and the exponential bound), so that many clients failing together do not retry
together. Other 4xx are final: asking again cannot change the answer. The clock and the random draw are
passed in, so tests assert the exact waits without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

RATE_LIMITED = frozenset({429, 503})  # the server says "later", maybe with Retry-After
SERVER_FAILURES = frozenset({500, 502, 504})  # transient by nature, never with a useful Retry-After


class WaitTooLong(Exception):
    """The server asked for a wait longer than the cap; retrying sooner would only be refused again."""

    def __init__(self, seconds: float, cap: float):
        super().__init__(f"asked to wait {seconds:.0f} s, more than the {cap:.0f} s this sync waits")
        self.seconds = seconds


@dataclass(frozen=True)
class RetryPolicy:
    """How many times one request is tried, and the bounds of the waits in between (seconds)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 300.0

    def is_retryable_status(self, status: int) -> bool:
        return status in RATE_LIMITED or status in SERVER_FAILURES

    def backoff(self, attempt: int, uniform: Callable[[float, float], float]) -> float:
        """Full jitter after failed attempt number `attempt` (0 for the first): U(0, min(max, base * 2^n))."""
        return uniform(0.0, min(self.max_delay, self.base_delay * 2 ** attempt))

    def wait_before_retry(
        self,
        attempt: int,
        status: int | None,
        retry_after: str | None,
        now: float,
        uniform: Callable[[float, float], float],
    ) -> float:
        """Seconds to wait after failed attempt `attempt` that got `status` (None: no answer at all).

        A rate-limit answer's `Retry-After` wins when it parses; one beyond the cap raises WaitTooLong.
        """
        if status in RATE_LIMITED:
            asked = retry_after_seconds(retry_after, now)
            if asked is not None:
                if asked > self.retry_after_cap:
                    raise WaitTooLong(asked, self.retry_after_cap)
                return asked
        return self.backoff(attempt, uniform)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` value asks for (never negative), or None when absent or unreadable.

    `now` is the wall clock in epoch seconds, needed for the HTTP-date form (a date in the past means
    "now"). A value that is neither form is ignored rather than trusted.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    moment = http_date(text)
    return None if moment is None else max(0.0, moment.timestamp() - now)


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date header value (RFC 9110 §5.6.7) as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None  # HTTP dates are GMT
