"""The shared state on Redis: every key under `mockpayer:` (and an optional prefix), through the `redis` client.

Each primitive is one Redis command or one optimistic transaction (WATCH, then MULTI/EXEC, retried when another
process wrote the key meanwhile), so processes on one Redis see one state and a one-time code redeems once.
What a request will read is read ahead in one MGET (`hold`) and answered from that copy until the request ends,
less what the request itself writes: one round trip instead of one per read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
import redis

from mockpayer.state import State, StateError, shown_url

ROOT = "mockpayer:"
GLOB_SPECIALS = re.compile(r"([*?\[\]\\])")
SCAN_BATCH = 500


class RedisState(State):
    unavailable = (redis.RedisError,)  # unreachable, and also refusing: a read-only replica, out of memory

    def __init__(self, client: redis.Redis, prefix: str = ""):
        self.client = client
        self.root = f"{ROOT}{prefix}:" if prefix else ROOT
        self._held: ContextVar[dict[str, bytes | None] | None] = ContextVar("held_values", default=None)

    @classmethod
    def connect(cls, url: str) -> RedisState:
        """Opens `url` (its `prefix` query parameter is the mock's, not Redis's) and checks that Redis answers."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = next((value for name, value in query if name == "prefix"), "")
        rest = urlencode([(name, value) for name, value in query if name != "prefix"])
        try:
            client = redis.Redis.from_url(parts._replace(query=rest).geturl(), socket_connect_timeout=5,
                                          socket_timeout=30, health_check_interval=30)
            client.ping()
        except (redis.RedisError, ValueError, OSError) as error:
            reason = str(error).replace(parts.password or "\0", "***") or type(error).__name__
            raise StateError(f"--state {shown_url(url)}: cannot use Redis there ({reason.rstrip('.')})") from None
        return cls(client, prefix)

    def get(self, key: str) -> Any | None:
        held = self._held.get()
        if held is not None and key in held:
            return _decoded(held[key])
        return _decoded(self.client.get(self.root + key))

    def get_many(self, keys: list[str]) -> list[Any | None]:
        held = self._held.get() or {}
        missing = [key for key in keys if key not in held]
        if missing:
            held = {**held, **dict(zip(missing, self.client.mget([self.root + key for key in missing]), strict=True))}
        return [_decoded(held[key]) for key in keys]

    def hold(self, keys: list[str]) -> object:
        return self._held.set(dict(zip(keys, self.client.mget([self.root + key for key in keys]), strict=True)))

    def release(self, held: object) -> None:
        self._held.reset(held)  # type: ignore[arg-type]

    def _written(self, *keys: str) -> None:
        """A held value this request wrote is read from Redis again."""
        held = self._held.get()
        if held:
            for key in keys:
                held.pop(key, None)

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._written(key)
        self.client.set(self.root + key, orjson.dumps(value), px=_milliseconds(ttl))

    def put_new(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._written(key)
        return bool(self.client.set(self.root + key, orjson.dumps(value), px=_milliseconds(ttl), nx=True))

    def take(self, key: str) -> Any | None:
        self._written(key)
        return _decoded(self.client.getdel(self.root + key))

    def delete(self, *keys: str) -> None:
        self._written(*keys)
        if keys:
            self.client.delete(*(self.root + key for key in keys))

    def update(self, key: str, change: Callable[[Any | None], Any | None],
               ttl: float | None = None) -> tuple[Any | None, Any | None]:
        self._written(key)
        name = self.root + key
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(name)
                    old = _decoded(pipe.get(name))
                    new = change(old)
                    if old is None and new is None:  # nothing to delete: no write, as if done when read
                        pipe.unwatch()
                        return old, new
                    pipe.multi()
                    if new is None:
                        pipe.delete(name)
                    elif ttl is None:
                        pipe.set(name, orjson.dumps(new), keepttl=True)
                    else:
                        pipe.set(name, orjson.dumps(new), px=_milliseconds(ttl))
                    pipe.execute()
                    return old, new
                except redis.WatchError:
                    continue

    def increment(self, key: str, by: int = 1) -> int:
        self._written(key)
        return int(self.client.incrby(self.root + key, by))

    def append(self, key: str, value: Any, keep: int) -> None:
        self._written(key)
        name = self.root + key
        with self.client.pipeline() as pipe:
            pipe.rpush(name, orjson.dumps(value))
            pipe.ltrim(name, -keep, -1)
            pipe.execute()

    def items(self, key: str) -> list[Any]:
        return [orjson.loads(item) for item in self.client.lrange(self.root + key, 0, -1)]

    def forget(self, prefix: str) -> None:
        self._written(*(key for key in self._held.get() or () if key.startswith(prefix)))
        pattern = GLOB_SPECIALS.sub(r"\\\1", self.root + prefix) + "*"
        batch = []
        for name in self.client.scan_iter(match=pattern, count=SCAN_BATCH):
            batch.append(name)
            if len(batch) >= SCAN_BATCH:
                self.client.unlink(*batch)
                batch.clear()
        if batch:
            self.client.unlink(*batch)


def _milliseconds(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl * 1000))


def _decoded(value: bytes | None):
    if value is None:
        return None
    return orjson.loads(value)
