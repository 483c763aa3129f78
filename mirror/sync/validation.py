"""R4 validation of a sync's new records in worker processes, beside the downloads rather than between them.

fhir.resources' validation of a CARIN EOB costs as much as downloading and storing it or more
(bench/README.md), so validating each page before fetching the next made validation
most of a sync's time. Instead the new content of each committed page goes to worker processes (their own
interpreters, so the work runs on other cores while this one fetches and stores) and the findings go to
the store as they come back, in the writes of the pages that follow. Records are stored first and never
wait for their findings. A run cut short leaves some content unvalidated (findings None) and the next run
validates that first.

What a worker runs is in mirror/validation_worker.py. Workers ignore Ctrl-C (the sync handles it and shuts
them down) and exit when the sync's process ends, even when it is killed. They are started with `spawn`,
never `fork`: the sync can run in a process that has other threads (a server, a test), and a forked child
inherits their locks in whatever state they are in. A spawned child does not run its parent's main script
here (see `_main_script_left_out`), so a script that calls the sync needs no `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import NamedTuple

from mirror import validation_worker
from mirror.store import StoredResource

Content = tuple[str, str, str]  # (resourceType, id, content hash)
Findings = tuple[str, str, str, list[str]]  # what Store.record_findings takes
BATCH = 50  # resources per task: big enough to make the hand-over cheap, small enough to spread the work
MOST_WORKERS = 4


def worker_count() -> int:
    """So that validation keeps pace with downloading without starving the sync.

    One worker per core, the sync's own included (at most MOST_WORKERS): validating costs more than
    what the sync does with a page, so the sync's core mostly waits for pages and then for the workers."""
    return max(1, min(MOST_WORKERS, os.cpu_count() or 1))


class BackgroundValidation:
    """Validation tasks in flight; the pool starts with the first task, so a sync with nothing new has none.

    At most IN_FLIGHT_BYTES of texts wait or run: when validating falls that far behind downloading, a
    submit waits for the oldest batch, so a first sync of a decade of claims does not hold them all in
    memory twice. The bound is high enough that a sync does not wait for workers that are still starting
    (importing fhir.resources and building its models), nor for ones that validate at a lower
    priority than the sync (validation_worker.py). `failure` says why validation stopped, if it did (a
    worker died or hung, the pool could not start); what it had not validated stays unvalidated for the next
    sync, and the sync goes on.
    """

    IN_FLIGHT_BYTES = 64 * 1024 * 1024
    STALL_SECONDS = 300.0  # the longest wait for the oldest batch: a worker hung on some record stops validation

    def __init__(self, workers: int | None = None):
        self._workers = workers or worker_count()
        self._pool: ProcessPoolExecutor | None = None
        self._running: list[_Task] = []
        self._finished: list[Findings] = []
        self.failure: str | None = None

    def start(self) -> None:
        """So that workers are ready by the time the first page arrives.

        Start the workers now, for a sync sure to bring content: they start up (imports, models) while
        it downloads, instead of after its first page."""
        try:
            pool = self._started()
            with _main_script_left_out():
                for _ in range(self._workers):
                    pool.submit(os.getpid)  # a pool starts a worker per task waiting, up to its size
        except (RuntimeError, OSError, ImportError) as error:
            self._fail(error)

    def submit(self, contents: Iterable[tuple[Content, str]]) -> None:
        """Validate each (content, JSON text) pair."""
        contents = list(contents)
        for start in range(0, len(contents), BATCH):
            while self.failure is None and sum(task.size for task in self._running) >= self.IN_FLIGHT_BYTES:
                self._take(self._running.pop(0))
            if self.failure is not None:
                return
            batch = contents[start:start + BATCH]
            try:
                with _main_script_left_out():
                    future = self._started().submit(validation_worker.findings, [text for _, text in batch])
            except (RuntimeError, OSError, ImportError) as error:  # a broken pool (BrokenProcessPool is a
                self._fail(error)                                   # RuntimeError), or one that cannot start
                return
            self._running.append(_Task([content for content, _ in batch], future, sum(len(text) for _, text in batch)))

    def submit_stored(self, stored: Iterable[StoredResource]) -> None:
        self.submit(((resource.resource_type, resource.id, resource.content_hash), resource.text)
                    for resource in stored)

    def ready(self) -> list[Findings]:
        """The findings of the tasks finished so far, without waiting for the others."""
        running, self._running = self._running, []
        for task in running:
            if task.future.done():
                self._take(task)
            else:
                self._running.append(task)
        return self._hand_over()

    def rest(self) -> list[Findings]:
        """The findings of every task still out, once they are all done."""
        while self._running:
            self._take(self._running.pop(0))
        return self._hand_over()

    def close(self) -> None:
        """Stop the workers; tasks not started yet are dropped (their content stays unvalidated)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._running = []

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=validation_worker.prepare)
        return self._pool

    def _take(self, task: _Task) -> None:
        """Wait for one batch and keep its findings; any failure stops validation but never the sync."""
        if self.failure is not None:
            return
        try:
            results = task.future.result(timeout=self.STALL_SECONDS)
        except TimeoutError:
            self._fail(TimeoutError(f"a batch of {len(task.contents)} records took over {self.STALL_SECONDS:g} s"))
            return
        except Exception as error:  # noqa: BLE001 - the worker's own failure, CancelledError and BrokenProcessPool too
            self._fail(error)
            return
        self._finished.extend((*content, findings) for content, findings in zip(task.contents, results, strict=True))

    def _hand_over(self) -> list[Findings]:
        found, self._finished = self._finished, []
        return found

    def _fail(self, error: BaseException) -> None:
        self.failure = f"R4 validation stopped ({type(error).__name__}: {error})"[:300]
        self.close()



class _Task(NamedTuple):
    contents: list[Content]
    future: Future
    size: int  # bytes of the texts it validates


@contextmanager
def _main_script_left_out() -> Iterator[None]:
    """So that spawned validation workers do not import all of mirror before they start.

    While workers are started: a spawned process runs its parent's main script first (without its
    `__main__` block), for functions defined there. Ours are in validation_worker, and the `mirror` command's
    script imports all of mirror (time on the core the worker should validate on), so the workers are
    shown an empty main module instead. Workers are started only in `start` and `submit`, in this thread.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
