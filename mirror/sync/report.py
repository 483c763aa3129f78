"""What a `mirror sync` did, per plan and per resource type.

The summary table, the `--json` document and the exit status (SY-6: no silent partial success).

A plan's sync is `complete` when every walk reached its last page and every reference was looked up;
`failed` when it stored nothing because it could not get going (plan unreachable, sign-in refused, every
walk failing at its first page); `partial` otherwise. The command's status is the worst of its plans':
exit 0 only when all are complete, 3 when any is partial (or some failed and others did not), 4 when all
failed. Reports carry URLs with secrets blanked and never a token.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

COMPLETE, PARTIAL, FAILED = "complete", "partial", "failed"  # a run (and the walks and types that complete)
RUNNING, INCOMPLETE, SKIPPED = "running", "incomplete", "skipped"  # a walk, a type, a checkpoint
LOOPING = "looping"  # a walk (and its checkpoint) whose paging loops: what it lists comes another way
RESUMABLE = (RUNNING, INCOMPLETE)  # checkpoints the next sync starts from
REFERENCES = "$references"  # checkpoint key: complete once every reference of the stored records was looked up
EXIT_CODES = {COMPLETE: 0, PARTIAL: 3, FAILED: 4}
COUNT_COLUMNS = ("new", "changed", "unchanged", "removed", "invalid")
MOST_NAMED = 20  # referenced records named in a report; the rest are counted


@dataclass
class TypeReport:
    """One resource type in one run: resources received, by what they did to the store, and how it ended.

    `status` is complete, incomplete (a page failed; the next sync resumes it) or skipped (`reason` says
    why: not in the granted scope, not supported by the plan).
    """

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    invalid: int = 0
    status: str = COMPLETE
    reason: str | None = None


@dataclass
class StreamReport:
    """One paged walk: how it started, how it ended, its pages, and how it was checked for removals.

    It started full, incremental or resumed; `pages` counts its pages (`slices` how many slices, when its paging
    looped); `removals` says how a plain sync checked it (`counted`, `listed`, `walked whole`; None: not checked).
    """

    mode: str
    status: str = RUNNING
    pages: int = 0
    error: str | None = None
    slices: int = 0
    removals: str | None = None


@dataclass
class PlanReport:
    plan: str
    run_id: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    status: str = FAILED
    seconds: float = 0.0
    requests: int = 0
    request_seconds: float = 0.0
    pages: int = 0
    streams: dict[str, StreamReport] = field(default_factory=dict)
    types: dict[str, TypeReport] = field(default_factory=dict)
    unresolved_references: int = 0
    unresolved: list[str] = field(default_factory=list)  # the first MOST_NAMED of them, as Type/id
    removals_reconciled: bool = False
    reconnect_needed: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def type(self, resource_type: str) -> TypeReport:
        return self.types.setdefault(resource_type, TypeReport())

    def to_dict(self) -> dict:
        document = asdict(self)
        document["types"] = {name: document["types"][name] for name in sorted(self.types)}
        return document


@dataclass
class SyncReport:
    plans: list[PlanReport] = field(default_factory=list)

    @property
    def status(self) -> str:
        outcomes = {plan.status for plan in self.plans}
        if outcomes <= {COMPLETE}:
            return COMPLETE
        if outcomes == {FAILED}:
            return FAILED
        return PARTIAL

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_dict(self) -> dict:
        return {"status": self.status, "exit_code": self.exit_code, "plans": [plan.to_dict() for plan in self.plans]}

    def table(self) -> str:
        return "\n\n".join(_plan_table(plan) for plan in self.plans) or "No plans to sync."


def named(references: list[str]) -> str:
    """Up to MOST_NAMED references, then how many more: a note stays one line however many are missing."""
    shown = ", ".join(references[:MOST_NAMED])
    more = len(references) - MOST_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _plan_table(plan: PlanReport) -> str:
    walks = "nothing fetched"
    if len(plan.streams) == 1:
        [(key, stream)] = plan.streams.items()
        walks = f"{key} {stream.mode}"
    elif plan.streams:
        modes = Counter(stream.mode for stream in plan.streams.values())
        walks = f"{len(plan.streams)} searches: " + ", ".join(f"{count} {mode}" for mode, count in sorted(modes.items()))
    lines = [f"{plan.plan}: {plan.status} in {plan.seconds:.1f} s ({walks}; {plan.pages} pages, "
             f"{plan.requests} requests taking {plan.request_seconds:.1f} s)"]
    if plan.types:
        width = max(len("type"), *(len(name) for name in plan.types))
        lines.append(f"  {'type':<{width}}  " + "  ".join(f"{column:>9}" for column in COUNT_COLUMNS) + "  status")
        for name in sorted(plan.types):
            row = plan.types[name]
            if row.status == SKIPPED:
                counts = "  ".join(f"{'-':>9}" for _ in COUNT_COLUMNS)
            else:
                counts = "  ".join(f"{getattr(row, column):>9}" for column in COUNT_COLUMNS)
            status = f"{row.status}: {row.reason}" if row.reason else row.status
            lines.append(f"  {name:<{width}}  {counts}  {status}")
    if plan.reconnect_needed:
        lines.append(f"  RE-CONNECT NEEDED: the plan refused the saved sign-in; run: mirror connect {plan.plan} ...")
    lines.extend(f"  error: {error}" for error in plan.errors)
    lines.extend(f"  note: {note}" for note in plan.notes)
    return "\n".join(lines)
