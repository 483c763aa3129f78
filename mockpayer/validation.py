"""Which resources of a plan `mockpayer check` validates against R4: every one of a small load, a sample of a big one.

fhir.resources costs milliseconds of CPU a resource (its validators, element by element), so validating every
resource of a big plan takes many times as long as loading it (bench/README.md, mock.py). A load (a plan's day 1,
or a later day) of at most VALIDATED_BY_DEFAULT resources is validated whole; a bigger one in a sample of about
that many, chosen as the files are read, without a second pass: the first resource of each (type, profile), then
each file's first share of the budget, so every kind and every file is represented. The same files give the same
sample. `mockpayer check --validate all` validates every resource.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from mirror.fhir.validation import validation_findings

Findings = Callable[[str, dict], list[str]]  # (where the report names a resource, the resource) -> R4 findings

VALIDATED_BY_DEFAULT = 500
EVERY = math.inf  # a budget: validate every resource


class Sample:
    """R4 validation of one load's resources, within `budget` beyond the first resource of each kind."""

    def __init__(self, budget: float, files: int):
        self.budget = budget
        self.per_file = budget if budget == EVERY else math.ceil(budget / max(files, 1))
        self.kinds: set[tuple[str, str | None]] = set()
        self.seen = self.validated = self._in_file = 0
        # Skipped while the load may yet turn out to be within budget, when they are validated after all (`rest`).
        self._skipped: list[tuple[str, dict]] = []

    def for_file(self) -> Findings:
        """The findings of the next file's resources, given in the order they are read."""
        self._in_file = 0
        return self._findings

    def rest(self) -> Iterator[tuple[str, dict, list[str]]]:
        """Once every file is read: the resources skipped of a load that holds no more than the budget, validated."""
        skipped, self._skipped = self._skipped if self.seen <= self.budget else [], []
        for where, resource in skipped:
            yield where, resource, self._validated(resource)

    def _findings(self, where: str, resource: dict) -> list[str]:
        self.seen += 1
        kinds = _kinds(resource)
        if not kinds <= self.kinds or self._in_file < self.per_file:
            self.kinds |= kinds
            self._in_file += 1
            return self._validated(resource)
        if self.seen <= self.budget:
            self._skipped.append((where, resource))
        else:
            self._skipped.clear()
        return []

    def _validated(self, resource: dict) -> list[str]:
        self.validated += 1
        return validation_findings(resource)


def _kinds(resource: dict) -> set[tuple[str, str | None]]:
    """The (type, profile) pairs a resource is an example of; (type, None) when it claims no profile."""
    meta = resource.get("meta")
    claimed = meta.get("profile") if isinstance(meta, dict) else None
    profiles = {profile.split("|", 1)[0] for profile in claimed if isinstance(profile, str)} \
        if isinstance(claimed, list) else set()
    return {(resource["resourceType"], profile) for profile in profiles or {None}}
