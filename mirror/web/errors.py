"""So that a patient who hits an error stays on the site with a way home.

The patient pages' errors as pages of the site, in plain words and with a way home, instead of the bare
server page a browser would otherwise show. (The FHIR API under /fhir answers its errors as OperationOutcomes.)"""

from __future__ import annotations

from flask import Response, render_template
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException

from mirror.web.pages import page_headers

HEADINGS = {
    404: ("There is no page here", "The address may be mistyped, or the record is not in this copy."),
    405: ("These pages only show records", "They cannot be changed from a browser."),
    413: ("That was too much to send", "These pages take no uploads."),
    503: ("The mirror's store cannot be read", "The terminal running the mirror says why and what to do."),
}
OTHER = ("Something went wrong", "This page could not be shown. The terminal running the mirror may say more.")


def error_page(status: int, error: HTTPException | None = None) -> Response:
    """The page for `status`; an HTTP error's own headers (a 405's Allow) go with it.

    A request refused before it could be routed (a Host this mirror does not answer) gets the bare error: no
    page of the site can be built for a host it refuses."""
    if request_ctx.url_adapter is None:
        return error.get_response() if error is not None else Response(status=status)
    heading, advice = HEADINGS.get(status, OTHER)
    response = Response(render_template("web/error.html", heading=heading, advice=advice, status=status), status)
    for name, value in error.get_headers() if error is not None else ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return page_headers(response)
