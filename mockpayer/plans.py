"""What a mock health plan is: `fixtures/plans/<system-id>/plan.json` read into plain objects.

A plan folder is the unit a developer or QA engineer edits; loading refuses a malformed `plan.json` with
one line that names the file and the field, because a traceback from deep inside the server helps nobody.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from mirror.fhir.ids import is_valid_id
from mirror.fhir.scopes import split_scope
from mockpayer.auth.parameters import MAX_LENGTH, NQCHAR, URI_CHAR, VSCHAR

MODES = ("1up", "smart", "bluebutton")
# Two files holding a type and id with different bodies: "first" or "last" serves that copy with a warning;
# "error" serves the last, reported as an error (`serve --strict` refuses to start, `check` fails).
DUPLICATES = ("first", "last", "error")
MIN_SIGNING_KEY_BITS = 2048
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")  # RFC 3986 §3.1
# Schemes a browser acts on itself (runs or opens locally) instead of handing the redirect to an app.
BROWSER_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about"})
BUNDLED_PLANS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
EMAIL = "email"  # a member's `verification`: a one-time code emailed after the password (mockpayer/auth/outbox.py)


class PlanError(ValueError):
    """A plan folder that cannot be served; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: tuple[str, ...]
    name: str = ""
    scopes: tuple[str, ...] | None = None  # the most it may be granted; None: whatever the plan grants

    @property
    def is_public(self) -> bool:
        return not self.client_secret


@dataclass(frozen=True)
class Member:
    username: str
    password: str
    patient_id: str
    name: str = ""
    mfa: str | None = None
    email: str | None = None
    verification: str | None = None  # EMAIL, or None: the password, then the `mfa` code when there is one

    @property
    def verifies_by_email(self) -> bool:
        return self.verification == EMAIL

    @property
    def second_step(self) -> str | None:
        """The sign-in step after the password: "mfa", "email", or None when the password is all."""
        return EMAIL if self.verifies_by_email else "mfa" if self.mfa is not None else None


@dataclass(frozen=True)
class TokenSettings:
    code_lifetime: int = 300
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 90 * 24 * 3600
    refresh: bool = True


@dataclass(frozen=True)
class LockoutSettings:
    """So that repeated failed sign-ins or client authentications are locked out (RFC 6749 §10.10).

    RFC 6749 §10.10: after `after` consecutive failures a member's sign-in, or a client's authentication,
    is refused for `minutes`."""

    after: int = 10
    minutes: int = 15

    @property
    def seconds(self) -> int:
        return self.minutes * 60


@dataclass(frozen=True)
class PagingSettings:
    default_count: int = 10
    max_count: int = 100


@dataclass
class Plan:
    system_id: str
    name: str
    base_url: str
    mode: str
    folder: Path
    tokens: TokenSettings = field(default_factory=TokenSettings)
    paging: PagingSettings = field(default_factory=PagingSettings)
    lockout: LockoutSettings = field(default_factory=LockoutSettings)
    clients: dict[str, Client] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    signing_key: RSAKey | None = None  # signs id_tokens; None: a new key each time the mock starts
    duplicates: str | None = None  # DUPLICATES; None: not chosen (`serve` serves the last, `check` says "error")
    follow_symlinks: bool = False  # serve files symlinked from outside the plan folder (resources.data_files)

    @property
    def is_strict_smart(self) -> bool:
        return self.mode == "smart"

    @property
    def is_bluebutton(self) -> bool:
        """CMS Blue Button 2.0's shapes (`/v2/o/...`, `/v2/fhir/...`): mockpayer/bluebutton/."""
        return self.mode == "bluebutton"

    @property
    def auth_host(self) -> str:
        return f"auth.{self.base_url}"

    @property
    def api_host(self) -> str:
        return f"api.{self.base_url}"


