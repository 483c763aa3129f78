"""plan.json: the plan's clients, token and paging settings and member logins.

They are kept from `settings_from` where it lists them, so a hand-tuned plan can get fresh data without losing its
accounts.

What it makes up, client ids and the carin profile's usernames, is made from the system id
(`tinyplan-confidential-app`, `tinyplan-member1`), so two plans served together never share an account or a
client id. The demo plan's system id keeps the demo plan's own (`demo-confidential-app`, `member1`), which
`mirror connect demo` and the README sign in with: the generator's defaults make the demo plan.
"""

from __future__ import annotations

import random

DEFAULT_TOKENS = {"code_lifetime": 300, "access_token_lifetime": 3600, "refresh_token_lifetime": 7776000, "refresh": True}
DEFAULT_PAGING = {"default_count": 10, "max_count": 100}
DEFAULT_CLIENTS = [
    {
        "client_id": "{clients}-confidential-app",
        "client_secret": "mock-secret-not-for-production",
        "name": "Demo Confidential App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback", "https://app.example.org/callback"],
    },
    {
        "client_id": "{clients}-public-app",
        "client_secret": None,
        "name": "Demo Public App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
    },
]
# The bluebutton profile's clients: a confidential one registered like the CMS SDK samples' app (its callback
# on port 3000) and a public one (PKCE, no secret), both with loopback redirects (RFC 8252 section 7.3). Blue
# Button pages at most 50 resources and access tokens live 10 hours.
BLUEBUTTON_CLIENTS = [
    {
        "client_id": "{clients}-confidential-app",
        "client_secret": "mock-bluebutton-secret-not-for-production",
        "name": "Blue Button Sample App",
        "redirect_uris": ["http://localhost:3000/api/bluebutton/callback/", "http://127.0.0.1:3000/api/bluebutton/callback/",
                          "http://127.0.0.1/callback", "http://localhost/callback"],
    },
    {
        "client_id": "{clients}-public-app",
        "client_secret": None,
        "name": "Blue Button Public App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
    },
]
PROFILE_DEFAULTS = {
    "carin": {"tokens": DEFAULT_TOKENS, "paging": DEFAULT_PAGING, "clients": DEFAULT_CLIENTS},
    "bluebutton": {"tokens": DEFAULT_TOKENS | {"access_token_lifetime": 36000},
                   "paging": {"default_count": 10, "max_count": 50}, "clients": BLUEBUTTON_CLIENTS},
}
# Blue Button logins keep the pattern of CMS's sandbox users, which an app's own docs and tests name.
PROFILE_LOGINS = {"carin": ("{members}member{n}", "pass-{members}member{n}"),
                  "bluebutton": ("BBUser{n:05d}", "PW{n:05d}!")}
DEMO_SYSTEM_ID = "demoplan"  # generated, it keeps the demo plan's own client ids and usernames
# plan.json keys the generator always writes from its own arguments; `settings_from` supplies the rest.
GENERATED_PLAN_KEYS = ("system_id", "name", "base_url", "mode")
LOGIN_KEYS = ("username", "password", "name", "mfa", "email", "verification")


def plan_settings(system_id: str, name: str, base_url: str, mode: str, logins: list[dict], settings: dict,
                  profile: str = "carin") -> dict:
    """So that plan.json is written in one stable order.

    plan.json: generator-owned keys first, then tokens, paging, clients (kept, else the profile's), members,
    then any other kept keys."""
    defaults = PROFILE_DEFAULTS[profile]
    result = {"system_id": system_id, "name": name, "base_url": base_url, "mode": mode,
              "tokens": settings.get("tokens", defaults["tokens"]), "paging": settings.get("paging", defaults["paging"]),
              "clients": settings.get("clients", _derived_clients(defaults["clients"], system_id)), "members": logins}
    for key, value in settings.items():
        if key not in result:
            result[key] = value
    return result


def _derived_clients(clients: list[dict], system_id: str) -> list[dict]:
    prefix = "demo" if system_id == DEMO_SYSTEM_ID else system_id
    return [client | {"client_id": client["client_id"].format(clients=prefix)} for client in clients]


def member_login(system_id: str, patient: str, number: int, seed: int, kept: dict | None, generated_name: str,
                 profile: str = "carin") -> dict:
    """So that members keep their logins across regenerations, else get the profile's.

    Login for member n, who is `patient` (`Patient/<id>`): kept from `settings_from` when it lists one, else
    the profile's (<system-id>-member{n}/pass-<system-id>-member{n}, the demo plan's member{n}/pass-member{n}, or
    BBUser0000n/PW0000n! as in CMS's Blue Button sandbox); member 2 always needs an MFA code so the MFA path has
    a bundled user, and in a carin plan member 3 verifies by email (a Blue Button sandbox beneficiary signs in
    with a password)."""
    prefix = "" if system_id == DEMO_SYSTEM_ID else f"{system_id}-"
    username, password = (pattern.format(n=number, members=prefix) for pattern in PROFILE_LOGINS[profile])
    login = {"username": username, "password": password, "name": generated_name}
    if number == 2:
        login["mfa"] = f"{random.Random(f'{seed}/mfa/{number}').randrange(10**6):06d}"
    if number == 3 and profile == "carin":
        login |= {"email": f"{login['username']}@example.org", "verification": "email"}
    if kept:
        login = {"name": generated_name} | {key: kept[key] for key in LOGIN_KEYS if key in kept}
    return {"username": login["username"], "password": login["password"], "patient": patient,
            "name": login["name"]} | {key: login[key] for key in ("mfa", "email", "verification") if key in login}
