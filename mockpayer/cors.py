"""Lets a SMART app running in a browser call the mock with `fetch` from its own origin (CORS, by flask-cors).

Such an app fetches discovery, the token, revoke, introspect and userinfo endpoints and the FHIR API. None of
them reads a cookie (tokens travel in headers and forms), so any origin may call them and none is sent
credentials. The sign-in pages are navigations, not fetches, and `/_admin` changes what every member sees:
neither answers a preflight, so a browser never lets a page of another site read them.
"""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

BROWSER_APP_PATHS = (
    r"/r4/.*",
    r"/[^/_][^/]*/r4/.*",
    r"/[^/_][^/]*/directory/r4/.*",
    r"(/[^/_][^/]*)?/oauth2/(token|revoke|introspect|userinfo)$",
    r"(/[^/_][^/]*)?/\.well-known/.*",
    r"(/[^/_][^/]*)?/v2/(fhir/.*|connect/userinfo/?|o/(token|revoke_token|introspect)/?)$",
    r"(/[^/_][^/]*)?/v2/connect/\.well-known/openid-configuration$",
)
# What a page's script may read of an answer besides the basic headers: paging, caching and error details, and
# `Date`, the mock's clock, which a `Retry-After` date is read against.
EXPOSED_HEADERS = ("Content-Location", "Location", "ETag", "Last-Modified", "WWW-Authenticate", "Retry-After",
                   "Date")
# Reads, searches and operations by GET or POST, and the OAuth endpoints' POSTs; the API takes no writes.
METHODS = ("GET", "HEAD", "POST")
PREFLIGHT_CACHE_SECONDS = 600


def allow_browser_apps(app: Flask) -> None:
    CORS(
        app,
        resources={pattern: {} for pattern in BROWSER_APP_PATHS},
        origins="*",
        send_wildcard=True,
        methods=list(METHODS),
        supports_credentials=False,
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_CACHE_SECONDS,
    )
