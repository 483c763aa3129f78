"""Completes the mock payer's sign-in pages (login, MFA or emailed code, consent) the way a person in a browser would.

`mirror connect --login` and the tests use it against the mock only: it reads each page's form, posts
the member's answers to the form's own action, and stops at the redirect back to the app. A member who
verifies by email gets a code made during the sign-in, so no option could carry it beforehand: it is read
where the mock "sends" it, the outbox of the same mock (`GET /_admin/outbox`), as a person reads their mail.
That answers only on the mock's own machine, which is where `--login` is used.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

MAX_STEPS = 5


class MockLoginError(RuntimeError):
    """The sign-in pages did not lead back to the app; the message says at which step and why.

    `alert` is the page's own message, `status` its HTTP status, `error` the OAuth error an error page names."""

    def __init__(self, message: str, *, alert: str = "", status: int | None = None, error: str | None = None):
        super().__init__(message)
        self.alert = alert
        self.status = status
        self.error = error


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.ticked: list[tuple[str, str]] = []  # checkboxes shown ticked, as (name, value)
        self.chosen: dict[str, str] = {}  # radio buttons shown checked: name -> value
        self.alert = ""
        self.error = ""  # the OAuth error an error page names
        self._in_alert = False
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attributes.get("action") or ""
        elif tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""
        elif (tag == "input" and attributes.get("type") == "checkbox" and "checked" in attributes
              and attributes.get("name")):
            self.ticked.append((attributes["name"], attributes.get("value") or "on"))
        elif (tag == "input" and attributes.get("type") == "radio" and "checked" in attributes
              and attributes.get("name")):
            self.chosen[attributes["name"]] = attributes.get("value") or "on"
        elif attributes.get("role") == "alert":
            self._in_alert = True
        elif attributes.get("id") == "oauth-error":
            self._in_error = True

    def handle_endtag(self, tag):
        self._in_alert = self._in_error = False

    def handle_data(self, data):
        if self._in_alert:
            self.alert += data.strip()
        if self._in_error:
            self.error += data.strip()


def complete_mock_login(
    session: requests.Session,
    authorize_url: str,
    username: str,
    password: str,
    *,
    mfa_code: str | None = None,
    email_code: str | None = None,
    allow: bool = True,
    untick: Collection[str] = (),
    choose: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> str:
    """Walks the pages from `authorize_url` and returns the redirect URL (with `code` or `error`) for the app.

    An emailed code is `email_code` when given, else the newest the mock's outbox holds for `username`. On the
    consent page every box stays as shown (ticked) and every choice as shown (checked), as a browser submits
    them, but for the scopes in `untick` and the choices in `choose` (field name -> value)."""
    response = session.get(authorize_url, allow_redirects=False, timeout=timeout)
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            return urljoin(response.url, response.headers["Location"])
        form = _FormReader()
        form.feed(response.text)
        step = form.fields.get("step")
        if form.action is None or step is None:
            error = f" ({form.error})" if form.error else ""
            raise MockLoginError(f"sign-in page answered {response.status_code} without a form: "
                                 f"{form.alert or 'no message'}{error}", alert=form.alert,
                                 status=response.status_code, error=form.error or None)
        if response.status_code >= 400 and step in ("login", "mfa", "email") and form.alert:
            raise MockLoginError(f"sign-in refused at the {step} step: {form.alert}", alert=form.alert,
                                 status=response.status_code)
        answers = list(form.fields.items())
        if step == "login":
            answers += [("username", username), ("password", password)]
        elif step == "mfa":
            if mfa_code is None:
                raise MockLoginError("this member needs a one-time code: pass --mfa CODE")
            answers.append(("code", mfa_code))
        elif step == "email":
            answers.append(("code", email_code or _emailed_code(session, response.url, username, timeout)))
        elif step == "consent":
            answers += [(name, value) for name, value in form.ticked if value not in untick]
            answers += [(name, (choose or {}).get(name, value)) for name, value in form.chosen.items()]
            answers.append(("decision", "allow" if allow else "deny"))
        response = session.post(urljoin(response.url, form.action), data=answers, allow_redirects=False, timeout=timeout)
    raise MockLoginError("sign-in pages did not finish after several steps")


def _emailed_code(session: requests.Session, page_url: str, username: str, timeout: float) -> str:
    """The newest code the mock at `page_url` has emailed `username`, from its outbox."""
    root = urlsplit(page_url)
    outbox = f"{root.scheme}://{root.netloc}/_admin/outbox"
    response = session.get(outbox, timeout=timeout)
    if response.status_code != 200:
        raise MockLoginError(f"this member verifies by email, and the mock's outbox ({outbox}) answered "
                             f"{response.status_code}: it answers only on the mock's own machine")
    messages = [message for plan in response.json().values() for message in plan if message["member"] == username]
    if not messages:
        raise MockLoginError(f"this member verifies by email, but the mock's outbox ({outbox}) holds no code for them")
    return sorted(messages, key=lambda message: message["sent_at"])[-1]["code"]
