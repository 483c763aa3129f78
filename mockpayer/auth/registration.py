"""Clients registered and removed while the mock runs (`/_admin/clients`), as on a payer's developer portal.

Each works, or stops working, at once, with no restart.

A plan's `clients` dict is replaced, never changed in place, so a request reading it meanwhile sees the old set
or the new one whole.
"""

from __future__ import annotations

import threading

from mockpayer.auth.ledger import Ledger
from mockpayer.plans import Client, Plan

_lock = threading.Lock()


class ClientExists(ValueError):
    pass


def add_client(plan: Plan, client: Client) -> None:
    with _lock:
        if client.client_id in plan.clients:
            raise ClientExists(f"The plan {plan.system_id} already has a client {client.client_id!r}.")
        plan.clients = {**plan.clients, client.client_id: client}


def remove_client(plan: Plan, ledger: Ledger, client_id: str) -> bool:
    """So that tests can remove a client and revoke what it was issued.

    Removes the client (one from plan.json too, until the mock restarts) and revokes what it was issued;
    False when the plan has no such client."""
    with _lock:
        if client_id not in plan.clients:
            return False
        plan.clients = {key: client for key, client in plan.clients.items() if key != client_id}
    ledger.revoke_client(plan.system_id, client_id)
    return True


def described(plan: Plan, client: Client) -> dict:
    """A client as `/_admin/clients` shows it: never its secret, only whether it has one."""
    shown = {"system_id": plan.system_id, "client_id": client.client_id, "name": client.name,
             "redirect_uris": list(client.redirect_uris), "public": client.is_public}
    if client.scopes is not None:
        shown["scopes"] = list(client.scopes)
    return shown