def load_plans(fixtures_dir: Path | str = BUNDLED_PLANS_DIR) -> dict[str, Plan]:
    """Every plan under `fixtures_dir`, keyed by system id."""
    root = Path(fixtures_dir)
    if not root.is_dir():
        raise PlanError(f"{root}: no such fixtures folder")
    plans: dict[str, Plan] = {}
    for plan_file in sorted(root.glob("*/plan.json")):
        plan = load_plan(plan_file.parent)
        if plan.system_id in plans:
            raise PlanError(f"{plan_file}: system_id {plan.system_id!r} is used by another plan")
        plans[plan.system_id] = plan
    if not plans:
        raise PlanError(f"{root}: no plan folders (expected <system-id>/plan.json)")
    return plans


def load_plan(folder: Path | str) -> Plan:
    folder = Path(folder)
    plan_file = folder / "plan.json"
    try:
        raw = json.loads(plan_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanError(f"{plan_file}: cannot read ({error.strerror})") from None
    except ValueError as error:
        raise PlanError(f"{plan_file}: not valid JSON ({error})") from None
    try:
        return _plan_from_json(raw, folder)
    except (KeyError, TypeError, ValueError) as error:
        raise PlanError(f"{plan_file}: {_describe(error)}") from None


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error)


def _plan_from_json(raw: dict, folder: Path) -> Plan:
    if not isinstance(raw, dict):
        raise ValueError("plan.json must hold a JSON object")
    system_id = _text(raw, "system_id")
    if not is_valid_id(system_id):
        raise ValueError(f"system_id {system_id!r} must match [A-Za-z0-9-.]{{1,64}}")
    mode = raw.get("mode", "1up")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    duplicates = raw.get("duplicates")
    if duplicates is not None and duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be one of {', '.join(DUPLICATES)}, not {duplicates!r}")
    follow_symlinks = raw.get("follow_symlinks", False)
    if not isinstance(follow_symlinks, bool):
        raise ValueError(f"follow_symlinks must be true or false, not {follow_symlinks!r}")
    plan = Plan(
        system_id=system_id,
        name=_text(raw, "name"),
        base_url=_text(raw, "base_url"),
        mode=mode,
        folder=folder,
        tokens=_settings(TokenSettings, raw.get("tokens", {}), "tokens"),
        paging=_settings(PagingSettings, raw.get("paging", {}), "paging"),
        lockout=_settings(LockoutSettings, raw.get("lockout", {}), "lockout"),
        settings={key: value for key, value in raw.items() if key not in _KNOWN_FIELDS},
        signing_key=_signing_key(raw["signing_key"]) if "signing_key" in raw else None,
        duplicates=duplicates,
        follow_symlinks=follow_symlinks,
    )
    for entry in raw.get("clients", []):
        client = parse_client(entry)
        if client.client_id in plan.clients:
            raise ValueError(f"client_id {client.client_id!r} is listed twice")
        plan.clients[client.client_id] = client
    for entry in raw.get("members", []):
        member = _member(entry)
        if member.username in plan.members:
            raise ValueError(f"member {member.username!r} is listed twice")
        plan.members[member.username] = member
    if not plan.clients:
        raise ValueError("a plan needs at least one client")
    return plan


_KNOWN_FIELDS = {"system_id", "name", "base_url", "mode", "tokens", "paging", "lockout", "clients", "members",
                 "signing_key", "duplicates", "follow_symlinks"}


