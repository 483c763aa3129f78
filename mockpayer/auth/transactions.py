"""Authorization requests in progress, held by the server and used once.

The member's browser holds only a random transaction id (in the signed session cookie); the steps passed
live here. Consent, allow or deny, completes the transaction by taking it out atomically, so a consent form
posted again, or an old cookie played back, finds nothing and gets no second code. One object with a small
interface, in memory and behind a lock (waitress serves from several threads), expiring in the mock's clock.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from mockpayer.clock import Clock

LIFETIME = 15 * 60  # seconds a member has to get through the sign-in pages


@dataclass(frozen=True)
class Transaction:
    system_id: str
    request: str  # fingerprint of the authorization request's query string: a sign-in finishes only its own
    csrf: str
    expires_at: float
    member: str | None = None
    mfa_passed: bool = False

    def advance(self, **changes) -> Transaction:
        return replace(self, **changes)


class Transactions:
    def __init__(self, clock: Clock):
        self.clock = clock
        self._lock = threading.Lock()
        self._open: OrderedDict[str, Transaction] = OrderedDict()  # oldest first: they expire in that order

    def begin(self, system_id: str, request: str) -> tuple[str, Transaction]:
        """A new transaction and its id (256 random bits)."""
        now = self.clock.now()
        transaction_id = secrets.token_urlsafe(32)
        transaction = Transaction(system_id, request, secrets.token_urlsafe(32), now + LIFETIME)
        with self._lock:
            while self._open and next(iter(self._open.values())).expires_at <= now:
                self._open.popitem(last=False)
            self._open[transaction_id] = transaction
        return transaction_id, transaction

    def get(self, transaction_id: str | None) -> Transaction | None:
        with self._lock:
            transaction = self._open.get(transaction_id or "")
        return transaction if transaction and self.clock.now() < transaction.expires_at else None

    def save(self, transaction_id: str, transaction: Transaction) -> bool:
        """Records a step passed; False when the transaction has meanwhile been completed or discarded."""
        with self._lock:
            if transaction_id not in self._open:
                return False
            self._open[transaction_id] = transaction
            return True

    def complete(self, transaction_id: str | None) -> Transaction | None:
        """Takes the transaction out, once: of two concurrent consents, one gets it and the other None."""
        with self._lock:
            transaction = self._open.pop(transaction_id or "", None)
        return transaction if transaction and self.clock.now() < transaction.expires_at else None
