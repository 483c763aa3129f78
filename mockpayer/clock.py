"""The mock's sense of time: one clock the tests can move, so expiry is tested without sleeping.

It only moves forward: what has expired stays expired, a lockout never starts again, and `meta.lastUpdated`
of a later day is never older than an earlier day's, so a client's `_since` always finds what changed.
"""

import threading
import time


class Clock:
    """Wall-clock seconds plus an offset that only ever grows, until `reset` puts back the one it started with."""

    def __init__(self, offset: float = 0.0):
        self._offset = self._start = offset
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of the wall clock."""
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """So that each test on a shared mock starts with the clock where it started.

        Undo every `advance`: a mock shared by several tests (the `mock_payer_session` fixture) starts each test
        where its clock started, whatever the test before moved it to."""
        with self._lock:
            self._offset = self._start

    def set(self, moment: float) -> None:
        """Moves the clock to `moment` (seconds since the epoch), which must not be before its now."""
        with self._lock:
            offset = moment - time.time()
            if offset < self._offset:
                raise ValueError("the clock only moves forward")
            self._offset = offset
