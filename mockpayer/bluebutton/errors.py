"""So that Blue Button clients get errors in Blue Button's own shape.

Blue Button's error answers: JSON `{"detail": "..."}` with the status its API gives (the shape of Django REST
framework, which Blue Button is built on), for bad parameters (400), a missing or bad token (401), a scope that
does not reach (403), an unknown resource (404), a method it does not take (405) and a format it does not serve
(406). Its OAuth endpoints answer RFC 6749 JSON, as every plan's do."""

from __future__ import annotations

from flask import jsonify

NOT_AUTHENTICATED = "Authentication credentials were not provided."
FORBIDDEN = "You do not have permission to perform this action."
NOT_FOUND = "The requested resource does not exist"
NOT_ACCEPTABLE = "Could not satisfy the request Accept header."
# What Blue Button says when its data server (BFD) refused a query, before BFD's own diagnostics.
UPSTREAM = "An error occurred contacting the upstream server"


class BlueButtonError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def upstream_refusal(diagnostics: str) -> BlueButtonError:
    """A query Blue Button passes on and its data server refuses: 400, BFD's diagnostics after Blue Button's words."""
    return BlueButtonError(400, f"{UPSTREAM}:{diagnostics}")


def error_response(error: BlueButtonError):
    response = jsonify(detail=error.detail)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response
