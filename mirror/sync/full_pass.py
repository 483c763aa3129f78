"""A full sync (`--full`) that a later run can finish when this one is cut short.

A full sync re-reads everything so that it can tombstone what the plan no longer has: whatever is stored but
was not received. That comparison needs every id received since the full sync began, and a run that is
killed loses what it held in memory. So each walk's checkpoint (and the references step's) carries the ids
it has received in the full sync so far, committed with the page that brought them (SY-7), and names the run
that began the full sync. The next plain `mirror sync` finds those checkpoints and continues that full sync:
walks it broke off resume from their page, walks it finished ask only for what changed since (or, on a plan
that cannot say, are not walked again), what it read by reference is not read again, and the removals are
reconciled once everything is complete. Then the checkpoints drop the ids, and the full sync is over.
`--full` always starts a new one.
"""

from __future__ import annotations

from collections.abc import Iterable

from mirror.store import SyncState


class FullPass:
    """The ids each walk of one full sync has received, by walk key and resource type, in arrival order."""

    def __init__(self, pass_id: str, seen: dict[str, dict[str, dict[str, None]]] | None = None):
        self.pass_id = pass_id
        self._seen = seen or {}

    @classmethod
    def unfinished(cls, states: Iterable[SyncState]) -> FullPass | None:
        """So that a full sync that did not end is resumed, not mistaken for one that did.

        The full sync that has not ended which a plan's checkpoints were last written for, if any (a --full
        run that replaced another may have left a walk it did not reach marked with the other)."""
        marked = [state for state in states if state.full_pass]
        if not marked:
            return None
        pass_id = max(marked, key=lambda state: state.updated_at or "").full_pass
        seen = {state.resource_type: {resource_type: dict.fromkeys(ids) for resource_type, ids in (state.seen or {}).items()}
                for state in marked if state.full_pass == pass_id}
        return cls(pass_id, seen)

    def owns(self, state: SyncState | None) -> bool:
        """Whether `state` is a checkpoint of this full sync."""
        return state is not None and state.full_pass == self.pass_id

    def saw(self, walk_key: str, resources: Iterable[tuple[str, str]]) -> None:
        """Note (type, id) pairs a walk received."""
        walk = self._seen.setdefault(walk_key, {})
        for resource_type, resource_id in resources:
            walk.setdefault(resource_type, {})[resource_id] = None

    def seen_by(self, walk_key: str, adding: Iterable[tuple[str, str]] = ()) -> dict[str, list[str]]:
        """So that a walk's checkpoint counts a page only once it is stored.

        What a walk's next checkpoint records, with the (type, id) pairs of the page it commits: a copy, since
        the checkpoint is staged until written, and the page counts only once it is stored."""
        seen = {resource_type: list(ids) for resource_type, ids in self._seen.get(walk_key, {}).items()}
        for resource_type, resource_id in adding:
            if resource_id not in self._seen.get(walk_key, {}).get(resource_type, ()):
                seen.setdefault(resource_type, []).append(resource_id)
        return seen

    def has_seen(self, resource_type: str, resource_id: str) -> bool:
        return any(resource_id in walk.get(resource_type, ()) for walk in self._seen.values())

    def seen_ids(self, resource_type: str) -> set[str]:
        """Every id of `resource_type` any walk has received in this full sync."""
        return {resource_id for walk in self._seen.values() for resource_id in walk.get(resource_type, ())}
