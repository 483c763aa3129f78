"""The member's side of `/oauth2/authorize/{system-id}`.

Login, then a one-time code when the member has one (the MFA code on file, or a code emailed now: outbox.py), then
consent.

Each page posts back to the very URL it was shown at, query string included, and carries only its own
fields: repeating the OAuth parameters as hidden inputs makes authlib see them twice and refuse the
request. The steps a member has passed live server-side in a one-time transaction (transactions.py) bound
to a fingerprint of that query string, so a login for one authorization request cannot finish another; the
session cookie holds only the transaction's id. Opening the same request again (a reload, a second tab)
continues the transaction; each sign-in step moves it to a fresh id, so a cookie from before sign-in cannot
finish it; and consent ends it, so neither a form posted again nor a cookie played back gets a second code. Guessed
passwords and codes lock the sign-in
(lockout.py, RFC 6749 §10.10). An emailed code is good for this sign-in only, once, until it expires or a new
one is sent for it.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import Blueprint, render_template, request, session

from mockpayer import faults
from mockpayer.auth import consent
from mockpayer.auth.lockout import MEMBER, Subject, locked_for
from mockpayer.auth.outbox import CODE_LIFETIME, EmailedCode
from mockpayer.auth.parameters import ALLOWED, AUTHORIZE_PARAMETERS, PADDED_PKCE, check_parameters
from mockpayer.auth.transactions import Transaction
from mockpayer.context import accepted_audiences, payer, plan_for
from mockpayer.plans import EMAIL, Member, Plan

blueprint = Blueprint("authorize", __name__)
TRANSACTION = "authorization"


@blueprint.route("/oauth2/authorize/<system_id>", methods=["GET", "POST"])
@blueprint.route("/<system_id>/oauth2/authorize", methods=["GET", "POST"])
def authorize(system_id: str):
    return answer(plan_for(system_id))


def answer(plan: Plan):
    """One step of an authorization request to `plan`, at whichever path its family of shapes puts the endpoint."""
    server = payer().auth_servers[plan.system_id]
    try:
        check_parameters(request.values, AUTHORIZE_PARAMETERS, PADDED_PKCE if plan.is_bluebutton else ALLOWED)
        grant = server.get_consent_grant(end_user=None)
        _check_audience(plan, grant)
        _check_state(plan, grant)
        if request.method == "GET":
            faults.check_authorize_request(plan, grant)
    except OAuth2Error as error:
        return _refuse(plan, server, error)
    transaction_id = session.get(TRANSACTION)
    transaction = payer().transactions.get(transaction_id)
    if transaction is not None and (transaction.system_id, transaction.request) != (plan.system_id, _fingerprint()):
        transaction = None
    if request.method == "GET":
        if transaction is None:  # else a reload, or this request in another tab: its forms keep working
            transaction_id, transaction = payer().transactions.begin(plan.system_id, _fingerprint())
            session[TRANSACTION] = transaction_id
        return _Page(plan, grant, transaction).login()
    if transaction is None:
        return _Page(plan, grant, None).expired()
    page = _Page(plan, grant, transaction)
    if not hmac.compare_digest(transaction.csrf.encode(), request.form.get("csrf_token", "").encode()):
        return page.error("This form was not accepted", "The form's security token did not match.", 400)
    step = request.form.get("step")
    if step == "login":
        return _after_login(page, transaction_id)
    member = plan.members.get(transaction.member or "")
    if member is None:
        return page.error("Please sign in first", "Sign in before giving consent.", 400)
    if step in ("mfa", EMAIL):
        return _after_code(page, transaction_id, member, step)
    if step == "consent":
        return _after_consent(page, server, grant, transaction_id)
    return page.error("Please sign in first", "Finish every sign-in step before giving consent.", 400)


def _after_login(page: "_Page", transaction_id: str):
    """Unknown usernames are counted and locked like members, so a lock does not tell who is a member."""
    username = request.form.get("username", "")
    member = page.plan.members.get(username)
    password = request.form.get("password", "").encode()
    right, locked = _attempt(page.plan, username,
                             lambda: member is not None and hmac.compare_digest(member.password.encode(), password),
                             finishes=member is not None and member.second_step is None)
    if locked:
        return page.login(message=_locked_message(locked), username=username, status=429, retry_after=locked)
    if not right:
        return page.login(message="Wrong username or password.", username=username, status=401)
    return _passed(page, transaction_id, member, mfa_passed=member.second_step is None)


def _after_code(page: "_Page", transaction_id: str, member: Member, step: str):
    """The code after the password: the member's MFA code, or the one last emailed for this sign-in while it is good.

    A wrong or expired code counts toward the lock as a wrong password does; "resend" emails a new one."""
    if page.transaction.mfa_passed:  # nothing left to verify: this member's sign-in is finished
        return _passed(page, transaction_id, member, mfa_passed=True)
    if step != member.second_step:
        return page.error("This form was not accepted", "This sign-in asks for another code.", 400)
    if step == EMAIL and request.form.get("resend"):
        if locked := payer().lockouts.get(Subject(page.plan.system_id, MEMBER, member.username)):
            return page.code(member, message=_locked_message(locked), status=429, retry_after=locked)
        return _passed(page, transaction_id, member, mfa_passed=False, notice="We emailed you a new code.")
    typed, emailed = request.form.get("code", ""), page.transaction.emailed
    right, locked = _attempt(page.plan, member.username, lambda: _code_is_right(member, emailed, typed), finishes=True)
    if locked:
        return page.code(member, message=_locked_message(locked), status=429, retry_after=locked)
    if right:
        return _passed(page, transaction_id, member, mfa_passed=True)
    if emailed is not None and emailed.matches(typed):
        return page.code(member, message="That code has expired. Send a new code and enter that one.", status=401)
    return page.code(member, message="That code is not right. Try again.", status=401)


def _code_is_right(member: Member, emailed: EmailedCode | None, typed: str) -> bool:
    if member.verifies_by_email:
        return emailed is not None and emailed.matches(typed) and payer().clock.now() < emailed.expires_at
    return hmac.compare_digest(member.mfa.encode(), typed.encode())


def _attempt(plan: Plan, username: str, check, *, finishes: bool) -> tuple[bool, float]:
    """(whether the answer was right, seconds the sign-in is locked), RFC 6749 §10.10.

    A locked sign-in's answer is not even checked. Every factor counts against the member's one counter;
    a right answer resets it only when it finishes the sign-in, so a right password does not buy fresh
    guesses at the one-time code.
    """
    lockouts, subject = payer().lockouts, Subject(plan.system_id, MEMBER, username)
    if locked := lockouts.get(subject):
        return False, locked
    right = check()
    if right and not finishes:
        return True, 0.0
    return right, lockouts.record(subject, succeeded=right, policy=plan.lockout)


def _passed(page: "_Page", transaction_id: str, member: Member, *, mfa_passed: bool, notice: str = ""):
    """So that each sign-in step moves the transaction to a fresh id, preventing session fixation.

    Records the member and the steps passed in the transaction, under the fresh id the session now names
    (the id from before sign-in stops working: no session fixation), then shows the next page. A member who
    verifies by email is sent a code now, which replaces any sent before; a passed code is forgotten (used once)."""
    emailed = None if mfa_passed or not member.verifies_by_email else payer().outbox.send_code(page.plan, member)
    transaction = page.transaction.advance(member=member.username, mfa_passed=mfa_passed, emailed=emailed)
    fresh_id = payer().transactions.save(transaction_id, transaction)
    if fresh_id is None:
        return page.expired()
    session[TRANSACTION] = fresh_id
    page.transaction = transaction
    return page.consent(member) if transaction.mfa_passed else page.code(member, notice=notice)


def _after_consent(page: "_Page", server, grant, transaction_id: str):
    """So that a consent completes its transaction exactly once, and only after every sign-in step.

    Allow or deny, a signed-in transaction ends here, once: a second post of the form finds nothing to
    complete; a consent posted before the last sign-in step is refused and leaves the transaction as it was."""
    if not page.transaction.signed_in:
        return page.error("Please sign in first", "Finish every sign-in step before giving consent.", 400)
    transaction = payer().transactions.complete(transaction_id)
    session.pop(TRANSACTION, None)
    if transaction is None:
        return page.error("This sign-in has already finished", "Start signing in again from the app.", 400)
    member = page.plan.members[transaction.member]
    allowed = request.form.get("decision") == "allow" and _follow_choice(page.plan, grant, member)
    response = server.create_authorization_response(grant=grant, grant_user=member if allowed else None)
    if response.status_code == 302:
        response.status_code = 303  # AZ-8: after a form POST, never a redirect that repeats the POST
    return response


def _follow_choice(plan: Plan, grant, member: Member) -> bool:
    """The member's choice on the consent page, in the shape of the plan's page; False when they chose nothing."""
    if plan.is_bluebutton:
        return consent.follow_demographics_choice(grant, request.form.get(consent.DEMOGRAPHICS_FIELD) == "true")
    return consent.follow_choice(grant, request.form.getlist(consent.SHARE_FIELD), consent.record_types(plan, member))


def _locked_message(seconds: float) -> str:
    return (f"Too many failed attempts to sign in. Sign-in to this account is {locked_for(seconds)}; "
            "please try again after that.")


def _check_state(plan: Plan, grant) -> None:
    """SMART App Launch: `state` is REQUIRED.

    The redirect URI is verified by now, so the error goes back to the app by redirect (RFC 6749 §4.1.2.1), with no
    state to echo."""
    if plan.is_strict_smart and not grant.request.payload.state:
        raise InvalidRequestError("'state' is required (SMART App Launch).", redirect_uri=grant.redirect_uri)


def _check_audience(plan: Plan, grant) -> None:
    """So that each mode checks `aud` as the service it imitates does (AZ-6).

    AZ-6: `aud` must name this plan's FHIR base; `smart` mode requires it, `1up` mode checks it when sent, and
    `bluebutton` mode ignores it, as Blue Button does."""
    aud = grant.request.payload.data.get("aud")
    if (aud is None and not plan.is_strict_smart) or plan.is_bluebutton:
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
    return _Page(plan, None, None).error("This app's sign-in request is not valid", description, 400, error=error.error)


def _fingerprint() -> str:
    return hashlib.sha256(request.query_string).hexdigest()


class _Page:
    """The HTML pages of one authorization request; every value reaching them is autoescaped by Jinja."""

    def __init__(self, plan: Plan, grant, transaction: Transaction | None):
        self.plan = plan
        self.grant = grant
        self.transaction = transaction

    def _render(self, template: str, status: int = 200, retry_after: float = 0, **values):
        client = self.grant.request.client.client if self.grant else None
        html = render_template(
            template,
            plan=self.plan,
            client_name=(client.name or client.client_id) if client else "",
            action=request.full_path if request.query_string else request.path,
            csrf_token=self.transaction.csrf if self.transaction else "",
            **values,
        )
        headers = {"Cache-Control": "no-store"}
        if retry_after:
            headers["Retry-After"] = str(math.ceil(retry_after))
        return html, status, headers

    def login(self, *, message: str = "", username: str = "", status: int = 200, retry_after: float = 0):
        return self._render("auth/login.html", status, retry_after, message=message, username=username)

    def code(self, member: Member, *, message: str = "", notice: str = "", status: int = 200, retry_after: float = 0):
        """The page asking for the code after the password: the MFA code, or the one just emailed."""
        template = "auth/email.html" if member.verifies_by_email else "auth/mfa.html"
        return self._render(template, status, retry_after, member_name=member.name or member.username,
                            email=member.email, minutes=CODE_LIFETIME // 60, message=message, notice=notice)

    def consent(self, member: Member):
        scope = self.grant.request.scope
        demographics_field = None
        if self.plan.is_bluebutton:
            records, others = [], consent.listed_scopes(scope)
            demographics_field = consent.DEMOGRAPHICS_FIELD if consent.offers_demographics_choice(scope) else None
        else:
            records, others = consent.consent_choices(scope, consent.record_types(self.plan, member))
        return self._render("auth/consent.html", member_name=member.name or member.username, records=records,
                            others=others, share_field=consent.SHARE_FIELD, demographics_field=demographics_field)

    def error(self, heading: str, message: str, status: int, *, error: str = ""):
        """`error`: the OAuth error code (RFC 6749 §4.1.2.1) the page shows when it stands in for a redirect."""
        return self._render("auth/error.html", status, heading=heading, message=message, error=error)

    def expired(self):
        return self.error("This sign-in page has expired", "Start signing in again from the app.", 400)
