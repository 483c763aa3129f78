"""`/v2/connect/userinfo` (with or without a trailing slash, as Blue Button answers it).

Who the beneficiary behind a token is, as Blue Button tells it, for a token with the `profile` scope (withheld with
the personal information at consent: 403 then, as Blue Button answers).

Blue Button answers `sub` and `patient` (both the beneficiary's Patient id), `name`, `given_name`,
`family_name`, `email` and `iat` (when the account was made). The mock reads the names from the beneficiary's
Patient (else the member's name in plan.json); it keeps no e-mail address or account date, so `email` is empty,
as it is for Blue Button's synthetic beneficiaries, and `iat` is when the token was issued.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify

from mockpayer.bluebutton.access import bearer_token, require_profile_scope
from mockpayer.bluebutton.errors import BlueButtonError, error_response
from mockpayer.bluebutton.urls import route
from mockpayer.context import payer, plan_for

blueprint = Blueprint("bluebutton_userinfo", __name__)
blueprint.register_error_handler(BlueButtonError, error_response)


@route(blueprint, "/v2/connect/userinfo")
def userinfo(system_id: str | None = None):
    plan = plan_for(system_id, bluebutton=True)
    token = bearer_token(plan)
    require_profile_scope(token)
    stored = payer().resources[plan.system_id].data.get("Patient", token.patient_id)
    given, family = _names(stored.resource if stored else {}, plan.members[token.username].name)
    return jsonify({
        "sub": token.patient_id,
        "name": f"{given} {family}".strip(),
        "given_name": given,
        "family_name": family,
        "email": "",
        "iat": datetime.fromtimestamp(token.issued_at, timezone.utc).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "patient": token.patient_id,
    })


def _names(patient: dict, member_name: str) -> tuple[str, str]:
    """(given names, family name) of the Patient's first name, else of the member's name as plan.json writes it."""
    for name in patient.get("name") or ():
        if isinstance(name, dict) and (name.get("given") or name.get("family")):
            given = " ".join(part for part in name.get("given") or () if isinstance(part, str))
            return given, name.get("family") if isinstance(name.get("family"), str) else ""
    given, _, family = member_name.rpartition(" ")
    return (given, family) if given else (family, "")
