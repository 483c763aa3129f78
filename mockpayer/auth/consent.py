"""The member's choice on the consent page: a box per kind of record the app asked for, ticked until the member
unticks it, and the grant that follows from what stayed ticked.

Only resource scopes get a box; the others (`openid`, `launch/patient`, `offline_access`, ...) are listed for
the member to read. A box sends its scope as a `share` field, as a browser sends a ticked checkbox, and the
grant keeps exactly the offered scopes that came back: a forged form cannot add one. Unticking every box is a
refusal (`access_denied`, RFC 6749 §4.1.2.1), not a token that reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirror.fhir.scopes import parse_resource_scope, split_scope
from mockpayer.auth.scope_words import describe_scope

SHARE_FIELD = "share"


@dataclass(frozen=True)
class Choice:
    scope: str
    words: str


def consent_choices(scope: str) -> tuple[list[Choice], list[Choice]]:
    """(the kinds of record to share, each a box; the other scopes, listed) of the scope about to be granted."""
    records, others = [], []
    for word in split_scope(scope):
        (records if parse_resource_scope(word) else others).append(Choice(word, describe_scope(word)))
    return records, others


def chosen_scope(scope: str, ticked: list[str]) -> str | None:
    """The grant as the member left it: the offered resource scopes still ticked and every other scope, in the
    order offered; None when records were offered and none stayed ticked."""
    words = split_scope(scope)
    offered = {word for word in words if parse_resource_scope(word)}
    if offered and not offered & set(ticked):
        return None
    return " ".join(word for word in words if word not in offered or word in ticked)


def follow_choice(grant, ticked: list[str]) -> bool:
    """Makes authlib's grant issue its code for the scope the member chose; False when they chose nothing.

    authlib settles a grant's scope again when it creates the code (`validate_authorization_request`), so the
    choice is applied by its hook on that step rather than set once beforehand.
    """
    chosen = chosen_scope(grant.request.scope, ticked)
    if chosen is None:
        return False

    def narrow(grant, *_result):
        grant.request.scope = chosen

    grant.register_hook("after_validate_authorization_request_payload", narrow)
    return True
