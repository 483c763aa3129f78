"""Scenarios over time: a plan's member records as a series of days, and the mock moving to the next one.

A plan folder may hold later days beside its day 1:

    data/                  day 1: every member record, as always
    days/2/data/           day 2: only what is new or changed since day 1 (any file shape data/ takes)
    days/2/removed.json    day 2: what is gone, a JSON array such as ["ExplanationOfBenefit/demoplan-m1-eob3"]
    days/3/...             and so on, numbered without gaps

Why deltas rather than whole copies: a QA engineer writes day 2 by dropping in the one claim that changes, and
`mockpayer generate --days D` writes a few kilobytes a day instead of the whole plan again.

The mock serves day 1 from start; `advance` (POST /_admin/advance, the pytest plugin's `advance_day()`) moves a
plan to its next day. A resource that is new or changed on that day is served with `meta.lastUpdated` set to
the mock's clock at that moment, as a real server stamps the moment it stores a version: the file's own date
is the fixture's idea of time, long past when the test runs, and a client asking for what changed `_since`
its last sync must find the change. Everything else is served as the files say. Tokens, codes and sessions
live in the ledger, not in the data, so they survive an advance.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from mirror.fhir.ids import is_resource_type_name, is_valid_id
from mockpayer.plans import Plan, PlanError
from mockpayer.resources import Key, PlanResources, ResourceSet, StoredResource, load_resources
from mockpayer.state import State, open_state

DAYS_FOLDER = "days"
REMOVED_FILE = "removed.json"
DAYS = "days"  # in the mock's state: {system id: [the moment each later day was reached]}


def day_count(plan_folder: Path) -> int:
    """How many days the plan folder holds: 1 plus its `days/<n>` folders, which must be numbered 2, 3, ..."""
    days = plan_folder / DAYS_FOLDER
    if not days.is_dir():
        return 1
    names = sorted(entry.name for entry in days.iterdir() if entry.is_dir())
    numbers = sorted(int(name) for name in names if name.isdigit() and not name.startswith("0"))
    if len(numbers) != len(names) or numbers != list(range(2, len(numbers) + 2)):
        raise PlanError(f"{days}: day folders must be named 2, 3, ... without gaps, not {', '.join(names)}")
    return len(numbers) + 1


@dataclass(frozen=True)
class DayChanges:
    """What one day changed in a plan's member records."""

    new: tuple[Key, ...]
    changed: tuple[Key, ...]
    removed: tuple[Key, ...]

    def to_dict(self) -> dict:
        return {kind: [f"{resource_type}/{resource_id}" for resource_type, resource_id in keys]
                for kind, keys in (("new", self.new), ("changed", self.changed), ("removed", self.removed))}


def next_day(data: ResourceSet, day_folder: Path, now: float, *, validate: float = 0,
             follow_symlinks: bool = False) -> tuple[ResourceSet, DayChanges]:
    """Day n's records from day n-1's and the folder `days/<n>`; new and changed resources stamped `now`.

    The day's load problems (and with `validate`, R4 findings) come with the records, as `load_resources` gives
    them; two copies of a type and id within the day are settled as plan.json's `duplicates` settled day 1's.
    It costs the day's changes, not the plan's size: the records and indexes the day leaves alone are shared
    with the day before (`ResourceSet.next_version`), which stays as it was for a rewind."""
    incoming = load_resources(day_folder / "data", validate=validate, report_root=day_folder.parent.parent,
                              duplicates=data.duplicates, follow_symlinks=follow_symlinks)
    removed = _removed(day_folder / REMOVED_FILE)
    missing = sorted(key for key in removed if key not in data.resources)
    if missing:
        raise PlanError(f"{day_folder / REMOVED_FILE}: removes {'/'.join(missing[0])}, which the day before does not hold")
    both = sorted(key for key in removed if key in incoming.resources)
    if both:
        raise PlanError(f"{day_folder}: {'/'.join(both[0])} is both removed and in data/")
    moment = fhir_instant(now)
    served = data.next_version(list(incoming.problems))
    served.validated = incoming.validated
    changed, new = [], []
    for key, update in incoming.resources.items():
        stored = data.resources.get(key)
        if stored is None:
            new.append(key)
        elif _same_content(update.resource, stored.resource):
            continue
        else:
            changed.append(key)
        served.put(_stamped(update, moment))
    for key in removed:
        served.remove(key)
    return served, DayChanges(tuple(new), tuple(changed), tuple(sorted(removed)))


