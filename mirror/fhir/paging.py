"""Paging a searchset (https://hl7.org/fhir/R4/http.html#paging).

Opaque page tokens and the self/next/previous links built from them.

A token encodes the offset of a page and a digest of the search's canonical self parameters, so a token
copied onto a different query is refused rather than silently paging through the wrong results. Tokens are
not secret and not signed: the offset they carry gives nothing a client could not get by paging, and the
digest only guards against mix-ups. Clients must treat `next` as opaque (SY-5), and real payers use cursors
of every shape, so nothing outside this module reads a token.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlencode

from mirror.fhir.search import PAGE_TOKEN, SearchError

_DIGEST_CHARS = 16
_LONGEST_TOKEN = 64
_LONGEST_OFFSET = 9


class PageTokenError(SearchError):
    """A page token that is malformed or belongs to another query."""


def page_token(offset: int, self_params: Sequence[tuple[str, str]]) -> str:
    """The opaque token for the page starting at `offset` of the search with these self parameters."""
    raw = f"{offset}.{_query_digest(self_params)}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def page_offset(token: str | None, self_params: Sequence[tuple[str, str]]) -> int:
    """The offset a token points at (0 without a token); PageTokenError if it is not this query's."""
    if token is None:
        return 0
    if len(token) > _LONGEST_TOKEN or not token.isascii():
        raise PageTokenError("invalid page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise PageTokenError("invalid page token") from None
    offset_text, _, digest = raw.partition(".")
    if not (offset_text.isdigit() and len(offset_text) <= _LONGEST_OFFSET):
        raise PageTokenError("invalid page token")
    if not hmac.compare_digest(digest, _query_digest(self_params)):
        raise PageTokenError("page token belongs to a different search")
    return int(offset_text)


def page_links(
    base_url: str, self_params: Sequence[tuple[str, str]], offset: int, count: int, total: int
) -> list[dict]:
    """Bundle.link entries for one page: `self` always, `next` and `previous` when those pages exist.

    `base_url` is the absolute search URL without a query (`https://host/r4/ExplanationOfBenefit`), built by
    the caller from the request's own host so clients that compare bases (fhirpy) accept the links.
    """
    links = [{"relation": "self", "url": _page_url(base_url, self_params, offset)}]
    if count > 0 and offset + count < total:
        links.append({"relation": "next", "url": _page_url(base_url, self_params, offset + count)})
    if count > 0 and offset > 0:
        links.append({"relation": "previous", "url": _page_url(base_url, self_params, max(offset - count, 0))})
    return links


def _page_url(base_url: str, self_params: Sequence[tuple[str, str]], offset: int) -> str:
    params = list(self_params)
    if offset:
        params.append((PAGE_TOKEN, page_token(offset, self_params)))
    return f"{base_url}?{urlencode(params)}" if params else base_url


def _query_digest(self_params: Sequence[tuple[str, str]]) -> str:
    return hashlib.sha256(urlencode(list(self_params)).encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
