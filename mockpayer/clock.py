"""The mock's sense of time: one clock the tests can move, so expiry is tested without sleeping."""

import threading
import time


class Clock:
    """Wall-clock seconds plus an offset that only ever grows."""

    def __init__(self, offset: float = 0.0):
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
