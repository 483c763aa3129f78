"""Loopback host names: what counts as this machine, and the `Host` names a server bound to it answers."""

from __future__ import annotations

from ipaddress import ip_address

LOOPBACK = "127.0.0.1"


def is_loopback_host(host: str | None) -> bool:
    """So that servers can tell traffic that never leaves this machine.

    True for `localhost` and loopback addresses (127.0.0.0/8, ::1, with or without brackets or a `%zone`):
    traffic that never leaves this machine."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def trusted_hosts(bind_host: str, *extra: str) -> list[str] | None:
    """The `Host` names a server bound to `bind_host` answers (Flask's TRUSTED_HOSTS), or None for any.

    A server on a loopback address answers only loopback names: otherwise a web page the member visits could
    point its own host name at 127.0.0.1 (DNS rebinding) and read the records through the member's browser.
    A server bound elsewhere was exposed on purpose and is reached under names this code cannot know.
    """
    if not is_loopback_host(bind_host):
        return None
    return list(dict.fromkeys([bind_host, LOOPBACK, "localhost", *extra]))
