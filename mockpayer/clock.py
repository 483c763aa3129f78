"""The mock's sense of time: one clock the tests can move, so expiry is tested without sleeping."""

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

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Undo every `advance`: a mock shared by several tests (the `mock_payer_session` fixture) starts each test
        where its clock started, whatever the test before moved it to."""
        with self._lock:
            self._offset = self._start
