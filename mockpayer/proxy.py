"""`mockpayer serve --trust-proxy`: behind a TLS proxy, the mock advertises the URLs its clients used.

Discovery, metadata, bundle links and OAuth endpoints are built from the request's scheme and host
(mockpayer/context.py); behind a proxy those are the proxy's hop to the mock, so werkzeug's ProxyFix puts back
what the proxy reports: `X-Forwarded-Proto` (authlib then sees an https request as https), `X-Forwarded-Host`,
and `X-Forwarded-For` (so a client out there is not taken for this machine by the loopback checks of `/_admin`
and of authlib's https rule). One proxy, one hop of each.

Off by default: anybody can send these headers, and honoured unasked they would let a request rewrite what
discovery tells an app. On, the `Host` names the mock answers (TRUSTED_HOSTS) are checked twice: the forwarded
one, and the one the connection itself named. Otherwise a web page rebound to 127.0.0.1 by DNS could name a
loopback host in its own `X-Forwarded-Host` and read the mock through the tester's browser.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted

_ORIGINAL = "werkzeug.proxy_fix.orig"  # where ProxyFix keeps what the connection itself sent


def honour_forwarded_headers(app: Flask) -> None:
    """Honour one proxy's `X-Forwarded-For`, `-Proto` and `-Host` in `app`."""
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.before_request(_connection_host_trusted)


def _connection_host_trusted() -> None:
    """So that an untrusted forwarded host or scheme never reaches a URL the mock advertises.

    400, as Flask answers an untrusted forwarded host, when the `Host` of the connection is not trusted, or
    when the forwarded scheme is neither http nor https (it would be advertised in every URL)."""
    if request.scheme not in ("http", "https"):
        raise BadRequest("X-Forwarded-Proto must be http or https.")
    trusted = current_app.config["TRUSTED_HOSTS"]
    host = request.environ[_ORIGINAL]["HTTP_HOST"]
    if trusted is not None and host is not None and not host_is_trusted(host, trusted):
        raise SecurityError(f"Host {host[:255]!r} is not trusted.")
