"""Everything the mock has issued: authorization codes and tokens, grouped into families, in the mock's state.

A family is every token descended from one authorization code. RFC 9700 asks that a replayed code
(TK-1) or a replayed, already rotated refresh token (RT-3) revoke the whole family, so the ledger
keeps that link rather than each grant keeping its own bookkeeping.

Records never change once written; what happens to them later is a mark of its own in the state (mockpayer/state/),
set atomically: a code's or a refresh token's use (set once, so of two processes redeeming it one wins), a
token's revocation, a family's revocation (read with every token of the family, so a token issued while the family
is being revoked is revoked too), and epochs that removing a client or revoking a plan's refresh tokens moves on,
voiding everything issued before without looking for it. So any process of a mock on a shared state redeems
a code or detects a replay as any other would.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields

from mockpayer.clock import Clock
from mockpayer.state import State, hashed, open_state

KEPT_AFTER_EXPIRY = 24 * 3600  # real seconds a spent record is kept past its expiry, to detect its replay
FAMILY_REVOCATION_KEPT = 400 * 24 * 3600  # longer than any family's tokens can live
RECORDS_REMEMBERED = 10_000  # code and token records kept per process, the most recently used


@dataclass
class CodeRecord:
    code_hash: str  # the code's SHA-256 (mockpayer.state.hashed): the code itself is never stored
    system_id: str
    client_id: str
    redirect_uri: str | None
    scope: str
    username: str
    issued_at: float
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    aud: str | None = None
    nonce: str | None = None  # OpenID Connect: echoed in the id_token
    family: str = field(default_factory=lambda: secrets.token_hex(16))
    client_epoch: int = 0  # the client's epoch when issued: removing the client voids the code


@dataclass
class TokenRecord:
    access_hash: str  # the SHA-256 of the access token (mockpayer.state.hashed): tokens are never stored
    system_id: str
    client_id: str
    username: str
    patient_id: str
    scope: str
    issued_at: float
    expires_in: int
    family: str
    refresh_hash: str | None = None  # the refresh token's, when one was issued
    refresh_expires_at: float | None = None
    aud: str | None = None
    epochs: tuple[int, int, int] = (0, 0, 0)  # the client's, the plan's refresh and the member's refresh epochs
    # read from the state with the record, never stored in it:
    access_revoked: bool = False
    refresh_revoked: bool = False
    refresh_used: bool = False  # rotated: presenting it again is a replay


MARKS = ("access_revoked", "refresh_revoked", "refresh_used")
STORED = tuple(f.name for f in fields(TokenRecord) if f.name not in MARKS)


class Ledger:
    """Safe for waitress's threads and for several processes on one shared state."""

    def __init__(self, clock: Clock, state: State | None = None):
        self.clock = clock
        self.state = state or open_state()
        self._records: OrderedDict[str, dict] = OrderedDict()  # state key -> code or token record, as stored
        self._records_lock = threading.Lock()

    def add_code(self, record: CodeRecord) -> None:
        record.client_epoch = self.state.get(_client_epoch(record.system_id, record.client_id)) or 0
        stored = asdict(record)
        self.state.put(f"code:{record.code_hash}", stored, self._kept_until(record.expires_at))
        self._remember(f"code:{record.code_hash}", stored)

    def claim_code(self, code: str, system_id: str) -> tuple[CodeRecord | None, bool]:
        """(the record, whether it had been claimed before); claiming is atomic, so a code races to one winner.

        A code shown to another plan's endpoint is neither found nor spent there; nor is a removed client's.
        """
        record = self._code(code)
        if record is None or record.system_id != system_id:
            return None, False
        first = self.state.put_new(f"code-used:{record.code_hash}", 1, self._kept_until(record.expires_at))
        return record, not first

    def add_token(self, record: TokenRecord) -> None:
        record.epochs = tuple(value or 0 for value in self.state.get_many(_epoch_keys(record)))
        stored = {name: getattr(record, name) for name in STORED}
        ttl = self._kept_until(_token_end(record))
        keys = [f"token:{record.access_hash}", *([f"refresh:{record.refresh_hash}"] if record.refresh_hash else [])]
        for key in keys:
            self.state.put(key, stored, ttl)
            self._remember(key, stored)

    def by_access_token(self, token: str) -> TokenRecord | None:
        return self._with_marks(self._stored_record(f"token:{hashed(token)}"))

    def by_refresh_token(self, token: str) -> TokenRecord | None:
        return self._with_marks(self._stored_record(f"refresh:{hashed(token)}"))

    def keys_to_check(self, token: str) -> list[str]:
        """The keys `by_access_token(token)` reads: its marks', when this process has seen the record, else the record's
        (for `State.hold`)."""
        key = f"token:{hashed(token)}"
        with self._records_lock:
            stored = self._records.get(key)
        return [key] if stored is None else _marked_keys(TokenRecord(**stored))

    def revoke_family(self, family: str) -> None:
        self.state.put(f"family-revoked:{family}", 1, FAMILY_REVOCATION_KEPT)

    def revoke_access(self, record: TokenRecord) -> None:
        self._mark(record, "access_revoked")

    def revoke_refresh(self, record: TokenRecord) -> None:
        self._mark(record, "refresh_revoked")

    def revoke_client(self, system_id: str, client_id: str) -> None:
        """So that a removed client's codes and tokens never come back to life.

        A client removed from the plan: its codes are void and its tokens revoked, so none comes back to life
        if a client of the same id is registered again."""
        self.state.increment(_client_epoch(system_id, client_id))

    def claim_refresh(self, token: str, system_id: str) -> tuple[TokenRecord | None, bool]:
        """So that two concurrent refreshes with one token cannot both fork the family (RT-3).

        (the record behind a refresh token, whether it had been used before), marking it used atomically so
        that two concurrent refreshes with one token cannot both fork the family (RT-3)."""
        record = self.by_refresh_token(token)
        if record is None or record.system_id != system_id:
            return None, False
        first = self.state.put_new(_mark_key(record, "refresh_used"), 1, self._kept_until(_token_end(record)))
        record.refresh_used = True
        return record, not first

    def release_refresh(self, record: TokenRecord) -> None:
        """A refresh that failed its later checks (a wider scope, say) gives its token back."""
        self.state.delete(_mark_key(record, "refresh_used"))
        record.refresh_used = False

    def revoke_refresh_tokens(self, system_id: str, username: str | None = None) -> None:
        """Revoke every live refresh token of a plan (or one member): a QA switch for 'the payer revoked it'."""
        self.state.increment(f"refresh-epoch:{system_id}" + (f":{username}" if username is not None else ""))

    def access_is_active(self, record: TokenRecord) -> bool:
        return not record.access_revoked and self.clock.now() < record.issued_at + record.expires_in

    def refresh_is_active(self, record: TokenRecord, *, claimed: bool = False) -> bool:
        """Unrevoked, unexpired and unused (or used only by the claim of the refresh now being made)."""
        return (
            record.refresh_hash is not None
            and not record.refresh_revoked
            and (claimed or not record.refresh_used)
            and (record.refresh_expires_at is None or self.clock.now() < record.refresh_expires_at)
        )

    def active_access_token(self, token: str) -> TokenRecord | None:
        """The record behind a bearer token the resource server was shown, if it may still be used."""
        record = self.by_access_token(token)
        if record is not None and self.access_is_active(record):
            return record
        return None

    def system_id_of(self, *, code: str | None = None, refresh_token: str | None = None,
                     token: str | None = None) -> str | None:
        """Which plan issued a code or token: lets `/oauth2/token` on a bare host find its plan."""
        if code and (stored := self._code(code)) is not None:
            return stored.system_id
        keys = [f"refresh:{hashed(refresh_token)}"] if refresh_token else []
        keys += [f"token:{hashed(token)}", f"refresh:{hashed(token)}"] if token else []
        found = next((stored for key in keys if (stored := self._stored_record(key)) is not None), None)
        return found["system_id"] if found else None

    def _code(self, code: str) -> CodeRecord | None:
        """The code's record, unless its client was removed since it was issued."""
        stored = self._stored_record(f"code:{hashed(code)}")
        if stored is None:
            return None
        record = CodeRecord(**stored)
        if (self.state.get(_client_epoch(record.system_id, record.client_id)) or 0) != record.client_epoch:
            return None
        return record

    def _stored_record(self, key: str) -> dict | None:
        """A code's or token's record as stored: records never change, so each process remembers those it has read
        lately."""
        with self._records_lock:
            stored = self._records.get(key)
            if stored is not None:
                self._records.move_to_end(key)
                return stored
        stored = self.state.get(key)
        if stored is not None:
            self._remember(key, stored)
        return stored

    def _remember(self, key: str, stored: dict) -> None:
        with self._records_lock:
            self._records[key] = stored
            if len(self._records) > RECORDS_REMEMBERED:
                self._records.popitem(last=False)

    def _with_marks(self, stored: dict | None) -> TokenRecord | None:
        """The record as stored, with what has happened to it since: its marks, its family's, its epochs'."""
        if stored is None:
            return None
        record = TokenRecord(**{**stored, "epochs": tuple(stored["epochs"])})
        values = self.state.get_many(_marked_keys(record))
        marks, family_revoked, epochs = values[:3], values[3], tuple(value or 0 for value in values[4:])
        access_revoked, refresh_revoked, refresh_used = (bool(mark) for mark in marks)
        client_removed = epochs[0] != record.epochs[0]
        record.access_revoked = access_revoked or bool(family_revoked) or client_removed
        record.refresh_revoked = (refresh_revoked or bool(family_revoked) or client_removed
                                  or epochs[1:] != record.epochs[1:])
        record.refresh_used = refresh_used
        return record

    def _mark(self, record: TokenRecord, mark: str) -> None:
        self.state.put(_mark_key(record, mark), 1, self._kept_until(_token_end(record)))
        setattr(record, mark, True)

    def _kept_until(self, expires_at: float) -> float:
        """A real-time TTL that outlives `expires_at` in the mock's clock, which runs at least as fast as the wall's."""
        return max(0.0, expires_at - self.clock.now()) + KEPT_AFTER_EXPIRY


def _token_end(record: TokenRecord) -> float:
    return max(record.issued_at + record.expires_in, record.refresh_expires_at or 0.0)


def _mark_key(record: TokenRecord, mark: str) -> str:
    return f"{mark.replace('_', '-')}:{record.access_hash}"


def _marked_keys(record: TokenRecord) -> list[str]:
    """Where what has happened to a token record since is kept: its marks, its family's revocation, its epochs."""
    return [*(_mark_key(record, mark) for mark in MARKS), f"family-revoked:{record.family}", *_epoch_keys(record)]


def _client_epoch(system_id: str, client_id: str) -> str:
    return f"client-epoch:{system_id}:{client_id}"


def _epoch_keys(record: TokenRecord) -> list[str]:
    return [_client_epoch(record.system_id, record.client_id), f"refresh-epoch:{record.system_id}",
            f"refresh-epoch:{record.system_id}:{record.username}"]
