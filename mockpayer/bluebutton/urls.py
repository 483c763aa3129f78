"""Where a Blue Button plan's paths start as the request saw them: `{scheme}://{host}/v2` for a request without
the plan's path prefix, `{scheme}://{host}/{system-id}/v2` for one with it, so that every link and endpoint the
mock writes leads back the way the app came (CMS's SDK follows only links under the base URL it was given)."""

from __future__ import annotations

from flask import request


def v2_root(system_id: str | None) -> str:
    return f"{request.host_url}{system_id}/v2" if system_id else f"{request.host_url}v2"


def fhir_base(system_id: str | None) -> str:
    return f"{v2_root(system_id)}/fhir"
