"""Authorization requests in progress, held by the server and used once.

The member's browser holds only a random transaction id (in the signed session cookie); the steps passed
live here. Each step passed moves the transaction to a fresh id, so an id known before the member signed in
(a cookie planted in the member's browser: session fixation) no longer finds it. Consent, allow or deny,
completes a signed-in transaction by taking it out atomically, so a consent form posted again, or an old cookie
played back, finds nothing and gets no second code. One object with a small interface, in memory and behind a
lock (waitress serves from several threads), expiring in the mock's clock and never holding more than
MAX_OPEN transactions, so a flood of authorization requests cannot exhaust memory.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from mockpayer.auth.outbox import EmailedCode
from mockpayer.clock import Clock

LIFETIME = 15 * 60  # seconds a member has to get through the sign-in pages
MAX_OPEN = 5000  # beyond this many, the oldest transactions are dropped


@dataclass(frozen=True)
class Transaction:
    system_id: str
    request: str  # fingerprint of the authorization request's query string: a sign-in finishes only its own
    csrf: str
    expires_at: float
    member: str | None = None
    mfa_passed: bool = False  # the step after the password (an MFA or emailed code) passed, or there is none
    emailed: EmailedCode | None = None  # the code last emailed for this sign-in: the only one it accepts

    def advance(self, **changes) -> Transaction:
        return replace(self, **changes)

    @property
    def signed_in(self) -> bool:
        """Every sign-in step passed: what consent needs."""
        return self.member is not None and self.mfa_passed


class Transactions:
    def __init__(self, clock: Clock):
        self.clock = clock
        self._lock = threading.Lock()
        # oldest first (begun or moved to a fresh id): near enough the order they expire in to sweep from the front
        self._open: OrderedDict[str, Transaction] = OrderedDict()

    def begin(self, system_id: str, request: str) -> tuple[str, Transaction]:
        """A new transaction and its id (256 random bits)."""
        now = self.clock.now()
        transaction_id = secrets.token_urlsafe(32)
        transaction = Transaction(system_id, request, secrets.token_urlsafe(32), now + LIFETIME)
        with self._lock:
            while self._open and next(iter(self._open.values())).expires_at <= now:
                self._open.popitem(last=False)
            self._open[transaction_id] = transaction
            while len(self._open) > MAX_OPEN:
                self._open.popitem(last=False)
        return transaction_id, transaction

    def get(self, transaction_id: str | None) -> Transaction | None:
        with self._lock:
            transaction = self._open.get(transaction_id or "")
        return transaction if transaction and self.clock.now() < transaction.expires_at else None

    def save(self, transaction_id: str, transaction: Transaction) -> str | None:
        """So that each sign-in step gets a fresh transaction id and the old one stops working.

        Records a step passed under a fresh id, which it answers, forgetting the old one; None when the
        transaction has meanwhile been completed or discarded."""
        with self._lock:
            if self._open.pop(transaction_id, None) is None:
                return None
            fresh_id = secrets.token_urlsafe(32)
            self._open[fresh_id] = transaction
            return fresh_id

    def complete(self, transaction_id: str | None) -> Transaction | None:
        """Takes a signed-in transaction out, once: of two concurrent consents, one gets it and the other None.

        One not yet signed in stays, for its next step."""
        with self._lock:
            transaction = self._open.get(transaction_id or "")
            if transaction is None or not transaction.signed_in:
                return None
            del self._open[transaction_id]
        return transaction if self.clock.now() < transaction.expires_at else None
