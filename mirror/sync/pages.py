"""What a payer's answer must be before anything of it is stored (IN-J3, SY-5, SY-6).

A search page must be JSON (`application/fhir+json` or `application/json`), a Bundle of type `searchset`,
and every resource in it must have a resource type and a valid FHIR id; otherwise the whole page is
refused with a BadPage that says why, and none of it is stored; a body that does not parse at all (as a
truncated one) is an Unparsable BadPage, which the client asks for again (http.Garbled). Each resource keeps the exact text the
payer sent (DESIGN: raw JSON is the truth), cut from the page while it is parsed once.

Paging follows only `link[next]`, an opaque URL (SY-5); PagingGuard stops a walk whose next link repeats a
page already fetched, equals the page's own `self` link, or goes past the page limit. `total` is never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin

import orjson

from mirror.fhir.bundles import link_url
from mirror.fhir.ids import is_resource_type_name, is_valid_id
from mirror.fhir.raw_json import ParsedDocument, RawJsonError, parse_keeping_entry_texts
from mirror.sync.http import JSON_TYPES, Answer, Garbled, display_url
from mirror.sync.options import MAX_PAGES



class BadPage(ValueError):
    """An answer that is not what the request asked for; the message says what is wrong, without data."""


class Unparsable(BadPage, Garbled):
    """A body that is not JSON (or not UTF-8) at all, as a truncated one is: the client asks for it again."""


class PagingStopped(Exception):
    """The plan's paging went round in circles or on without end; what came before stays stored."""


@dataclass(frozen=True)
class ReceivedResource:
    resource_type: str
    id: str
    text: str  # exactly as the payer sent it
    parsed: dict


@dataclass(frozen=True)
class Page:
    url: str
    resources: list[ReceivedResource]
    next_url: str | None
    self_url: str | None


def read_searchset(answer: Answer) -> Page:
    """So that a page the sync cannot take as sent is refused with its URL named.

    The resources and links of one searchset page; BadPage, naming the URL, when any of it cannot be taken
    as sent (Unparsable, left to the client to name, when it does not parse)."""
    with _naming(answer.url):
        return _searchset(answer)


def read_resource(answer: Answer, resource_type: str, resource_id: str) -> ReceivedResource:
    """The resource a read of `resource_type/resource_id` returned, checked to be that very resource."""
    with _naming(answer.url):
        return _resource(answer, resource_type, resource_id)


class PagingGuard:
    """Loop guards for one walk through a search's pages (SY-5)."""

    def __init__(self, first_url: str, max_pages: int = MAX_PAGES):
        self.max_pages = max_pages
        self.fetched = {first_url}

    def next_url(self, page: Page) -> str | None:
        """The page to fetch after `page`, None at the end; PagingStopped when following it would loop."""
        following = page.next_url
        if following is None:
            return None
        if following == page.self_url or following in self.fetched:
            raise PagingStopped(f"the next link of {display_url(page.url)} leads back to a page already fetched; paging stopped")
        if len(self.fetched) >= self.max_pages:
            raise PagingStopped(f"more than {self.max_pages} pages; paging stopped")
        self.fetched.add(following)
        return following


def _searchset(answer: Answer) -> Page:
    parsed = _parse_document(answer)
    document = parsed.document
    kind = document.get("resourceType")
    if kind != "Bundle":
        raise BadPage(f"the answer is {_a(kind)}, not a Bundle")
    if document.get("type") != "searchset":
        raise BadPage(f"the answer is a Bundle of type {str(document.get('type'))[:40]!r}, not a searchset")
    entries = document.get("entry", [])
    if not isinstance(entries, list):
        raise BadPage("the Bundle's entry is not a list")
    resources = []
    for number, (entry, text) in enumerate(zip(entries, parsed.entry_texts, strict=False), start=1):
        if not isinstance(entry, dict):
            raise BadPage(f"entry {number} is not an object")
        search = entry.get("search") if isinstance(entry.get("search"), dict) else {}
        if text is None or search.get("mode") == "outcome":
            continue  # no resource, or the server's remarks about the search: not the member's records
        resources.append(_checked(entry["resource"], text, f"entry {number}"))
    return Page(answer.url, resources, _link(document, "next", answer.url), _link(document, "self", answer.url))


def _resource(answer: Answer, resource_type: str, resource_id: str) -> ReceivedResource:
    text = _decode(answer)
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Unparsable("the answer is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadPage("the answer is JSON but not an object")
    received = _checked(parsed, text, "the answer")
    if (received.resource_type, received.id) != (resource_type, resource_id):
        raise BadPage(f"asked for {resource_type}/{resource_id}, got {received.resource_type}/{received.id}")
    return received


@contextmanager
def _naming(url: str) -> Iterator[None]:
    try:
        yield
    except Unparsable:
        raise  # retried by the client, which names the URL when it gives up
    except BadPage as problem:
        raise BadPage(f"{display_url(url)}: {problem}") from None


def _parse_document(answer: Answer) -> ParsedDocument:
    try:
        return parse_keeping_entry_texts(_decode(answer))
    except RawJsonError as error:
        raise Unparsable(f"the answer is not a JSON object ({error})") from None


def _decode(answer: Answer) -> str:
    media_type = (answer.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media_type and media_type not in JSON_TYPES:
        raise BadPage(f"the answer is {media_type[:60]}, not FHIR JSON")
    try:
        return answer.body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unparsable("the answer is not UTF-8 text") from None


def _checked(resource: object, text: str, where: str) -> ReceivedResource:
    if not isinstance(resource, dict):
        raise BadPage(f"{where} holds no resource object")
    resource_type, resource_id = resource.get("resourceType"), resource.get("id")
    if not is_resource_type_name(resource_type):
        raise BadPage(f"{where} has no valid resourceType")
    if not is_valid_id(resource_id):
        raise BadPage(f"{where} ({resource_type}) has no valid FHIR id")
    return ReceivedResource(resource_type, resource_id, text, resource)


def _link(bundle: dict, relation: str, page_url: str) -> str | None:
    """A link of the page, made absolute against the page's URL (a few servers send relative ones)."""
    url = link_url(bundle, relation)
    return urljoin(page_url, url) if url else None


def _a(kind: object) -> str:
    return f"a {kind[:64]}" if isinstance(kind, str) and kind else "JSON without a resourceType"
