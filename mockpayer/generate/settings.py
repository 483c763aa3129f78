"""plan.json: the plan's clients, token and paging settings and member logins, kept from `settings_from`
where it lists them, so a hand-tuned plan can get fresh data without losing its accounts."""

from __future__ import annotations

import random

DEFAULT_TOKENS = {"code_lifetime": 300, "access_token_lifetime": 3600, "refresh_token_lifetime": 7776000, "refresh": True}
DEFAULT_PAGING = {"default_count": 10, "max_count": 100}
DEFAULT_CLIENTS = [
    {
        "client_id": "demo-confidential-app",
        "client_secret": "mock-secret-not-for-production",
        "name": "Demo Confidential App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback", "https://app.example.org/callback"],
    },
    {
        "client_id": "demo-public-app",
        "client_secret": None,
        "name": "Demo Public App",
        "redirect_uris": ["http://127.0.0.1/callback", "http://localhost/callback"],
    },
]
# plan.json keys the generator always writes from its own arguments; `settings_from` supplies the rest.
GENERATED_PLAN_KEYS = ("system_id", "name", "base_url", "mode")
LOGIN_KEYS = ("username", "password", "name", "mfa")


def plan_settings(system_id: str, name: str, base_url: str, mode: str, logins: list[dict], settings: dict) -> dict:
    """plan.json: generator-owned keys first, then tokens, paging, clients, members, then any other kept keys."""
    result = {"system_id": system_id, "name": name, "base_url": base_url, "mode": mode,
              "tokens": settings.get("tokens", DEFAULT_TOKENS), "paging": settings.get("paging", DEFAULT_PAGING),
              "clients": settings.get("clients", DEFAULT_CLIENTS), "members": logins}
    for key, value in settings.items():
        if key not in result:
            result[key] = value
    return result


def member_login(system_id: str, number: int, seed: int, kept: dict | None, generated_name: str) -> dict:
    """Login for member n: kept from `settings_from` when it lists one, else member{n}/pass-member{n}; member 2
    always needs an MFA code so the MFA path has a bundled user."""
    login = {"username": f"member{number}", "password": f"pass-member{number}", "name": generated_name}
    if number == 2:
        login["mfa"] = f"{random.Random(f'{seed}/mfa/{number}').randrange(10**6):06d}"
    if kept:
        login = {"name": generated_name} | {key: kept[key] for key in LOGIN_KEYS if key in kept}
    return {"username": login["username"], "password": login["password"], "patient": f"Patient/{system_id}-m{number}",
            "name": login["name"]} | ({"mfa": login["mfa"]} if "mfa" in login else {})
