"""Everything the mock has issued: authorization codes and tokens, grouped into families, in memory.

A family is every token descended from one authorization code. RFC 9700 asks that a replayed code
(TK-1) or a replayed, already rotated refresh token (RT-3) revoke the whole family, so the ledger
keeps that link rather than each grant keeping its own bookkeeping.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from mockpayer.clock import Clock


@dataclass
class CodeRecord:
    code: str
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
    used: bool = False


@dataclass
class TokenRecord:
    access_token: str
    system_id: str
    client_id: str
    username: str
    patient_id: str
    scope: str
    issued_at: float
    expires_in: int
    family: str
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    aud: str | None = None
    access_revoked: bool = False
    refresh_revoked: bool = False
    refresh_used: bool = False  # rotated: presenting it again is a replay


class Ledger:
    """Thread-safe; waitress serves requests from several threads."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._lock = threading.RLock()
        self._codes: dict[str, CodeRecord] = {}
        self._by_access: dict[str, TokenRecord] = {}
        self._by_refresh: dict[str, TokenRecord] = {}
        self._families: dict[str, list[TokenRecord]] = {}

    def add_code(self, record: CodeRecord) -> None:
        with self._lock:
            self._codes[record.code] = record

    def claim_code(self, code: str, system_id: str) -> tuple[CodeRecord | None, bool]:
        """(the record, whether it had been claimed before); claiming is atomic, so a code races to one winner.

        A code shown to another plan's endpoint is neither found nor spent there.
        """
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.system_id != system_id:
                return None, False
            was_used, record.used = record.used, True
            return record, was_used

    def add_token(self, record: TokenRecord) -> None:
        with self._lock:
            self._by_access[record.access_token] = record
            if record.refresh_token:
                self._by_refresh[record.refresh_token] = record
            self._families.setdefault(record.family, []).append(record)

    def by_access_token(self, token: str) -> TokenRecord | None:
        with self._lock:
            return self._by_access.get(token)

    def by_refresh_token(self, token: str) -> TokenRecord | None:
        with self._lock:
            return self._by_refresh.get(token)

    def revoke_family(self, family: str) -> None:
        with self._lock:
            for record in self._families.get(family, []):
                record.access_revoked = True
                record.refresh_revoked = True

    def revoke_access(self, record: TokenRecord) -> None:
        with self._lock:
            record.access_revoked = True

    def revoke_refresh(self, record: TokenRecord) -> None:
        with self._lock:
            record.refresh_revoked = True

    def revoke_client(self, system_id: str, client_id: str) -> None:
        """So that a removed client's codes and tokens never come back to life.

        A client removed from the plan: its codes are void and its tokens revoked, so none comes back to life
        if a client of the same id is registered again."""
        with self._lock:
            for code, record in list(self._codes.items()):
                if (record.system_id, record.client_id) == (system_id, client_id):
                    del self._codes[code]
            for record in self._by_access.values():
                if (record.system_id, record.client_id) == (system_id, client_id):
                    record.access_revoked = record.refresh_revoked = True

    def claim_refresh(self, token: str, system_id: str) -> tuple[TokenRecord | None, bool]:
        """So that two concurrent refreshes with one token cannot both fork the family (RT-3).

        (the record behind a refresh token, whether it had been used before), marking it used atomically so
        that two concurrent refreshes with one token cannot both fork the family (RT-3)."""
        with self._lock:
            record = self._by_refresh.get(token)
            if record is None or record.system_id != system_id:
                return None, False
            was_used, record.refresh_used = record.refresh_used, True
            return record, was_used

    def release_refresh(self, record: TokenRecord) -> None:
        """A refresh that failed its later checks (a wider scope, say) gives its token back."""
        with self._lock:
            record.refresh_used = False

    def revoke_refresh_tokens(self, system_id: str, username: str | None = None) -> int:
        """Revoke every live refresh token of a plan (or one member): a QA switch for 'the payer revoked it'."""
        with self._lock:
            revoked = 0
            for record in self._by_refresh.values():
                if (record.system_id == system_id and (username is None or record.username == username)
                        and not record.refresh_revoked):
                    record.refresh_revoked = True
                    revoked += 1
            return revoked

    def access_is_active(self, record: TokenRecord) -> bool:
        return not record.access_revoked and self.clock.now() < record.issued_at + record.expires_in

    def refresh_is_active(self, record: TokenRecord, *, claimed: bool = False) -> bool:
        """Unrevoked, unexpired and unused (or used only by the claim of the refresh now being made)."""
        return (
            record.refresh_token is not None
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
        with self._lock:
            if code and code in self._codes:
                return self._codes[code].system_id
            if refresh_token and refresh_token in self._by_refresh:
                return self._by_refresh[refresh_token].system_id
            if token:
                record = self._by_access.get(token) or self._by_refresh.get(token)
                if record:
                    return record.system_id
        return None
