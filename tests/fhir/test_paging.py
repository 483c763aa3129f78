from urllib.parse import parse_qsl, urlsplit

import pytest

from mirror.fhir.paging import PageTokenError, page_links, page_offset, page_token
from mirror.fhir.search import PAGE_TOKEN, SearchError, parse_search

BASE = "http://127.0.0.1:8080/r4/ExplanationOfBenefit"


def parse(pairs):
    return parse_search("ExplanationOfBenefit", pairs, default_count=10, max_count=50)


def links_by_relation(links):
    return {link["relation"]: link["url"] for link in links}


def test_a_token_round_trips_only_for_its_own_query():
    params = parse([("patient", "1"), ("_count", "5")]).self_params
    token = page_token(15, params)
    assert page_offset(token, params) == 15
    assert page_offset(None, params) == 0
    other = parse([("patient", "2"), ("_count", "5")]).self_params
    with pytest.raises(PageTokenError, match="different search"):
        page_offset(token, other)


@pytest.mark.parametrize("token", ["", "!!!", "x" * 200, "bm90LWEtdG9rZW4", "LTEuYWJj", "é"])
def test_malformed_tokens_are_search_errors(token):
    with pytest.raises(SearchError):
        page_offset(token, ())


def test_links_for_first_middle_and_last_pages():
    params = (("patient", "Patient/1"), ("_count", "2"))
    first = links_by_relation(page_links(BASE, params, 0, 2, 5))
    assert set(first) == {"self", "next"}
    assert first["self"] == f"{BASE}?patient=Patient%2F1&_count=2"
    middle = links_by_relation(page_links(BASE, params, 2, 2, 5))
    assert set(middle) == {"self", "next", "previous"}
    assert middle["previous"] == first["self"]
    last = links_by_relation(page_links(BASE, params, 4, 2, 5))
    assert set(last) == {"self", "previous"}
    assert links_by_relation(page_links(BASE, params, 0, 0, 5)) == {"self": first["self"]}  # _count=0: no pages


def test_walking_next_links_visits_every_offset_once():
    # API-4: a client following only `next` sees each resource exactly once
    search = parse([("patient", "1"), ("_count", "3")])
    total, seen, url = 10, [], None
    offset = 0
    while True:
        seen.extend(range(offset, min(offset + search.count, total)))
        url = links_by_relation(page_links(BASE, search.self_params, offset, search.count, total)).get("next")
        if url is None:
            break
        assert urlsplit(url).geturl().startswith(BASE + "?")
        search = parse(parse_qsl(urlsplit(url).query))  # what the server does with the next request
        offset = page_offset(search.page_token, search.self_params)
    assert seen == list(range(total))


def test_a_token_carries_no_query_text():
    params = parse([("identifier", "secret-member-number"), ("_count", "5")]).self_params
    assert "secret" not in page_token(5, params)
    assert PAGE_TOKEN not in dict(params)
