"""A fault that never found what it needs is reported, so a test does not pass vacuously (issue 25): a `page`
rule aimed beyond the walk, and `loop_next` or `duplicates` aimed at a last page (they rewrite the next link,
and a last page has none). `GET /_admin/faults` (the plugin's `fault_report()`) says why under
`never_reached`, by fault kind."""

import requests

from tests.mockpayer.test_faults import PATIENT, _get, _link, _set_faults, _walk


def report(payer) -> dict:
    return requests.get(f"{payer.url}/_admin/faults", timeout=10).json()["demoplan"]


def test_a_page_rule_beyond_the_walk_is_never_reached(payer):
    token = payer.tokens()["access_token"]
    last = len(_walk(payer, token))
    _set_faults(payer, server_error={"page": last + 5}, loop_next={"page": 1, "times": 1})
    assert report(payer)["never_reached"] == {}  # nothing asked since: nothing to say
    pages = _walk(payer, token)
    assert len(pages) == last + 1  # page 1's next led back to page 1 once
    shown = report(payer)
    assert shown["hits"] == {"server_error": 0, "loop_next": 1}
    assert shown["never_reached"] == {
        "server_error": f"no request reached searchset page {last + 5} (the deepest served: page {last})"}


def test_loop_next_or_duplicates_on_the_last_page_are_never_reached(payer):
    """A last page has no next link to loop or shift, so the walk ends as if no fault were set; the report says
    so instead of staying silent."""
    token = payer.tokens()["access_token"]
    last = len(_walk(payer, token))
    _set_faults(payer, loop_next={"page": last}, duplicates={"page": last, "entries": 2})
    pages = _walk(payer, token)
    assert len(pages) == last and _link(pages[-1], "next") is None
    assert report(payer)["never_reached"] == {
        "loop_next": f"page {last} was served only as the last page of its search: loop_next rewrites the next "
                     "link, so it needs one",
        "duplicates": f"page {last} was served only as the last page of its search: duplicates rewrites the next "
                      "link, so it needs one",
    }


def test_reshaping_without_a_page_needs_a_search_with_a_next_link(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, duplicates={})
    assert _get(payer, PATIENT, token).status_code == 200  # a read: no searchset at all
    assert _get(payer, "Coverage", token).status_code == 200  # one page, no next
    assert report(payer)["never_reached"] == {
        "duplicates": "no searchset page with a next link was served: duplicates rewrites the next link, so it "
                      "needs one"}
    _walk(payer, token)
    assert report(payer)["never_reached"] == {} and report(payer)["hits"]["duplicates"] > 0


def test_a_rule_that_reached_its_page_is_not_reported_even_if_other_conditions_held_it_back(payer):
    """`never_reached` is about the walk, not the rule's other conditions: page 2 was served, `from` 99 kept
    the rule quiet, and that is the test's own choice."""
    token = payer.tokens()["access_token"]
    _set_faults(payer, server_error={"page": 2, "from": 99})
    _walk(payer, token)
    shown = report(payer)
    assert shown["hits"] == {"server_error": 0} and shown["never_reached"] == {}


def test_a_reset_forgets_what_was_reached(payer):
    token = payer.tokens()["access_token"]
    _set_faults(payer, loop_next={"page": 7})
    _walk(payer, token)
    assert "loop_next" in report(payer)["never_reached"]
    assert requests.post(f"{payer.url}/_admin/reset", json={"system_id": "demoplan"}, timeout=10).status_code == 200
    assert report(payer)["never_reached"] == {}


def test_the_plugin_fault_report_says_never_reached(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.faults("demoplan", loop_next={"page": 50})
    url, pages = f"{mock_payer.plans['demoplan'].fhir_base}/ExplanationOfBenefit?_count=5", 0
    while url:
        url, pages = _link(requests.get(url, headers=tokens.headers, timeout=10).json(), "next"), pages + 1
    assert mock_payer.fault_report()["demoplan"]["never_reached"] == {
        "loop_next": f"no request reached searchset page 50 (the deepest served: page {pages})"}
    assert mock_payer.fault_report()["smartplan"]["never_reached"] == {}
