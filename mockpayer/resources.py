"""A plan's FHIR resources in memory, loaded from its `data/` (members' records) and `directory/` (public).

Files may hold single resources, NDJSON, or Bundles of any type (`collection`, `transaction` and `batch`
with `urn:uuid` references, `searchset`, and the `transaction-response` and `batch-response` a server
answers with, whose entries carry the resources as stored). Each resource is kept as the text it was written in, with only its
`urn:uuid` references rewritten, so the API can serve exactly what the fixture says, and parsed only as far
as the indexes need (mockpayer/indexed.py): each file is parsed once, as it is read, and the indexes are built
on the way. Loading never crashes on bad input: every problem becomes a line in the load report, and the rest
is served.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from mirror.fhir import everything
from mirror.fhir.compartment import ABOUT_ANOTHER_RECORD, is_about_any
from mirror.fhir.ids import is_resource_type_name, is_valid_id
from mirror.fhir.raw_json import (
    ParsedDocument,
    RawJsonError,
    entry_texts_by_line,
    parse_compact_entry_texts,
    references_in_text,
    resolve_urns,
)
from mirror.fhir.references import reference_target
from mockpayer.indexed import Key, StoredResource
from mockpayer.validation import Findings, Sample


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    severity: str = "error"  # "error": not served; "warning": served anyway; "note": not served, nothing wrong

    def __str__(self) -> str:
        return f"{self.severity}: {self.file}: {self.message}"


@dataclass
class ResourceSet:
    """Resources by (type, id), in load order, with the Patient compartment index members are served from."""

    resources: dict[Key, StoredResource] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    duplicates: str = "last"  # two different copies of a type and id: plans.DUPLICATES
    _by_type: dict[str, dict[str, StoredResource]] = field(default_factory=dict)
    _compartments: dict[str, set[Key]] = field(default_factory=dict)
    _profiles: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, profile): how many claim it
    # The inner dicts and sets this set may change: a next day's set shares the others with the day before
    # until it changes them (`next_version`), so that a day costs its changes, not the plan's size.
    _own: set[tuple[str, str]] = field(default_factory=set)
    # Worked out on first use and kept until the set changes, so that each page of a search or `$everything`
    # costs the page, not the whole record.
    _in_id_order: dict[str, tuple[StoredResource, ...]] = field(default_factory=dict)
    _reach: dict[str, frozenset[Key]] = field(default_factory=dict)
    _reach_by_type: dict[str, dict[str, tuple[StoredResource, ...]]] = field(default_factory=dict)
    validated: tuple[int, int] | None = None  # R4-validated at load: (how many, of how many); None: not validated

    def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        return self.resources.get((resource_type, resource_id))

    def of_type(self, resource_type: str) -> tuple[StoredResource, ...]:
        """The type's resources in id order, the order a search pages them in."""
        if resource_type not in self._in_id_order:
            found = self._by_type.get(resource_type, {})
            self._in_id_order[resource_type] = tuple(found[resource_id] for resource_id in sorted(found))
        return self._in_id_order[resource_type]

    def types(self) -> list[str]:
        return sorted(resource_type for resource_type, found in self._by_type.items() if found)

    def profiles_by_type(self) -> dict[str, list[str]]:
        """The profiles the resources claim (`meta.profile`, version suffix dropped), per type, for `metadata`."""
        found: dict[str, list[str]] = {}
        for resource_type, profile in sorted(self._profiles):
            found.setdefault(resource_type, []).append(profile)
        return found

    def readable_by(self, patient_id: str) -> frozenset[Key]:
        """So that a member's token reads their whole record, and the resources it names.

        A member's compartment, the records about its records (compartment.ABOUT_ANOTHER_RECORD), plus the
        resources outside any compartment that these reference (the Organizations, Practitioners, Locations...
        their claims name)."""
        if patient_id not in self._reach:
            own = set(self._compartments.get(patient_id, set()))
            own |= {stored.key for resource_type in ABOUT_ANOTHER_RECORD
                    for stored in self.of_type(resource_type) if is_about_any(stored.indexed, own)}
            reachable = set(own)
            for key in own:
                for target in _targets(self.resources[key].text):
                    stored = self.resources.get(target)
                    if stored is not None and not stored.patients:
                        reachable.add(target)
            self._reach[patient_id] = frozenset(reachable)
        return self._reach[patient_id]

    def readable_by_type(self, patient_id: str) -> dict[str, tuple[StoredResource, ...]]:
        """`readable_by`'s resources by type, each type's in id order (`everything.by_type`)."""
        if patient_id not in self._reach_by_type:
            readable = (self.resources[key] for key in self.readable_by(patient_id))
            self._reach_by_type[patient_id] = everything.by_type(readable)
        return self._reach_by_type[patient_id]

    def add(self, stored: StoredResource) -> None:
        """A resource as loaded: a second copy of a type and id is reported, and settled by `duplicates`."""
        previous = self.resources.get(stored.key)
        if previous is not None:
            problem = self._duplicate(previous, stored)
            self.problems.append(problem)
            if problem.severity == "note" or self.duplicates == "first":
                return
            self.remove(stored.key)
        self.put(stored)

    def put(self, stored: StoredResource) -> None:
        """Hold `stored`, in place of any copy of its type and id (keeping that one's place in load order)."""
        self._forget_worked_out()
        previous = self.resources.get(stored.key)
        if previous is not None:
            self._unindex(previous)
        self.resources[stored.key] = stored
        self._owned("type", stored.key[0], self._by_type, dict)[stored.key[1]] = stored
        for patient in stored.patients:
            self._owned("compartment", patient, self._compartments, set).add(stored.key)
        for profile in _profiles(stored):
            self._profiles[(stored.key[0], profile)] = self._profiles.get((stored.key[0], profile), 0) + 1

    def remove(self, key: Key) -> None:
        self._forget_worked_out()
        self._unindex(self.resources.pop(key))

    def next_version(self, problems: list[Problem]) -> ResourceSet:
        """A copy to change for a next day, sharing the records and the indexes it does not change.

        Both copy a shared index before changing it: this set stays as it was (a rewind puts day 1 back)."""
        self._own.clear()
        return ResourceSet(dict(self.resources), problems, self.duplicates, dict(self._by_type),
                           dict(self._compartments), dict(self._profiles))

    def _unindex(self, stored: StoredResource) -> None:
        del self._owned("type", stored.key[0], self._by_type, dict)[stored.key[1]]
        for patient in stored.patients:
            self._owned("compartment", patient, self._compartments, set).discard(stored.key)
        for profile in _profiles(stored):
            self._profiles[(stored.key[0], profile)] -= 1
            if not self._profiles[(stored.key[0], profile)]:
                del self._profiles[(stored.key[0], profile)]

    def _owned(self, index: str, name: str, held: dict, kind: type):
        """`held[name]`, copied first if the set it came from shares it (`next_version`)."""
        if (index, name) not in self._own:
            self._own.add((index, name))
            held[name] = kind(held.get(name, ()))
        return held[name]

    def _forget_worked_out(self) -> None:
        for derived in (self._in_id_order, self._reach, self._reach_by_type):
            derived.clear()

    def _duplicate(self, previous: StoredResource, stored: StoredResource) -> Problem:
        """So that a duplicated resource is reported, as a note, warning or error.

        The report line for a second copy of a type and id: a note when both say the same, else both files and
        the one served, as a warning or, with `duplicates` "error", an error."""
        what = f"{stored.key[0]}/{stored.key[1]}"
        if previous.resource == stored.resource:
            return Problem(stored.file, f"{what} also in {previous.file}, the same; served once", "note")
        winner = previous.file if self.duplicates == "first" else stored.file
        return Problem(stored.file, f"{what} differs from the copy in {previous.file}; {winner}'s copy is served "
                                    f"(duplicates: {self.duplicates})", "error" if self.duplicates == "error" else "warning")


