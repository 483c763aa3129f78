"""R4 validation of a plan's resources for `mockpayer check`, in worker processes when the plan is big.

fhir.resources takes milliseconds of CPU a claim (mirror/fhir/validation.py), so validating a big plan on one
core is most of what `mockpayer check` does (bench/README.md, mock.py). From POOLED_FROM_BYTES of files,
each file is validated in a worker process (spawned: its own interpreter, on another core), which reads it as
the loader does and answers the findings of each of its resources; the loader, reading the same files in order,
puts each resource's findings where validating it there would have, so the report reads the same. A smaller load
(a day's changes, a test's few files) validates in line: a worker first imports the models, which is slow.
A worker that fails leaves its files to be validated in line.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from mirror.fhir.validation import validation_findings

Findings = Callable[[str, dict], list[str]]  # (where the report names a resource, the resource) -> R4 findings

POOLED_FROM_BYTES = 8 * 1024 * 1024
MOST_WORKERS = 4


@contextmanager
def validation(files: list[tuple[Path, str]], validate: bool) -> Iterator[Callable[[str], Findings | None]]:
    """For each file (path, name in the report), how its resources are validated (None: not at all)."""
    if not validate:
        yield lambda name: None
        return
    workers = min(MOST_WORKERS, os.cpu_count() or 1)
    if workers < 2 or sum(_size(path) for path, _ in files) < POOLED_FROM_BYTES:
        yield lambda name: in_line
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        pending = {name: pool.submit(file_findings, str(path), name) for path, name in files}
        yield lambda name: _answered(pending[name])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def in_line(where: str, resource: dict) -> list[str]:
    return validation_findings(resource)


def file_findings(path: str, name: str) -> dict[str, list[str]]:
    """In a worker: the R4 findings of each resource of one file that has any, by where the report names it."""
    from mockpayer.resources import ResourceSet, load_file

    found: dict[str, list[str]] = {}

    def recorded(where: str, resource: dict) -> list[str]:
        found[where] = validation_findings(resource)
        return found[where]

    load_file(Path(path), name, ResourceSet(), recorded)
    return {where: findings for where, findings in found.items() if findings}


def _answered(pending: Future) -> Findings:
    try:
        found = pending.result()
    except Exception:  # noqa: BLE001 - a worker that died or could not start: this file is validated here
        return in_line
    return lambda where, resource: found.get(where, [])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
