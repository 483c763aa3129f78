"""The emails the mock "sends".

One-time sign-in codes for members who verify by email, kept per plan so that a test in any language reads them at
`GET /_admin/outbox` instead of a mailbox.

A code is six random digits, valid for CODE_LIFETIME seconds of the mock's clock. The message is only a record
here; the code a sign-in accepts lives in its transaction (transactions.py), so it finishes that sign-in only,
once, and a new code sent for it replaces the old. One object with a small interface over the mock's state
(mockpayer/state/), so every process of a mock on a shared state shows one outbox; holding at most MAX_MESSAGES
per plan, oldest dropped first.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from mockpayer.clock import Clock
from mockpayer.plans import Member, Plan
from mockpayer.state import State, open_state

CODE_LIFETIME = 10 * 60
MAX_MESSAGES = 100


@dataclass(frozen=True)
class EmailedCode:
    """The code a sign-in waits for, and until when it is good."""

    code: str
    expires_at: float

    def matches(self, typed: str) -> bool:
        return hmac.compare_digest(self.code.encode(), typed.encode())


@dataclass(frozen=True)
class Message:
    member: str  # the username it was sent for
    to: str
    subject: str
    body: str
    code: str
    sent_at: float

    def as_json(self) -> dict:
        sent_at = datetime.fromtimestamp(self.sent_at, timezone.utc).isoformat(timespec="seconds")
        return {"member": self.member, "to": self.to, "subject": self.subject, "body": self.body, "code": self.code,
                "sent_at": sent_at.replace("+00:00", "Z")}


class Outbox:
    def __init__(self, clock: Clock, state: State | None = None):
        self.clock = clock
        self.state = state or open_state()

    def send_code(self, plan: Plan, member: Member) -> EmailedCode:
        """Emails `member` a fresh code for signing in to `plan` and answers it."""
        now = self.clock.now()
        code = f"{secrets.randbelow(10 ** 6):06d}"
        body = (f"Your {plan.name} sign-in code is {code}. It expires in {CODE_LIFETIME // 60} minutes. "
                "If you did not try to sign in, ignore this email.")
        message = Message(member.username, member.email or "", f"Your {plan.name} sign-in code", body, code, now)
        self.state.append(f"outbox:{plan.system_id}", asdict(message), keep=MAX_MESSAGES)
        return EmailedCode(code, now + CODE_LIFETIME)

    def messages(self, system_id: str) -> list[dict]:
        """The plan's messages, oldest first."""
        return [Message(**message).as_json() for message in self.state.items(f"outbox:{system_id}")]

    def clear(self, system_ids: list[str]) -> None:
        """Forgets the messages of the plans named."""
        self.state.delete(*(f"outbox:{system_id}" for system_id in system_ids))