def _profiles(stored: StoredResource) -> set[str]:
    """The profiles a resource claims (`meta.profile`), without their version suffix."""
    claimed = (stored.indexed.get("meta") or {}).get("profile")
    return {profile.split("|", 1)[0] for profile in claimed if isinstance(profile, str)} if isinstance(claimed, list) \
        else set()


def _targets(resource_text: str) -> set[Key]:
    """So that a resource's references are found without walking the parsed resource.

    What a resource refers to, read from its text: walking the parsed resource costs many times more, seconds for a
    member with thousands of claims on the first request after each start or new day."""
    return {target for target in map(reference_target, references_in_text(resource_text)) if target is not None}


def load_resources(folder: Path, *, validate: float = 0, report_root: Path | None = None,
                   duplicates: str = "last", follow_symlinks: bool = False) -> ResourceSet:
    """So that a plan folder's resources load in a stable order, reported by file name.

    Every resource under `folder` (recursively, `*.json` and `*.ndjson`, in name order); `report_root` is the
    plan folder, which file names are reported from and symlinks are judged by (`data_files`); `validate`, how many
    resources to validate against R4 (mockpayer/validation.py: 0 none, EVERY all, else a sample of about that many)."""
    loaded = ResourceSet(duplicates=duplicates)
    root = report_root or folder
    files = [(path, str(path.relative_to(root))) for path in data_files(folder, root, follow_symlinks, loaded.problems)]
    sample = Sample(validate, len(files)) if validate else None
    with _collector_paused():
        for path, name in files:
            load_file(path, name, loaded, sample.for_file() if sample else None)
    if sample:
        for where, resource, found in sample.rest():
            loaded.problems.extend(_r4_problems(where, resource, found))
        loaded.validated = (sample.validated, sample.seen)
    return loaded


