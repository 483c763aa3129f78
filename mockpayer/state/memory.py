"""The in-process state: the default, for one mock process, with the same behaviour as the Redis backend.

Values are kept as JSON bytes, so a caller never shares a mutable object with the state, exactly as with Redis.
Keys given a `ttl` are dropped once it has passed (checked on access, and swept now and then so the dict does not
grow with keys nobody asks for again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from mockpayer.state import State


class MemoryState(State):
    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, tuple[bytes | int | list, float | None]] = {}  # key -> (value, monotonic deadline)
        self._writes_since_sweep = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            return _decoded(self._live(key))

    def get_many(self, keys: list[str]) -> list[Any | None]:
        with self._lock:
            return [_decoded(self._live(key)) for key in keys]

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._store(key, orjson.dumps(value), ttl)

    def put_new(self, key: str, value: Any, ttl: float | None = None) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._store(key, orjson.dumps(value), ttl)
            return True

    def take(self, key: str) -> Any | None:
        with self._lock:
            value = self._live(key)
            self._values.pop(key, None)
            return _decoded(value)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def update(self, key: str, change: Callable[[Any | None], Any | None],
               ttl: float | None = None) -> tuple[Any | None, Any | None]:
        with self._lock:
            old = _decoded(self._live(key))
            new = change(old)
            if new is None:
                self._values.pop(key, None)
            elif ttl is None and key in self._values:
                self._values[key] = (orjson.dumps(new), self._values[key][1])
            else:
                self._store(key, orjson.dumps(new), ttl)
            return old, new

    def increment(self, key: str, by: int = 1) -> int:
        with self._lock:
            value = (self._live(key) or 0) + by
            deadline = self._values[key][1] if key in self._values else None
            self._values[key] = (value, deadline)
            return value

    def append(self, key: str, value: Any, keep: int) -> None:
        with self._lock:
            listed = self._live(key) or []
            self._values[key] = ([*listed, orjson.dumps(value)][-keep:], None)

    def items(self, key: str) -> list[Any]:
        with self._lock:
            return [orjson.loads(item) for item in self._live(key) or []]

    def forget(self, prefix: str) -> None:
        with self._lock:
            for key in [key for key in self._values if key.startswith(prefix)]:
                del self._values[key]

    def _live(self, key: str):
        entry = self._values.get(key)
        if entry is None:
            return None
        value, deadline = entry
        if deadline is not None and time.monotonic() >= deadline:
            del self._values[key]
            return None
        return value

    def _store(self, key: str, value, ttl: float | None) -> None:
        self._values[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._writes_since_sweep += 1
        if self._writes_since_sweep > max(1000, len(self._values)):
            self._sweep()

    def _sweep(self) -> None:
        """Drops expired keys; run after as many writes as there are keys, so its cost per write stays constant."""
        now = time.monotonic()
        for key in [key for key, (_, deadline) in self._values.items() if deadline is not None and now >= deadline]:
            del self._values[key]
        self._writes_since_sweep = 0


def _decoded(value):
    return orjson.loads(value) if isinstance(value, bytes) else value
