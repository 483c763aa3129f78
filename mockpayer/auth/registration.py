"""Clients registered and removed while the mock runs (`/_admin/clients`), as on a payer's developer portal.

Each works, or stops working, at once, with no restart, in every process of a mock on a shared state: what was
registered and removed lives in the mock's state (mockpayer/state/), and each request first brings the plans'
clients up to date with it (`Registry.refresh`).

A plan's `clients` dict is replaced, never changed in place, so a request reading it meanwhile sees the old set
or the new one whole.
"""

from __future__ import annotations

from dataclasses import asdict

from mockpayer.auth.ledger import Ledger
from mockpayer.plans import Client, Plan
from mockpayer.state import State

CHANGES = "clients"  # {system id: {"added": {client id: client}, "removed": [client ids of plan.json]}}


class ClientExists(ValueError):
    pass


class Registry:
    """The clients registered and removed per plan, over the clients plan.json gave each."""

    def __init__(self, plans: dict[str, Plan], state: State):
        self.plans = plans
        self.state = state
        self.own = {system_id: dict(plan.clients) for system_id, plan in plans.items()}
        self._applied: dict | None = None

    def refresh(self, changes: dict | None = None) -> None:
        """Brings every plan's `clients` up to date with what any process registered or removed (`changes`, as the
        state holds them, when the caller has read them already)."""
        changes = (changes if changes is not None else self.state.get(CHANGES)) or {}
        if changes == self._applied:
            return
        for system_id, plan in self.plans.items():
            change = changes.get(system_id, {})
            own = {client_id: client for client_id, client in self.own[system_id].items()
                   if client_id not in change.get("removed", ())}
            added = {client_id: _client(entry) for client_id, entry in change.get("added", {}).items()}
            plan.clients = {**own, **added}
        self._applied = changes

    def add(self, plan: Plan, client: Client) -> None:
        def added(changes):
            changes = changes or {}
            change = changes.setdefault(plan.system_id, {"added": {}, "removed": []})
            if client.client_id in self._effective(plan.system_id, change):
                raise ClientExists(f"The plan {plan.system_id} already has a client {client.client_id!r}.")
            change["added"][client.client_id] = asdict(client)
            return changes

        self.state.update(CHANGES, added)
        self.refresh()

    def remove(self, plan: Plan, ledger: Ledger, client_id: str) -> bool:
        """So that tests can remove a client and revoke what it was issued.

        Removes the client (one from plan.json too, until the mock restarts) and revokes what it was issued;
        False when the plan has no such client."""
        found = []

        def removed(changes):
            changes = changes or {}
            change = changes.setdefault(plan.system_id, {"added": {}, "removed": []})
            found[:] = [client_id in self._effective(plan.system_id, change)]
            change["added"].pop(client_id, None)
            if client_id in self.own[plan.system_id] and client_id not in change["removed"]:
                change["removed"].append(client_id)
            return changes

        self.state.update(CHANGES, removed)
        self.refresh()
        if not found[0]:
            return False
        ledger.revoke_client(plan.system_id, client_id)
        return True

    def _effective(self, system_id: str, change: dict) -> set[str]:
        return {client_id for client_id in self.own[system_id] if client_id not in change["removed"]} | set(
            change["added"])


def _client(entry: dict) -> Client:
    scopes = entry.get("scopes")
    return Client(entry["client_id"], entry["client_secret"], tuple(entry["redirect_uris"]), entry.get("name", ""),
                  tuple(scopes) if scopes is not None else None)


def described(plan: Plan, client: Client) -> dict:
    """A client as `/_admin/clients` shows it: never its secret, only whether it has one."""
    shown = {"system_id": plan.system_id, "client_id": client.client_id, "name": client.name,
             "redirect_uris": list(client.redirect_uris), "public": client.is_public}
    if client.scopes is not None:
        shown["scopes"] = list(client.scopes)
    return shown
