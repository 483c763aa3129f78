"""So that every link the mock writes leads back the way the app came.

Where a Blue Button plan's paths start as the request saw them: `{scheme}://{host}/v2` for a request without
the plan's path prefix, `{scheme}://{host}/{system-id}/v2` for one with it, so that every link and endpoint the
mock writes leads back the way the app came (CMS's SDK follows only links under the base URL it was given); and
the routes that answer both."""

from __future__ import annotations

from flask import Blueprint, request


def v2_root(system_id: str | None) -> str:
    return f"{request.host_url}{system_id}/v2" if system_id else f"{request.host_url}v2"


def fhir_base(system_id: str | None) -> str:
    return f"{v2_root(system_id)}/fhir"


def route(blueprint: Blueprint, path: str, **options):
    """So that Blue Button paths answer at the root and under a plan's prefix, slash or not.

    Registers a view at a Blue Button path (`/v2/...`) at the root and under a plan's prefix, each with and
    without a trailing slash, as Blue Button answers both. Two rules rather than one slash-optional rule, because
    Werkzeug answers a method the optional form does not take with 404 instead of 405 (RFC 9110 §15.5.6)."""

    def register(view):
        for prefix in ("", "/<system_id>"):
            for rule in (f"{prefix}{path}", f"{prefix}{path}/"):
                blueprint.add_url_rule(rule, view_func=view, **options)
        return view

    return register