def _text(raw: dict, key: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _settings(cls, raw: dict, section: str):
    if not isinstance(raw, dict):
        raise ValueError(f"{section} must be an object")
    defaults = cls()
    values = {}
    for key, value in raw.items():
        if not hasattr(defaults, key):
            raise ValueError(f"{section}.{key} is not a known setting")
        expected = type(getattr(defaults, key))
        if type(value) is not expected or (expected is int and value <= 0):
            raise ValueError(f"{section}.{key} must be a positive {expected.__name__}")
        values[key] = value
    return cls(**values)


def _signing_key(jwk) -> RSAKey:
    """A plan's own id_token key, so tokens verify across restarts: a private RSA JWK of 2048 bits or more."""
    problem = (f"signing_key must be a private RSA JWK (kty RSA, n, e, d, p, q, dp, dq, qi) "
               f"of at least {MIN_SIGNING_KEY_BITS} bits")
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256":
        raise ValueError(problem + ", for RS256")
    try:
        key = RSAKey.import_key(jwk)
    except (JoseError, ValueError, TypeError) as error:
        raise ValueError(f"{problem} ({error})") from None
    if not key.is_private or key.raw_value.key_size < MIN_SIGNING_KEY_BITS:
        raise ValueError(problem)
    key.ensure_kid()
    return key


def parse_client(entry: dict) -> Client:
    """A client as plan.json or `POST /_admin/clients` describes it; ValueError names the field at fault."""
    client_id = _text(entry, "client_id")
    if not set(client_id) <= VSCHAR or len(client_id) > MAX_LENGTH:
        raise ValueError(f"client_id must be printable ASCII of at most {MAX_LENGTH} characters (RFC 6749 appendix A)")
    secret = entry.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret or not set(secret) <= VSCHAR):
        raise ValueError(f"client {client_id!r}: client_secret must be printable ASCII or null")
    uris = entry.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(uri, str) for uri in uris):
        raise ValueError(f"client {client_id!r}: redirect_uris must be a non-empty list of URIs")
    for uri in uris:
        if problem := _redirect_uri_problem(uri):
            raise ValueError(f"client {client_id!r}: redirect URI {uri[:100]!r} {problem}")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise ValueError(f"client {client_id!r}: name must be a string")
    return Client(client_id, secret, tuple(uris), name, _client_scopes(client_id, entry.get("scopes")))


def _redirect_uri_problem(uri: str) -> str | None:
    """What keeps `uri` from being a redirect URI an app may register, or None.

    RFC 6749 §3.1.2: absolute and without fragment; any scheme an app can receive, so private-use ones too
    (`com.example.app:/callback`, RFC 8252 §7.1); in the characters and length an authorize request can carry
    (mockpayer/auth/parameters.py)."""
    scheme, colon, rest = uri.partition(":")
    if not colon or not URI_SCHEME.fullmatch(scheme) or not rest:
        return "is not an absolute URI (RFC 6749 section 3.1.2)"
    if "#" in uri:
        return "has a fragment (RFC 6749 section 3.1.2)"
    if len(uri) > MAX_LENGTH or not set(uri) <= URI_CHAR:
        return f"must be at most {MAX_LENGTH} characters that a URI may hold (RFC 3986)"
    if scheme.lower() in BROWSER_SCHEMES:
        return f"uses {scheme}:, which a browser acts on itself instead of handing to an app"
    if scheme.lower() in ("http", "https") and not urlsplit(uri).hostname:
        return "has no host"
    return None


def _client_scopes(client_id: str, scopes) -> tuple[str, ...] | None:
    """`scopes`: a list of scope words or one space-separated string; absent: no limit beyond the plan's."""
    if scopes is None:
        return None
    words = split_scope(scopes) if isinstance(scopes, str) else scopes
    if not isinstance(words, list) or not words or not all(isinstance(word, str) and word and set(word) <= NQCHAR
                                                           for word in words):
        raise ValueError(f"client {client_id!r}: scopes must be a non-empty list of scope words, or one string of them")
    return tuple(dict.fromkeys(words))


def _member(entry: dict) -> Member:
    username = _text(entry, "username")
    reference = _text(entry, "patient")
    resource_type, _, patient_id = reference.partition("/")
    if resource_type != "Patient" or not is_valid_id(patient_id):
        raise ValueError(f"member {username!r}: patient must look like 'Patient/<id>', not {reference!r}")
    mfa = entry.get("mfa")
    if mfa is not None and (not isinstance(mfa, str) or not mfa):
        raise ValueError(f"member {username!r}: mfa must be the one-time code as a string")
    verification, email = entry.get("verification"), entry.get("email")
    if verification not in (None, EMAIL):
        raise ValueError(f"member {username!r}: verification must be {EMAIL!r} (or left out), not {verification!r}")
    if email is not None and (not isinstance(email, str) or "@" not in email or any(c.isspace() for c in email)):
        raise ValueError(f"member {username!r}: email must be an address such as name@example.org")
    if verification == EMAIL and (email is None or mfa is not None):
        raise ValueError(f"member {username!r}: verification by email needs an email and no mfa code")
    return Member(username, _text(entry, "password"), patient_id, entry.get("name", ""), mfa, email, verification)
