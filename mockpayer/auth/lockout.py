"""Guessing stopped (RFC 6749 §10.10): consecutive failed sign-ins and client authentications, and the locks they earn.

One object with a small interface (`get`, `record`, `clear`) over the mock's state (mockpayer/state/): each
subject's failures are one value changed atomically, so waitress's threads, and every process of a mock on a
shared state, count each failure once and lock at exactly `after`.

A subject is a member (by the username typed, known or not, so a lock does not tell members from strangers)
or a client. Every factor a member signs in with (password, one-time code, and any later one) counts against
the member's one counter, and only a finished sign-in resets it: a right password alone does not, or knowing
it would buy fresh guesses at the code. Failures are forgotten once a whole window has passed since the last
one, which keeps the table small and costs nothing: a guesser gets `after` tries per window either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mockpayer.clock import Clock
from mockpayer.plans import LockoutSettings
from mockpayer.state import State, open_state

MEMBER = "member"
CLIENT = "client"


@dataclass(frozen=True)
class Subject:
    """Who is being guessed at: a member's sign-in or a client's secret, in one plan."""

    system_id: str
    kind: str  # MEMBER or CLIENT
    name: str


class Lockouts:
    def __init__(self, clock: Clock, state: State | None = None):
        self.clock = clock
        self.state = state or open_state()

    def get(self, subject: Subject) -> float:
        """Seconds `subject` stays locked; 0 when it may try."""
        return _remaining(self.state.get(_key(subject)), self.clock.now())

    def record(self, subject: Subject, *, succeeded: bool, policy: LockoutSettings) -> float:
        """Counts one attempt and answers the seconds `subject` is locked after it (0: not locked).

        An attempt recorded while the subject is locked neither counts nor succeeds: a right answer racing
        the failure that set the lock is still refused, whatever order the threads checked in.
        """
        now = self.clock.now()

        def counted(failures: dict | None) -> dict | None:
            if failures is not None and now >= failures["last"] + policy.seconds and not _remaining(failures, now):
                failures = None  # a whole window since the last failure: forgotten
            if _remaining(failures, now):
                return failures
            if succeeded:
                return None
            count = (failures["count"] if failures else 0) + 1
            return {"count": count, "last": now, "locked_until": now + policy.seconds if count >= policy.after else 0.0}

        _, failures = self.state.update(_key(subject), counted, ttl=policy.seconds + 60)
        return _remaining(failures, now)

    def clear(self, system_ids: list[str]) -> None:
        """Forgets every failure and lock of the plans named."""
        for system_id in system_ids:
            self.state.forget(f"lockout:{system_id}:")


def locked_for(seconds: float) -> str:
    """A lock's length in the words both the member's page and a client's error use: 'locked for 2 more minutes'."""
    minutes = math.ceil(seconds / 60)
    return f"locked for {minutes} more minute{'s' if minutes != 1 else ''}"


def _remaining(failures: dict | None, now: float) -> float:
    return max(0.0, failures["locked_until"] - now) if failures else 0.0


def _key(subject: Subject) -> str:
    return f"lockout:{subject.system_id}:{subject.kind}:{subject.name}"