def fhir_instant(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _removed(path: Path) -> set[Key]:
    if not path.is_file():
        return set()
    try:
        listed = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise PlanError(f"{path}: cannot read ({error})") from None
    if not isinstance(listed, list):
        raise PlanError(f'{path}: expected a JSON array of "Type/id" strings')
    removed = set()
    for reference in listed:
        resource_type, _, resource_id = reference.partition("/") if isinstance(reference, str) else ("", "", "")
        if not is_resource_type_name(resource_type) or not is_valid_id(resource_id):
            raise PlanError(f'{path}: {reference!r} is not a "Type/id" reference')
        removed.add((resource_type, resource_id))
    return removed


def _same_content(one: dict, other: dict) -> bool:
    """Equal but for `meta.lastUpdated`, which this module stamps itself."""
    return _without_last_updated(one) == _without_last_updated(other)


def _without_last_updated(resource: dict) -> dict:
    meta = {key: value for key, value in (resource.get("meta") or {}).items() if key != "lastUpdated"}
    return {**resource, "meta": meta}


def _stamped(stored: StoredResource, moment: str) -> StoredResource:
    resource = {**stored.resource, "meta": {**(stored.resource.get("meta") or {}), "lastUpdated": moment}}
    return StoredResource(orjson.dumps(resource).decode(), resource, stored.file)


class Scenarios:
    """So that a plan's records can move day by day and rewind to day 1 at once.

    Which day each plan is on lives in the mock's state (mockpayer/state/), as the moments each later day was
    reached: `advance` and `rewind` change it there, and every process brings its own records up to it before
    it answers (`sync`), stamping a day's changes with the moment recorded, so every process serves the same
    text. Locally, `advance` swaps a plan's member records for its next day's, and `rewind` puts day 1's back,
    under one lock. Day 1's records are kept while a plan is on a later day, so a rewind costs nothing however
    big the plan (the `mock_payer_session` fixture rewinds before each test)."""

    def __init__(self, plans: dict[str, Plan], state: State | None = None):
        self.folders = {system_id: plan.folder for system_id, plan in plans.items()}
        self.follow_symlinks = {system_id: plan.follow_symlinks for system_id, plan in plans.items()}
        self.last_day = {system_id: day_count(folder) for system_id, folder in self.folders.items()}
        self.current_day = dict.fromkeys(plans, 1)
        self.state = state or open_state()
        self._reached: dict[str, list[float]] = {system_id: [] for system_id in plans}  # served here: day n at [n-2]
        self._first_day: dict[str, ResourceSet] = {}  # day 1's member records of each plan on a later day
        self._lock = threading.Lock()

    def describe(self) -> dict:
        reached = self.state.get(DAYS) or {}
        return {system_id: {"day": 1 + len(reached.get(system_id, ())), "days": self.last_day[system_id]}
                for system_id in self.folders}

    def advance(self, resources: dict[str, PlanResources], system_ids: list[str], now: float) -> dict[str, dict]:
        """So that a plan's next day is taken by every named plan or none.

        Move each named plan that has a later day to it, and say what changed (`{"day", "days", "new",
        "changed", "removed"}` per plan); plans on their last day stay and are left out. All or none: a day
        that cannot be read (PlanError) moves no plan, and of two processes advancing at once, each moves the
        plans one day further than the other did."""
        with self._lock:
            while True:
                self._sync(resources, self.state.get(DAYS) or {})
                moving = {system_id: self.current_day[system_id] + 1 for system_id in system_ids
                          if self.current_day[system_id] < self.last_day[system_id]}
                now = max([now, *(moment for system_id in moving for moment in self._reached[system_id])])
                next_days = {system_id: self._next_day(resources, system_id, day, now)
                             for system_id, day in moving.items()}
                base = {system_id: list(self._reached[system_id]) for system_id in moving}
                try:
                    self.state.update(DAYS, lambda reached, base=base, now=now: _moved_on(reached or {}, base, now))
                except _MovedMeanwhile:
                    continue
                for system_id, (data, _) in next_days.items():
                    self._take(resources, system_id, data, now)
                break
        return {system_id: {"day": moving[system_id], "days": self.last_day[system_id], **changes.to_dict()}
                for system_id, (_, changes) in next_days.items()}

    def rewind(self, resources: dict[str, PlanResources], system_ids: list[str]) -> None:
        """Put each named plan back on day 1, with day 1's records as they were loaded."""
        with self._lock:
            self.state.update(DAYS, lambda reached: {**(reached or {}), **{system_id: [] for system_id in system_ids}})
            for system_id in system_ids:
                self._rewind(resources, system_id)

    def sync(self, resources: dict[str, PlanResources], reached: dict | None = None) -> None:
        """Brings this process's records to the days the state says each plan is on (`reached`, as the state holds
        it, when the caller has read it already)."""
        reached = (reached if reached is not None else self.state.get(DAYS)) or {}
        if all(reached.get(system_id, []) == here for system_id, here in self._reached.items()):
            return
        with self._lock:
            self._sync(resources, reached)

    def _sync(self, resources: dict[str, PlanResources], reached: dict[str, list[float]]) -> None:
        for system_id, here in self._reached.items():
            wanted = reached.get(system_id, [])
            if wanted == here:
                continue
            if wanted[:len(here)] != here:
                self._rewind(resources, system_id)
            for moment in wanted[len(self._reached[system_id]):]:
                data, _ = self._next_day(resources, system_id, self.current_day[system_id] + 1, moment)
                self._take(resources, system_id, data, moment)

    def _next_day(self, resources: dict[str, PlanResources], system_id: str, day: int,
                  now: float) -> tuple[ResourceSet, DayChanges]:
        return next_day(resources[system_id].data, self.folders[system_id] / DAYS_FOLDER / str(day), now,
                        follow_symlinks=self.follow_symlinks[system_id])

    def _take(self, resources: dict[str, PlanResources], system_id: str, data: ResourceSet, moment: float) -> None:
        self._first_day.setdefault(system_id, resources[system_id].data)
        resources[system_id] = PlanResources(data=data, directory=resources[system_id].directory)
        self.current_day[system_id] += 1
        self._reached[system_id] = [*self._reached[system_id], moment]

    def _rewind(self, resources: dict[str, PlanResources], system_id: str) -> None:
        first_day = self._first_day.pop(system_id, None)
        if first_day is not None:
            resources[system_id] = PlanResources(data=first_day, directory=resources[system_id].directory)
        self.current_day[system_id] = 1
        self._reached[system_id] = []


class _MovedMeanwhile(Exception):
    """Another process advanced a plan between reading the days and recording the next one."""


def _moved_on(reached: dict[str, list[float]], base: dict[str, list[float]], now: float) -> dict[str, list[float]]:
    if any(reached.get(system_id, []) != days for system_id, days in base.items()):
        raise _MovedMeanwhile
    return {**reached, **{system_id: [*days, now] for system_id, days in base.items()}}
