"""Where the mock keeps what must outlive a request: in this process, or in Redis shared by several processes.

Every stateful part of the mock (the ledger of codes and tokens, lockouts, sign-in transactions, the outbox, the
clock, fault counters, each plan's day, registered clients, and the secrets sessions and id_tokens are signed
with) is built on the few primitives of `State`, which both backends implement the same way: so two processes
on one Redis act as one mock, and the default in-process mock behaves exactly as before.

A secret a client presents (a code, a token, a sign-in transaction's id) is named in keys and values only by its
SHA-256 (`hashed`), so whoever reads the state (a Redis dump, `MONITOR`) cannot use what it finds; a lookup hashes
what was presented. The secrets the processes must share (the session and signing keys) are stored as they are.

Values are JSON (dicts, lists, strings, numbers); counters are integers kept apart from JSON values. `ttl` is
a safety net in real seconds, so a forgotten key does not stay forever: what expires with the mock's clock keeps
its own expiry inside the value, and its owner checks it against the clock, which can be moved forward.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

REDIS_SCHEMES = ("redis", "rediss", "unix")


class StateError(Exception):
    """A state that cannot be opened (a bad URL, Redis unreachable); the message is one line without secrets."""


class State:
    """The primitives every backend offers; each is atomic on its own."""

    unavailable: tuple[type[Exception], ...] = ()  # what the backend raises when it stops answering

    def get(self, key: str) -> Any | None:
        raise NotImplementedError

    def get_many(self, keys: list[str]) -> list[Any | None]:
        raise NotImplementedError

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        raise NotImplementedError

    def put_new(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Stores `value` only if `key` holds nothing; True when this call stored it (a race has one winner)."""
        raise NotImplementedError

    def take(self, key: str) -> Any | None:
        """Removes and answers the value: of concurrent takers, one gets it and the others None."""
        raise NotImplementedError

    def delete(self, *keys: str) -> None:
        raise NotImplementedError

    def update(self, key: str, change: Callable[[Any | None], Any | None],
               ttl: float | None = None) -> tuple[Any | None, Any | None]:
        """(old, new): `change(old)` becomes the value atomically (None deletes the key).

        `change` may run more than once (Redis retries when another process wrote meanwhile), so it must only
        compute; an exception it raises leaves the value as it was. Without `ttl` the key keeps its expiry."""
        raise NotImplementedError

    def increment(self, key: str, by: int = 1) -> int:
        raise NotImplementedError

    def append(self, key: str, value: Any, keep: int) -> None:
        """Adds `value` at the end of a list, keeping only its last `keep` items."""
        raise NotImplementedError

    def items(self, key: str) -> list[Any]:
        raise NotImplementedError

    def forget(self, prefix: str) -> None:
        """Deletes every key that starts with `prefix`."""
        raise NotImplementedError

    def hold(self, keys: list[str]) -> object:
        """Reads `keys` at once and answers their reads from that copy until `release` (with what this answers).

        So a request reads what it needs in one round trip: it sees those keys as they were when it began, and
        what it writes itself. Reads in this process's memory cost no round trip, so by default nothing is held."""
        return None

    def release(self, held: object) -> None:
        """Ends what `hold` began."""


def hashed(secret: str) -> str:
    """The SHA-256 (hex) that stands for a presented secret in the state's keys and values."""
    return hashlib.sha256(secret.encode()).hexdigest()


def open_state(url: str | State | None = None) -> State:
    """The state a URL names: None for this process's memory, `redis://host:port/db` for a shared Redis.

    A Redis URL may carry `?prefix=NAME` to keep several mocks apart on one Redis (keys `mockpayer:NAME:...`).
    Raises StateError for a URL that is not a Redis one, or a Redis that does not answer."""
    if isinstance(url, State):
        return url
    if url is None or url == "memory:":
        from mockpayer.state.memory import MemoryState

        return MemoryState()
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in REDIS_SCHEMES:
        raise StateError(f"--state {shown_url(url)}: not a Redis URL (redis://host:port/db, rediss://..., "
                         "unix:///path.sock)")
    from mockpayer.state.redis_store import RedisState

    return RedisState.connect(url)


def shown_url(url: str) -> str:
    """`url` with any password (`:password@` or `?password=`) replaced by `***`, fit for a message."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "(an unparsable URL)"
    shown = url.replace(f":{password}@", ":***@", 1) if password else url
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", shown)
