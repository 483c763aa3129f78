"""Authorization requests in progress, held by the server and used once.

The member's browser holds only a random transaction id (in the signed session cookie); the steps passed
live here. Each step passed moves the transaction to a fresh id, so an id known before the member signed in
(a cookie planted in the member's browser: session fixation) no longer finds it. Consent, allow or deny,
completes a signed-in transaction by taking it out atomically, so a consent form posted again, or an old cookie
played back, finds nothing and gets no second code. One object with a small interface over the mock's state
(mockpayer/state/), so any process of a mock on a shared state continues a sign-in another began; expiring in the
mock's clock and never holding more than MAX_OPEN begun transactions (each new one takes the slot of the one
begun MAX_OPEN before it), so a flood of authorization requests cannot exhaust memory.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace

from mockpayer.auth.outbox import EmailedCode
from mockpayer.clock import Clock
from mockpayer.state import State, hashed, open_state

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
    slot: int = 0  # which of the MAX_OPEN slots holds it, so a step passed under a fresh id stays bounded

    def advance(self, **changes) -> Transaction:
        return replace(self, **changes)

    @property
    def signed_in(self) -> bool:
        """Every sign-in step passed: what consent needs."""
        return self.member is not None and self.mfa_passed


class Transactions:
    def __init__(self, clock: Clock, state: State | None = None):
        self.clock = clock
        self.state = state or open_state()

    def begin(self, system_id: str, request: str) -> tuple[str, Transaction]:
        """A new transaction and its id (256 random bits)."""
        now = self.clock.now()
        transaction_id = secrets.token_urlsafe(32)
        slot = self.state.increment("transactions-begun") % MAX_OPEN
        transaction = Transaction(system_id, request, secrets.token_urlsafe(32), now + LIFETIME, slot=slot)
        self._put(transaction_id, transaction)
        evicted, _ = self.state.update(f"transaction-slot:{slot}", lambda _: hashed(transaction_id), ttl=LIFETIME)
        if evicted:
            self.state.delete(f"transaction:{evicted}")  # the slot holds the id's hash, as the key does
        return transaction_id, transaction

    def get(self, transaction_id: str | None) -> Transaction | None:
        return self._live(self.state.get(_key(transaction_id)) if transaction_id else None)

    def save(self, transaction_id: str, transaction: Transaction) -> str | None:
        """So that each sign-in step gets a fresh transaction id and the old one stops working.

        Records a step passed under a fresh id, which it answers, forgetting the old one; None when the
        transaction has meanwhile been completed or discarded."""
        if self.state.take(_key(transaction_id)) is None:
            return None
        fresh_id = secrets.token_urlsafe(32)
        self._put(fresh_id, transaction)
        moved = hashed(transaction_id)
        self.state.update(f"transaction-slot:{transaction.slot}",
                          lambda held: hashed(fresh_id) if held == moved else held, ttl=LIFETIME)
        return fresh_id

    def complete(self, transaction_id: str | None) -> Transaction | None:
        """Takes a signed-in transaction out, once: of two concurrent consents, one gets it and the other None.

        One not yet signed in stays, for its next step."""
        if not transaction_id:
            return None
        old, new = self.state.update(_key(transaction_id),
                                     lambda stored: stored if stored is None or not _loaded(stored).signed_in else None)
        return self._live(old) if old is not None and new is None else None

    def _put(self, transaction_id: str, transaction: Transaction) -> None:
        ttl = max(0.0, transaction.expires_at - self.clock.now()) + 60
        self.state.put(_key(transaction_id), asdict(transaction), ttl)

    def _live(self, stored: dict | None) -> Transaction | None:
        transaction = _loaded(stored) if stored is not None else None
        return transaction if transaction and self.clock.now() < transaction.expires_at else None


def _key(transaction_id: str) -> str:
    return f"transaction:{hashed(transaction_id)}"


def _loaded(stored: dict) -> Transaction:
    emailed = stored.get("emailed")
    return Transaction(**{**stored, "emailed": EmailedCode(**emailed) if emailed else None})