@contextmanager
def _collector_paused() -> Iterator[None]:
    """So that loading a plan costs its parse, not the garbage collector's walks over what it already holds.

    Each parsed file is thousands of new objects, and the collector's full collections, triggered by so many,
    walk everything held so far again: most of the time of loading a big plan went to them. Loading makes no
    cycles to collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_file(path: Path, name: str, loaded: ResourceSet, findings: Findings | None) -> None:
    """One file's resources into `loaded`, each validated by `findings` (None: not validated)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        loaded.problems.append(Problem(name, f"cannot read: {error}"))
        return
    # NDJSON lines end at "\n" only: str.splitlines would also split at U+2028 and U+0085, which JSON
    # strings may hold unescaped.
    documents = text.split("\n") if path.suffix == ".ndjson" else [text]
    for line_number, document in enumerate(documents, start=1):
        if document.strip():
            where = f"{name}:{line_number}" if path.suffix == ".ndjson" else name
            _load_document(document, where, loaded, findings)


DATA_SUFFIXES = (".json", ".ndjson")


def data_files(folder: Path, plan_folder: Path, follow_symlinks: bool, problems: list[Problem]) -> list[Path]:
    """The `*.json` and `*.ndjson` files under `folder`, depth first in name order, as they are to be read.

    A symlink, to a file or a folder, is followed when its target lies inside the plan folder. One leading out
    of it is skipped as an error unless plan.json says `"follow_symlinks": true`: a plan folder is what gets
    copied, zipped or committed, and a link out would serve whatever it points at on this machine today. A
    broken link is an error too; a link back to a folder it sits in is a note (its files are read once, where
    they are)."""
    inside = plan_folder.resolve()
    files: list[Path] = []

    def walk(entry: Path, walking: frozenset[Path]) -> None:
        name = str(entry.relative_to(plan_folder))
        read = not walking or entry.is_dir() or entry.suffix in DATA_SUFFIXES  # the folder itself, a folder, data
        if entry.is_symlink() and read:
            target, resolved = os.readlink(entry), entry.resolve()
            if not resolved.exists():
                problems.append(Problem(name, f"skipped: a symlink to {target}, which does not exist"))
                return
            if not follow_symlinks and not resolved.is_relative_to(inside):
                problems.append(Problem(name, f"skipped: a symlink to {target}, outside the plan folder (plan.json "
                                              '"follow_symlinks": true serves it)'))
                return
            if resolved in walking:
                problems.append(Problem(name, f"skipped: a symlink to {target}, a folder it is in", "note"))
                return
        if entry.is_dir():
            try:
                children = sorted(entry.iterdir())
            except OSError as error:
                problems.append(Problem(name, f"cannot read: {error}"))
                return
            for child in children:
                walk(child, walking | {entry.resolve()})
        elif entry.suffix in DATA_SUFFIXES and entry.is_file():
            files.append(entry)

    if folder.is_dir() or folder.is_symlink():
        walk(folder, frozenset())
    return files


def dangling_references(*sets: ResourceSet) -> list[Problem]:
    """References to `Type/id` that no loaded resource answers (absolute URLs to other servers are not checked)."""
    known = {key for resource_set in sets for key in resource_set.resources}
    problems = []
    for resource_set in sets:
        for stored in resource_set.resources.values():
            for reference in references_in_text(stored.text):
                target = reference_target(reference)
                if target is not None and target not in known and not reference.startswith(("http://", "https://")):
                    problems.append(Problem(stored.file, f"{stored.key[0]}/{stored.key[1]} refers to missing "
                                                         f"{target[0]}/{target[1]}", "warning"))
    return problems


def _load_document(text: str, where: str, loaded: ResourceSet, findings: Findings | None) -> None:
    if _loaded_by_line(text, where, loaded, findings):
        return
    try:
        parsed = parse_compact_entry_texts(text)
    except RawJsonError as error:
        loaded.problems.append(Problem(where, f"not a JSON object ({error})"))
        return
    document = parsed.document
    if not is_resource_type_name(document.get("resourceType")):
        loaded.problems.append(Problem(where, "not a FHIR resource (no resourceType)"))
        return
    if document["resourceType"] == "Bundle" and document.get("type") in BUNDLES_TO_UNPACK:
        _load_bundle(parsed, where, loaded, findings)
    else:
        _keep(text.strip(), document, where, loaded, findings)


