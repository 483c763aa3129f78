"""QA fault injection (mockpayer/faults.py) on Blue Button's FHIR API, as on the other plans' member APIs.

Its searchset pages read by `startIndex` and `_count`, so that page conditions and reshaping apply, and the refusals
answered as Blue Button answers them.

The refusals, in Blue Button's shapes: an expired token (`expire_token`) as any token it no longer takes, 401
with its challenge; a rate limit as Django REST framework's throttling answers, 429 with `Retry-After` and
"Request was throttled. Expected available in N seconds."; a server error as Blue Button's 500 handler
(`{"error": "Server Error (500)"}`), its failure to reach its data server (502) or, for 503, which Blue Button's
own server never answers, an unavailable service.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

from flask import Response, jsonify

from mockpayer import faults
from mockpayer.bluebutton.access import INVALID, invalid_token
from mockpayer.bluebutton.errors import UPSTREAM, BlueButtonError, error_response
from mockpayer.bluebutton.paging import page_url
from mockpayer.plans import Plan

THROTTLED = "Request was throttled."
SERVER_ERRORS = {502: UPSTREAM, 503: "Service temporarily unavailable, try again later."}
SERVER_ERROR_500 = {"error": "Server Error (500)"}


class StartIndexPages(faults.Pages):
    """So that Blue Button's pages are located and pointed at by `startIndex`, as BFD does.

    A Blue Button page says where it starts in its links: `first` is the search as BFD repeats it, with its
    `_count` and `startIndex=0`; `self` is the request as the app made it, with its `startIndex`."""

    bluebutton = True

    def locate(self, links: dict, plan: Plan) -> tuple[str, list[tuple[str, str]], int, int] | None:
        first, own = links.get("first"), links.get("self")
        if not isinstance(first, str) or not isinstance(own, str):
            return None
        parts = urlsplit(first)
        params = parse_qsl(parts.query, keep_blank_values=True)
        query = [(name, value) for name, value in params if name not in ("startIndex", "_count")]
        try:
            count = int(dict(params)["_count"])
            start_index = int(dict(parse_qsl(urlsplit(own).query)).get("startIndex", "0"))
        except (KeyError, ValueError):
            return None
        return urlunsplit(parts._replace(query="", fragment="")), query, start_index, count

    def url_at(self, search_url: str, self_params: list[tuple[str, str]], offset: int, count: int) -> str:
        return page_url(search_url, self_params, offset, count)


START_INDEX_PAGES = StartIndexPages()


def injected(view):
    """The plan's faults around a view of Blue Button's FHIR API (faults.injected)."""
    return faults.injected(view, START_INDEX_PAGES)


def refusal(fault: faults.InjectedFault) -> Response:
    """An injected refusal as Blue Button gives it (the module's docstring)."""
    if fault.status == 401:
        return error_response(invalid_token(INVALID))
    if fault.status == 429:
        wait = fault.headers.get("Retry-After", "")
        detail = THROTTLED
        if wait.isdigit():
            detail += f" Expected available in {wait} second{'' if wait == '1' else 's'}."
        return error_response(BlueButtonError(429, detail, fault.headers))
    if fault.status == 500:
        response = jsonify(SERVER_ERROR_500)
        response.status_code = 500
        return response
    return error_response(BlueButtonError(fault.status, SERVER_ERRORS.get(fault.status, fault.message)))
