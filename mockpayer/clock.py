"""The mock's sense of time: one clock the tests can move, so expiry is tested without sleeping.

It only moves forward: what has expired stays expired, a lockout never starts again, and `meta.lastUpdated`
of a later day is never older than an earlier day's, so a client's `_since` always finds what changed.

Its offset from the wall clock lives in the mock's state (mockpayer/state/), so with a shared state every
process of one mock reads the same time and a move through `/_admin/clock` reaches them all.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token

from mockpayer.state import State, open_state

OFFSET = "clock:offset"


class Clock:
    """Wall-clock seconds plus an offset that only ever grows, until `reset` puts back the one it started with."""

    def __init__(self, offset: float = 0.0, state: State | None = None):
        self._start = offset
        self._pinned: ContextVar[float | None] = ContextVar("pinned_offset", default=None)
        self.attach(state or open_state())

    def attach(self, state: State) -> None:
        """Keeps the offset in `state`; a shared state's offset, once some process set it, is left as it is."""
        self.state = state
        state.put_new(OFFSET, self._start)

    def now(self) -> float:
        return time.time() + self.offset

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of the wall clock."""
        pinned = self._pinned.get()
        return pinned if pinned is not None else self.state.get(OFFSET) or 0.0

    def pin(self, offset: float | None) -> Token:
        """Holds `offset` (as read from the state) for the rest of this request, so it asks the state only once."""
        return self._pinned.set(offset or 0.0)

    def unpin(self, token: Token) -> None:
        self._pinned.reset(token)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._moved(self.state.update(OFFSET, lambda offset: (offset or 0.0) + seconds)[1])

    def reset(self) -> None:
        """So that each test on a shared mock starts with the clock where it started.

        Undo every `advance`: a mock shared by several tests (the `mock_payer_session` fixture) starts each test
        where its clock started, whatever the test before moved it to."""
        self.state.put(OFFSET, self._start)
        self._moved(self._start)

    def set(self, moment: float) -> None:
        """Moves the clock to `moment` (seconds since the epoch), which must not be before its now."""
        def forward(offset):
            wanted = moment - time.time()
            if wanted < (offset or 0.0):
                raise ValueError("the clock only moves forward")
            return wanted

        self._moved(self.state.update(OFFSET, forward)[1])

    def _moved(self, offset: float) -> None:
        if self._pinned.get() is not None:
            self._pinned.set(offset)
