"""The member's side of `/oauth2/authorize/{system-id}`: login, then MFA when the member has it, then consent.

Each page posts back to the very URL it was shown at, query string included, and carries only its own
fields: repeating the OAuth parameters as hidden inputs makes authlib see them twice and refuse the
request. The steps a member has passed live in the signed session cookie, bound to a fingerprint of that
query string, so a login for one authorization request cannot finish another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import Blueprint, render_template, request, session

from mockpayer.auth import consent
from mockpayer.context import accepted_audiences, payer, plan_for
from mockpayer.plans import Member, Plan

blueprint = Blueprint("authorize", __name__)
TRANSACTION = "authorization"


@blueprint.route("/oauth2/authorize/<system_id>", methods=["GET", "POST"])
@blueprint.route("/<system_id>/oauth2/authorize", methods=["GET", "POST"])
def authorize(system_id: str):
    plan = plan_for(system_id)
    server = payer().auth_servers[plan.system_id]
    try:
        grant = server.get_consent_grant(end_user=None)
        _check_audience(plan, grant)
    except OAuth2Error as error:
        return _refuse(plan, server, error)
    page = _Page(plan, grant)
    if request.method == "GET":
        return page.login(start=True)
    transaction = session.get(TRANSACTION)
    if not transaction or transaction.get("request") != _fingerprint():
        return page.error("This sign-in page has expired", "Start signing in again from the app.", 400)
    if not hmac.compare_digest(str(transaction.get("csrf")), request.form.get("csrf_token", "")):
        return page.error("This form was not accepted", "The form's security token did not match.", 400)
    step = request.form.get("step")
    member = plan.members.get(transaction.get("member") or "")
    if step == "login":
        return _after_login(page, transaction)
    if member is None:
        return page.error("Please sign in first", "Sign in before giving consent.", 400)
    if step == "mfa":
        return _after_mfa(page, transaction, member)
    if step == "consent" and transaction.get("mfa_passed"):
        return _after_consent(page, server, grant, member)
    return page.error("Please sign in first", "Finish every sign-in step before giving consent.", 400)


def _after_login(page: "_Page", transaction: dict):
    username = request.form.get("username", "")
    member = page.plan.members.get(username)
    password = request.form.get("password", "")
    if member is None or not hmac.compare_digest(member.password.encode(), password.encode()):
        return page.login(message="Wrong username or password.", username=username, status=401)
    transaction.update(member=member.username, mfa_passed=member.mfa is None)
    session[TRANSACTION] = transaction
    return page.mfa(member) if member.mfa else page.consent(member)


def _after_mfa(page: "_Page", transaction: dict, member: Member):
    if member.mfa is not None and not hmac.compare_digest(member.mfa.encode(), request.form.get("code", "").encode()):
        return page.mfa(member, message="That code is not right. Try again.", status=401)
    transaction["mfa_passed"] = True
    session[TRANSACTION] = transaction
    return page.consent(member)


def _after_consent(page: "_Page", server, grant, member: Member):
    session.pop(TRANSACTION, None)
    ticked = request.form.getlist(consent.SHARE_FIELD)
    allowed = request.form.get("decision") == "allow" and consent.follow_choice(grant, ticked)
    response = server.create_authorization_response(grant=grant, grant_user=member if allowed else None)
    if response.status_code == 302:
        response.status_code = 303  # AZ-8: after a form POST, never a redirect that repeats the POST
    return response


def _check_audience(plan: Plan, grant) -> None:
    """AZ-6: `aud` must name this plan's FHIR base; `smart` mode requires it, `1up` mode checks it when sent."""
    aud = grant.request.payload.data.get("aud")
    if aud is None and not plan.is_strict_smart:
        return
    if aud is None or aud.rstrip("/") not in {base.rstrip("/") for base in accepted_audiences(plan)}:
        raise InvalidRequestError(
            "'aud' must be this plan's FHIR base URL.", redirect_uri=grant.redirect_uri, state=grant.request.payload.state
        )


def _refuse(plan: Plan, server, error: OAuth2Error):
    """AZ-2: without a verified redirect URI, an error page and never a redirect; AZ-3: otherwise redirect with state."""
    if error.redirect_uri:
        return server.handle_error_response(None, error)
    description = error.description or error.error
    return _Page(plan, None).error("This app's sign-in request is not valid", description, 400)


def _fingerprint() -> str:
    return hashlib.sha256(request.query_string).hexdigest()


class _Page:
    """The HTML pages of one authorization request; every value reaching them is autoescaped by Jinja."""

    def __init__(self, plan: Plan, grant):
        self.plan = plan
        self.grant = grant

    def _render(self, template: str, status: int = 200, **values):
        transaction = session.get(TRANSACTION) or {}
        client = self.grant.request.client.client if self.grant else None
        html = render_template(
            template,
            plan=self.plan,
            client_name=(client.name or client.client_id) if client else "",
            action=request.full_path if request.query_string else request.path,
            csrf_token=transaction.get("csrf", ""),
            **values,
        )
        return html, status, {"Cache-Control": "no-store"}

    def login(self, *, start: bool = False, message: str = "", username: str = "", status: int = 200):
        if start:
            session[TRANSACTION] = {"request": _fingerprint(), "csrf": secrets.token_urlsafe(32)}
        return self._render("auth/login.html", status, message=message, username=username)

    def mfa(self, member: Member, *, message: str = "", status: int = 200):
        return self._render("auth/mfa.html", status, member_name=member.name or member.username, message=message)

    def consent(self, member: Member):
        records, others = consent.consent_choices(self.grant.request.scope)
        return self._render("auth/consent.html", member_name=member.name or member.username, records=records,
                            others=others, share_field=consent.SHARE_FIELD)

    def error(self, heading: str, message: str, status: int):
        return self._render("auth/error.html", status, heading=heading, message=message)
