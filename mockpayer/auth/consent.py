"""The member's choice on the consent page.

A box per kind of record the app asked for, ticked until the member unticks it, and the grant that follows from what
stayed ticked.

Only resource scopes get a box; the others (`openid`, `launch/patient`, `offline_access`, ...) are listed for
the member to read. A wildcard (`patient/*.read`, the seed's `user/*.read`) gets a box per type of record the
plan holds for this member, so that "all of your records" can still lose one kind. A box sends its scope as a
`share` field, as a browser sends a ticked checkbox, and the grant keeps exactly the offered scopes that came
back: a forged form cannot add one. A wildcard whose boxes all came back stays the wildcard as asked (it also
covers records the member gets later); one sent back itself, as a client that never reads the page does (the
README's curl), shares everything it covers. Unticking every box is a refusal (`access_denied`, RFC 6749
§4.1.2.1), not a token that reads nothing.

A `bluebutton` plan asks as Blue Button does: no box per kind of record, one choice whether to share the
beneficiary's personal information (`patient/Patient.*` and `profile`), which only a form saying "true" shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mirror.fhir.scopes import parse_resource_scope, split_scope
from mockpayer.auth.scope_words import describe_scope
from mockpayer.bluebutton.scopes import PERSONAL_INFO, without_personal_info
from mockpayer.context import payer
from mockpayer.plans import Member, Plan

SHARE_FIELD = "share"
DEMOGRAPHICS_FIELD = "share_demographic_scopes"  # Blue Button's own name for the choice


@dataclass(frozen=True)
class Choice:
    scope: str
    words: str


def record_types(plan: Plan, member: Member) -> list[str]:
    """The types of record the plan serves to this member (their own and those their records name), by name."""
    return sorted(payer().resources[plan.system_id].data.readable_by_type(member.patient_id))


def consent_choices(scope: str, types: Sequence[str]) -> tuple[list[Choice], list[Choice]]:
    """So that the consent page offers the scope as boxes a member can untick.

    (the kinds of record to share, each a box; the other scopes, listed) of the scope about to be granted,
    a wildcard spread over the member's record `types`."""
    records, others = {}, []
    for word in split_scope(scope):
        if not parse_resource_scope(word):
            others.append(Choice(word, describe_scope(word)))
        for box in _boxes(word, types):
            records.setdefault(box, Choice(box, describe_scope(box)))
    return list(records.values()), others


def listed_scopes(scope: str) -> list[Choice]:
    """Every scope word in plain words, to read rather than untick (Blue Button's page)."""
    return [Choice(word, describe_scope(word)) for word in split_scope(scope)]


def offers_demographics_choice(scope: str) -> bool:
    """Whether the scope about to be granted holds personal information the beneficiary may keep back."""
    return any(word in PERSONAL_INFO for word in split_scope(scope))


def chosen_scope(scope: str, ticked: list[str], types: Sequence[str]) -> str | None:
    """So that the grant is exactly what the member left ticked on the consent page.

    The grant as the member left it, in the order offered: every scope that is not a resource scope, the
    resource scopes still ticked, and of a wildcard, either itself (every box ticked) or its ticked types, in
    its context and permissions. None when records were offered and none stayed ticked."""
    sent = set(ticked)
    boxes = {word: _boxes(word, types) for word in split_scope(scope) if parse_resource_scope(word)}

    def kept(word: str) -> list[str]:
        if word not in boxes or word in sent or all(box in sent for box in boxes[word]):
            return [word]
        return [box for box in boxes[word] if box in sent]

    chosen = list(dict.fromkeys(granted for word in split_scope(scope) for granted in kept(word)))
    if boxes and not any(map(parse_resource_scope, chosen)):
        return None
    return " ".join(chosen)


def _boxes(word: str, types: Sequence[str]) -> list[str]:
    """So that each scope word becomes the boxes the consent page shows for it.

    The boxes of one scope word: none for a scope that is not a resource scope, a box per type for a
    wildcard (`patient/*.read` -> `patient/Coverage.read`, ...), else the word itself."""
    parsed = parse_resource_scope(word)
    if parsed is None:
        return []
    if parsed.resource_type != "*" or not types:
        return [word]
    return [word.replace("/*.", f"/{resource_type}.", 1) for resource_type in types]


def follow_choice(grant, ticked: list[str], types: Sequence[str]) -> bool:
    """Makes authlib's grant issue its code for the scope the member chose; False when they chose nothing."""
    return _grant_only(grant, chosen_scope(grant.request.scope, ticked, types))


def follow_demographics_choice(grant, share: bool) -> bool:
    """So that a Blue Button beneficiary can keep their personal information back.

    Blue Button's choice: the scope as asked, or without the personal information; False when that leaves
    nothing (an app that asked for the beneficiary's name alone)."""
    scope = grant.request.scope
    return _grant_only(grant, scope if share else without_personal_info(scope) or None)


def _grant_only(grant, chosen: str | None) -> bool:
    """Makes the grant's code carry `chosen` (None, nothing chosen: False).

    authlib settles a grant's scope again when it creates the code (`validate_authorization_request`), so the
    choice is applied by its hook on that step rather than set once beforehand.
    """
    if chosen is None:
        return False

    def narrow(grant, *_result):
        grant.request.scope = chosen

    grant.register_hook("after_validate_authorization_request_payload", narrow)
    return True
