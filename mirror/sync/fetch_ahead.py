"""The next page's request, on a thread of its own while the engine stores the page before it.

A payer answers a page in tens to hundreds of milliseconds, and checking and storing a page costs about as
much: one after the other, a sync pays for both. The next page's URL is known as soon as a page is read,
so its request goes out before that page is stored. Requests stay one at a time: the engine takes the
answer (or lets the request finish) before it asks the plan for anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")  # what `get` makes of the answer: the answer itself, or the page read from it


class FetchAhead(Generic[T]):
    """GET `url` with `get` now, on a daemon thread: a sync killed or interrupted meanwhile does not wait for it."""

    def __init__(self, get: Callable[[str], T], url: str):
        self.url = url
        self._done = threading.Event()
        self._answer: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._fetch, args=(get,), name="mirror-fetch-ahead", daemon=True).start()

    def answer(self) -> T:
        """The answer, once it has come; whatever `get` raised is raised here, in the engine's thread."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._answer

    def settle(self) -> None:
        """Wait for a request whose answer is no longer wanted, so that it is not still out when the next one goes."""
        self._done.wait()

    def _fetch(self, get: Callable[[str], T]) -> None:
        try:
            self._answer = get(self.url)
        except BaseException as error:  # noqa: BLE001 - handed to the engine's thread, which decides
            self._error = error
        finally:
            self._done.set()