BUNDLES_TO_UNPACK = ("collection", "transaction", "transaction-response", "batch", "batch-response", "searchset",
                     "document", "message")


def _loaded_by_line(text: str, where: str, loaded: ResourceSet, findings: Findings | None) -> bool:
    """So that a generated member's Bundle is read a resource at a time, holding one resource's objects at once.

    Whether `text` was a Bundle to unpack written one entry per line (`entry_texts_by_line`), now loaded; False,
    with nothing loaded, for any other document, and for one with `urn:uuid` references to resolve."""
    found = entry_texts_by_line(text)
    if found is None:
        return False
    envelope, texts = found
    if envelope.get("resourceType") != "Bundle" or envelope.get("type") not in BUNDLES_TO_UNPACK or any(
            isinstance(entry, dict) and str(entry.get("fullUrl")).startswith("urn:uuid:") for entry in envelope["entry"]):
        return False
    checked = []
    for index, resource_text in texts:
        try:
            resource = orjson.loads(resource_text)
        except orjson.JSONDecodeError:  # not the resource's own text: the layout is another
            return False
        checked.append(_checked(resource_text, resource, f"{where} entry {index}", findings))
    for problems, stored in checked:
        loaded.problems.extend(problems)
        if stored is not None:
            loaded.add(stored)
    return True


def _load_bundle(parsed: ParsedDocument, where: str, loaded: ResourceSet, findings: Findings | None) -> None:
    entries = parsed.document.get("entry") or []
    urns: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        full_url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
            resource_id = resource.get("id") or full_url[len("urn:uuid:"):]
            urns[full_url] = f"{resource.get('resourceType')}/{resource_id}"
    for index, (entry, resource_text) in enumerate(zip(entries, parsed.entry_texts, strict=False)):
        if resource_text is None:
            continue
        resource = entry["resource"]
        entry_where = f"{where} entry {index}"
        if "id" not in resource and entry.get("fullUrl") in urns:
            resource_id = urns[entry["fullUrl"]].split("/", 1)[1]
            resource = {**resource, "id": resource_id}
            resource_text = '{"id":' + orjson.dumps(resource_id).decode() + "," + resource_text.lstrip()[1:]
        rewritten = resolve_urns(resource_text, urns)
        if rewritten is not resource_text:
            resource = json.loads(rewritten)
        _keep(rewritten, resource, entry_where, loaded, findings)


# What a server writes about itself or an exchange, found beside exported data; without an id there is
# nothing to serve it as, and nothing is wrong with the plan.
NOT_PATIENT_DATA = ("CapabilityStatement", "OperationOutcome", "TerminologyCapabilities")


def _keep(text: str, resource: dict, where: str, loaded: ResourceSet, findings: Findings | None) -> None:
    problems, stored = _checked(text, resource, where, findings)
    loaded.problems.extend(problems)
    if stored is not None:
        loaded.add(stored)


def _checked(text: str, resource: dict, where: str, findings: Findings | None) -> tuple[list[Problem], StoredResource | None]:
    """A resource's report lines, and what is served of it (None: nothing)."""
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not is_resource_type_name(resource_type):
        return [Problem(where, "entry resource has no resourceType")], None
    if resource_type in NOT_PATIENT_DATA and resource_id is None:
        return [Problem(where, f"skipped: a {resource_type} without an id holds no records to serve", "note")], None
    if not is_valid_id(resource_id):
        return [Problem(where, f"{resource_type} id {resource_id!r} is not a valid FHIR id")], None
    found = findings(where, resource) if findings is not None else []
    return _r4_problems(where, resource, found), StoredResource(text, resource, where)


def _r4_problems(where: str, resource: dict, findings: list[str]) -> list[Problem]:
    """A resource's first three R4 findings as report lines: warnings, as it is served anyway."""
    return [Problem(where, f"{resource['resourceType']}/{resource['id']} fails R4 validation: {finding}", "warning")
            for finding in findings[:3]]


@dataclass
class PlanResources:
    """A plan's member records (`data/`) and its public directory and formulary (`directory/`)."""

    data: ResourceSet
    directory: ResourceSet

    @property
    def problems(self) -> list[Problem]:
        return self.data.problems + self.directory.problems + dangling_references(self.data, self.directory)


def load_plan_resources(folder: Path, *, validate: float = 0, duplicates: str = "last",
                        follow_symlinks: bool = False) -> PlanResources:
    rules = {"validate": validate, "report_root": folder, "duplicates": duplicates, "follow_symlinks": follow_symlinks}
    return PlanResources(data=load_resources(folder / "data", **rules),
                         directory=load_resources(folder / "directory", **rules))
