"""Guessing stopped (RFC 6749 §10.10): consecutive failed sign-ins and client authentications, and the locks they earn.

One object with a small interface (`get`, `record`, `clear`), so the state can later move to another store;
here it is in memory, behind a lock, because waitress serves requests from several threads.

A subject is a member (by the username typed, known or not, so a lock does not tell members from strangers)
or a client. Every factor a member signs in with (password, one-time code, and any later one) counts against
the member's one counter, and only a finished sign-in resets it: a right password alone does not, or knowing
it would buy fresh guesses at the code. Failures are forgotten once a whole window has passed since the last
one, which keeps the table small and costs nothing: a guesser gets `after` tries per window either way.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

from mockpayer.clock import Clock
from mockpayer.plans import LockoutSettings

MEMBER = "member"
CLIENT = "client"


@dataclass(frozen=True)
class Subject:
    """Who is being guessed at: a member's sign-in or a client's secret, in one plan."""

    system_id: str
    kind: str  # MEMBER or CLIENT
    name: str


@dataclass
class _Failures:
    count: int
    last: float
    locked_until: float = 0.0


class Lockouts:
    def __init__(self, clock: Clock):
        self.clock = clock
        self._lock = threading.Lock()
        # per plan, oldest failure first: a plan has one window, so the stale entries are always at the front
        self._plans: dict[str, OrderedDict[tuple[str, str], _Failures]] = {}

    def get(self, subject: Subject) -> float:
        """Seconds `subject` stays locked; 0 when it may try."""
        with self._lock:
            failures = self._plans.get(subject.system_id, {}).get((subject.kind, subject.name))
            return _remaining(failures, self.clock.now())

    def record(self, subject: Subject, *, succeeded: bool, policy: LockoutSettings) -> float:
        """Counts one attempt and answers the seconds `subject` is locked after it (0: not locked).

        An attempt recorded while the subject is locked neither counts nor succeeds: a right answer racing
        the failure that set the lock is still refused, whatever order the threads checked in.
        """
        with self._lock:
            now = self.clock.now()
            entries = self._plans.setdefault(subject.system_id, OrderedDict())
            _forget_stale(entries, now, policy)
            key = (subject.kind, subject.name)
            failures = entries.get(key)
            if _remaining(failures, now):
                return _remaining(failures, now)
            if succeeded:
                entries.pop(key, None)
                return 0.0
            failures = entries.pop(key, None) or _Failures(0, now)
            failures.count, failures.last = failures.count + 1, now
            if failures.count >= policy.after:
                failures.locked_until = now + policy.seconds
            entries[key] = failures
            return _remaining(failures, now)

    def clear(self, system_ids: list[str] | None = None) -> None:
        """Forgets every failure and lock, of all plans or of the ones named."""
        with self._lock:
            for system_id in list(self._plans) if system_ids is None else system_ids:
                self._plans.pop(system_id, None)


def locked_for(seconds: float) -> str:
    """A lock's length in the words both the member's page and a client's error use: 'locked for 2 more minutes'."""
    minutes = math.ceil(seconds / 60)
    return f"locked for {minutes} more minute{'s' if minutes != 1 else ''}"


def _remaining(failures: _Failures | None, now: float) -> float:
    return max(0.0, failures.locked_until - now) if failures else 0.0


def _forget_stale(entries: OrderedDict, now: float, policy: LockoutSettings) -> None:
    while entries:
        failures = next(iter(entries.values()))
        if now < failures.last + policy.seconds:
            return
        entries.popitem(last=False)
