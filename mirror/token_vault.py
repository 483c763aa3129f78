"""Where a connection's two secret tokens live: the OS keyring when there is one, else the connection file.

The file is the private connection file (issue 5, Connect).

A keyring keeps the tokens out of every file the mirror writes, so a copied or backed-up data folder holds no
usable sign-in. Headless machines and CI have no keyring (keyring then offers its `fail` backend, or a chainer
with nothing to chain), so there the tokens stay in the 0600 file; `MIRROR_TOKEN_STORE=file` chooses the
file on purpose. keyring is imported lazily and any failure to import or set it up means "no keyring": the
mirror must run on machines where the keyring stack is broken.

Each entry is one JSON string under the service `payer-mirror`, keyed by the data folder's resolved path and
the plan name, so two data folders on one account never share or overwrite each other's tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

SERVICE = "payer-mirror"
STORE_VARIABLE = "MIRROR_TOKEN_STORE"
KEYRING = "keyring"
FILE = "file"


class VaultError(RuntimeError):
    """The keyring could not be read or written; the message names no secret."""


def chosen_store() -> str:
    """`keyring` when a usable OS keyring exists and the file is not forced, else `file`."""
    if os.environ.get(STORE_VARIABLE, "").strip().lower() == FILE:
        return FILE
    return KEYRING if _usable_keyring() is not None else FILE


def entry_name(data_dir: Path, name: str) -> str:
    return f"{Path(data_dir).resolve()}:{name}"


def put(data_dir: Path, name: str, tokens: dict) -> None:
    """Write (or replace) the plan's tokens in the keyring."""
    _call("save the tokens to", lambda backend: backend.set_password(SERVICE, entry_name(data_dir, name),
                                                                      json.dumps(tokens)))


def get(data_dir: Path, name: str) -> dict | None:
    """The plan's tokens from the keyring, or None when it holds no (readable) entry for them."""
    text = _call("read the tokens from", lambda backend: backend.get_password(SERVICE, entry_name(data_dir, name)))
    try:
        tokens = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return tokens if isinstance(tokens, dict) else None


def forget(data_dir: Path, name: str) -> None:
    """So that tokens moved to the file do not also linger in the keyring.

    Remove the plan's keyring entry once its tokens have moved to the file; best effort, because the move
    has already happened and a stale entry left in a keyring is no worse than where it was."""
    backend = _usable_keyring()
    with contextlib.suppress(Exception):
        if backend is not None:
            backend.delete_password(SERVICE, entry_name(data_dir, name))


def _call(what: str, action):
    backend = _usable_keyring()
    if backend is None:
        raise VaultError(f"could not {what} the OS keyring: none is available on this machine")
    try:
        return action(backend)
    except Exception as error:  # noqa: BLE001 - locked, denied, D-Bus gone: all one plain line
        raise VaultError(f"could not {what} the OS keyring ({type(error).__name__})") from None


def _usable_keyring():
    """So that tokens are kept in a keyring only when it can really keep a secret.

    keyring's active backend when it can really keep a secret; None for `fail`, `null`, an empty chainer, or
    a keyring package that cannot be imported or set up."""
    try:
        import keyring
        from keyring.backends import chainer, fail, null

        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring stack means no keyring, never a failed command
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend
