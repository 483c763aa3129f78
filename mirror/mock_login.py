"""Completes the mock payer's sign-in pages (login, MFA, consent) the way a person in a browser would.

`mirror connect --login` and the tests use it against the mock only: it reads each page's form, posts
the member's answers to the form's own action, and stops at the redirect back to the app.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

if TYPE_CHECKING:
    import requests

MAX_STEPS = 5


class MockLoginError(RuntimeError):
    """The sign-in pages did not lead back to the app; the message says at which step and why."""


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.ticked: list[tuple[str, str]] = []  # checkboxes shown ticked, as (name, value)
        self.chosen: dict[str, str] = {}  # radio buttons shown checked: name -> value
        self.alert = ""
        self._in_alert = False

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

    def handle_endtag(self, tag):
        self._in_alert = False

    def handle_data(self, data):
        if self._in_alert:
            self.alert += data.strip()


def complete_mock_login(
    session: requests.Session,
    authorize_url: str,
    username: str,
    password: str,
    *,
    mfa_code: str | None = None,
    allow: bool = True,
    untick: Collection[str] = (),
    choose: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> str:
    """Walks the pages from `authorize_url` and returns the redirect URL (with `code` or `error`) for the app.

    On the consent page every box stays as shown (ticked) and every choice as shown (checked), as a browser
    submits them, but for the scopes in `untick` and the choices in `choose` (field name -> value)."""
    response = session.get(authorize_url, allow_redirects=False, timeout=timeout)
    for _ in range(MAX_STEPS):
        if response.is_redirect:
            return urljoin(response.url, response.headers["Location"])
        form = _FormReader()
        form.feed(response.text)
        step = form.fields.get("step")
        if form.action is None or step is None:
            raise MockLoginError(f"sign-in page answered {response.status_code} without a form: {form.alert or 'no message'}")
        if response.status_code >= 400 and step in ("login", "mfa") and form.alert:
            raise MockLoginError(f"sign-in refused at the {step} step: {form.alert}")
        answers = list(form.fields.items())
        if step == "login":
            answers += [("username", username), ("password", password)]
        elif step == "mfa":
            if mfa_code is None:
                raise MockLoginError("this member needs a one-time code: pass --mfa CODE")
            answers.append(("code", mfa_code))
        elif step == "consent":
            answers += [(name, value) for name, value in form.ticked if value not in untick]
            answers += [(name, (choose or {}).get(name, value)) for name, value in form.chosen.items()]
            answers.append(("decision", "allow" if allow else "deny"))
        response = session.post(urljoin(response.url, form.action), data=answers, allow_redirects=False, timeout=timeout)
    raise MockLoginError("sign-in pages did not finish after several steps")
