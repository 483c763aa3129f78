"""The sync's pure parts: retry waits (SY-1, SY-2), page checks (IN-J3), paging guards (SY-5), what to
fetch from a CapabilityStatement (CL-6, SY-8), the report's status and exit codes (SY-6), the next page's
request made ahead."""

import threading
from email.utils import formatdate

import orjson
import pytest
from requests.structures import CaseInsensitiveDict

from mirror.sync.fetch_ahead import FetchAhead
from mirror.sync.http import Answer, FetchFailed, display_url, is_on_base
from mirror.sync.pages import BadPage, Page, PagingGuard, PagingStopped, read_resource, read_searchset
from mirror.sync.report import COMPLETE, FAILED, PARTIAL, PlanReport, SyncReport
from mirror.sync.retry import RetryPolicy, WaitTooLong, retry_after_seconds
from mirror.sync.targets import EVERYTHING, sync_targets
from tests.example_data import example_folder

NOW = 1_800_000_000.0
UPPER = lambda low, high: high  # noqa: E731 - the jitter draw at its bound, so waits are exact
BASE = "https://api.example.org/r4"


# retry waits ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), (" 0 ", 0.0), (formatdate(NOW + 42, usegmt=True), 42.0), (formatdate(NOW - 10, usegmt=True), 0.0),
    ("soon", None), ("-3", None), ("1.5", None), (None, None), ("Sun, 06 Nov 1994 08:49:37", None),
])
def test_retry_after_takes_seconds_or_an_http_date(value, seconds):
    """SY-1: Retry-After is delta-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else is ignored."""
    assert retry_after_seconds(value, NOW) == seconds


def test_rate_limited_waits_what_retry_after_asks():
    """SY-1: 429 and 503 wait the Retry-After, in either form."""
    policy = RetryPolicy()
    assert policy.wait_before_retry(0, 429, "12", NOW, UPPER) == 12.0
    assert policy.wait_before_retry(3, 503, formatdate(NOW + 90, usegmt=True), NOW, UPPER) == 90.0


def test_retry_after_beyond_the_cap_gives_up_at_once():
    """SY-1: a wait longer than the cap is not shortened into a retry that would be refused again."""
    with pytest.raises(WaitTooLong, match="asked to wait 3600 s, more than the 300 s"):
        RetryPolicy(retry_after_cap=300).wait_before_retry(0, 429, "3600", NOW, UPPER)


def test_backoff_is_exponential_with_full_jitter_and_capped():
    """SY-1, SY-2: without Retry-After, U(0, min(max, base * 2^attempt)); 500/502/504 the same."""
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.wait_before_retry(n, 500, None, NOW, UPPER) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.wait_before_retry(2, 429, "not a number", NOW, UPPER) == 2.0
    draws = []
    policy.wait_before_retry(2, None, None, NOW, lambda low, high: draws.append((low, high)) or low)
    assert draws == [(0.0, 2.0)]


@pytest.mark.parametrize("status, retried", [(429, True), (503, True), (500, True), (502, True), (504, True),
                                             (400, False), (403, False), (404, False), (410, False)])
def test_which_statuses_are_retried(status, retried):
    """SY-2: 5xx and rate limits are retried; other 4xx never are."""
    assert RetryPolicy().is_retryable_status(status) is retried


# what goes out in messages -------------------------------------------------------------------------------


def test_urls_in_messages_never_carry_a_token():
    shown = display_url(f"{BASE}/Patient?access_token=SECRET&_count=10&code=abc")
    assert "SECRET" not in shown and "abc" not in shown and "_count=10" in shown


@pytest.mark.parametrize("url, on_base", [
    (f"{BASE}/Patient/1", True), (f"{BASE}?x=1", True), ("https://API.example.org/r4/Coverage", True),
    ("https://api.example.org/r4x/Patient", False), ("http://api.example.org/r4/Patient", False),
    ("https://evil.example/r4/Patient", False), ("https://api.example.org:8443/r4/Patient", False),
])
def test_only_urls_under_the_plan_base_are_followed(url, on_base):
    """The token goes only to the plan's own FHIR base, whatever a next link or reference says."""
    assert is_on_base(url, BASE) is on_base


# page checks -----------------------------------------------------------------------------------------------


def _answer(body, content_type="application/fhir+json", url=f"{BASE}/Coverage?patient=1") -> Answer:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Answer(url, 200, CaseInsensitiveDict({"Content-Type": content_type}), data)


def _bundle(*resources, links=(), kind="searchset") -> dict:
    return {"resourceType": "Bundle", "type": kind, "link": list(links),
            "entry": [{"fullUrl": f"{BASE}/x", "resource": resource} for resource in resources]}


def test_a_page_keeps_each_resource_text_as_sent():
    text = b'{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"' + BASE.encode() + \
           b'/Coverage?page=2"}],"entry":[{"resource": {"resourceType": "Coverage", "id": "c1", "x": 1.50}}]}'
    page = read_searchset(_answer(text))
    assert [resource.text for resource in page.resources] == ['{"resourceType": "Coverage", "id": "c1", "x": 1.50}']
    assert page.next_url == f"{BASE}/Coverage?page=2"


def test_outcome_entries_and_entries_without_a_resource_are_not_records():
    bundle = _bundle({"resourceType": "Coverage", "id": "c1"})
    bundle["entry"] += [{"fullUrl": "urn:x"},
                        {"search": {"mode": "outcome"}, "resource": {"resourceType": "OperationOutcome"}}]
    assert [resource.id for resource in read_searchset(_answer(bundle)).resources] == ["c1"]


@pytest.mark.parametrize("body, content_type, problem", [
    (b"<html>gateway</html>", "text/html", "text/html, not FHIR JSON"),
    (b'{"resourceType": "Bundle", "type": "searchset", "entry": [', "application/json", "not a JSON object"),
    (b"[1, 2]", "application/fhir+json", "not a JSON object"),
    (b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Coverage", '
     b'"id": "c1", "x": NaN}}]}', "application/fhir+json", "NaN is not a JSON value"),
    (b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Coverage", '
     b'"id": "c1", "x": 1e400}}]}', "application/fhir+json", "the number 1e400 is too large for a double"),
    (b"\xff\xfe{}", "application/fhir+json", "not UTF-8"),
    (orjson.dumps({"resourceType": "OperationOutcome"}), "application/fhir+json", "a OperationOutcome, not a Bundle"),
    (orjson.dumps(_bundle(kind="collection")), "application/fhir+json", "not a searchset"),
    (orjson.dumps(_bundle({"resourceType": "Coverage"})), "application/fhir+json", "entry 1 (Coverage) has no valid FHIR id"),
    (orjson.dumps(_bundle({"resourceType": "Coverage", "id": "../x"})), "application/fhir+json", "no valid FHIR id"),
    (orjson.dumps(_bundle({"id": "1"})), "application/fhir+json", "entry 1 has no valid resourceType"),
    (orjson.dumps({**_bundle(), "entry": {"a": 1}}), "application/fhir+json", "entry is not a list"),
])
def test_a_bad_page_is_refused_whole(body, content_type, problem):
    """IN-J3: not JSON, not a searchset Bundle, resources without a valid id: the page fails, nothing of it kept."""
    with pytest.raises(BadPage, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read_searchset(_answer(body, content_type))


def test_a_read_must_return_the_resource_asked_for():
    answer = _answer({"resourceType": "Organization", "id": "o2"}, url=f"{BASE}/Organization/o1")
    with pytest.raises(BadPage, match="asked for Organization/o1, got Organization/o2"):
        read_resource(answer, "Organization", "o1")
    assert read_resource(answer, "Organization", "o2").text == '{"resourceType":"Organization","id":"o2"}'


# paging guards ---------------------------------------------------------------------------------------------


def _page(url, next_url, self_url=None) -> Page:
    return Page(url, [], next_url, self_url or url)


def test_paging_follows_next_until_it_is_absent():
    guard = PagingGuard(f"{BASE}/p1")
    assert guard.next_url(_page(f"{BASE}/p1", f"{BASE}/p2")) == f"{BASE}/p2"
    assert guard.next_url(_page(f"{BASE}/p2", None)) is None


@pytest.mark.parametrize("pages", [
    [(f"{BASE}/p1", f"{BASE}/p1", None)],  # next == the URL fetched
    [(f"{BASE}/p1", f"{BASE}/p1?_count=10", f"{BASE}/p1?_count=10")],  # next == self
    [(f"{BASE}/p1", f"{BASE}/p2", None), (f"{BASE}/p2", f"{BASE}/p1", None)],  # back to page 1
])
def test_paging_stops_when_next_loops(pages):
    """SY-5: a repeated URL or next == self stops the walk."""
    guard = PagingGuard(f"{BASE}/p1")
    with pytest.raises(PagingStopped, match="leads back to a page already fetched"):
        for url, next_url, self_url in pages:
            guard.next_url(_page(url, next_url, self_url))


def test_paging_stops_at_the_page_limit():
    """SY-5, IN-J4: a plan that pages on without end is cut off at max_pages."""
    guard = PagingGuard(f"{BASE}/p0", max_pages=3)
    guard.next_url(_page(f"{BASE}/p0", f"{BASE}/p1"))
    guard.next_url(_page(f"{BASE}/p1", f"{BASE}/p2"))
    with pytest.raises(PagingStopped, match="more than 3 pages"):
        guard.next_url(_page(f"{BASE}/p2", f"{BASE}/p3"))


# what to fetch ---------------------------------------------------------------------------------------------


def _statement(*resources, everything=False) -> dict:
    entries = []
    for resource_type, parameters in resources:
        entry = {"type": resource_type, "searchParam": [{"name": name, "type": "token"} for name in parameters]}
        if everything and resource_type == "Patient":
            entry["operation"] = [{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
        entries.append(entry)
    return {"resourceType": "CapabilityStatement", "rest": [{"mode": "server", "resource": entries}]}


STATEMENT = _statement(("Patient", ["_id", "_lastUpdated"]), ("Coverage", ["beneficiary"]),
                       ("ExplanationOfBenefit", ["patient", "_lastUpdated"]), ("Organization", ["name"]),
                       ("Provenance", ["target"]), ("Device", ["patient"]), everything=True)


def test_everything_when_offered_and_a_search_per_type_as_the_fallback():
    targets = sync_targets(STATEMENT, base=BASE, patient_id="m1", scope="patient/*.read", page_size=50)
    assert targets.everything.key == EVERYTHING
    assert targets.everything.url == f"{BASE}/Patient/m1/$everything?_count=50"
    urls = {stream.key: stream.url for stream in targets.by_type}
    assert urls == {
        "Patient": f"{BASE}/Patient?_id=m1&_count=50",
        "Coverage": f"{BASE}/Coverage?beneficiary=m1&_count=50",  # BB2's Coverage: beneficiary only
        "ExplanationOfBenefit": f"{BASE}/ExplanationOfBenefit?patient=m1&_count=50",
        "Device": f"{BASE}/Device?patient=m1&_count=50",
    }  # Organization arrives by reference; Provenance has no search by patient
    assert [(skip.resource_type, skip.reason) for skip in targets.skipped] == [
        ("Provenance", "the plan offers no search by patient")]


def test_types_outside_the_granted_scope_are_skipped_without_a_request():
    """CL-6: a narrower grant skips the other types and says so."""
    targets = sync_targets(STATEMENT, base=BASE, patient_id="m1", page_size=10,
                           scope="patient/ExplanationOfBenefit.read patient/Coverage.rs launch/patient")
    assert targets.everything is None  # $everything needs Patient
    assert [stream.key for stream in targets.by_type] == ["Coverage", "ExplanationOfBenefit"]
    assert {skip.resource_type for skip in targets.skipped} == {"Device", "Organization", "Patient", "Provenance"}
    assert all(skip.reason == "not in the granted scope" for skip in targets.skipped if skip.resource_type != "Provenance")


def test_incremental_filters_follow_what_the_plan_declares():
    targets = sync_targets(STATEMENT, base=BASE, patient_id="m1", scope="patient/*.read", page_size=10)
    streams = {stream.key: stream for stream in targets.by_type}
    assert targets.everything.changed_since_url("2026-01-02T03:04:05Z").endswith("&_since=2026-01-02T03%3A04%3A05Z")
    assert streams["ExplanationOfBenefit"].changed_since_url("2026-01-02T03:04:05Z").endswith(
        "&_lastUpdated=gt2026-01-02T03%3A04%3A05Z")
    assert streams["Coverage"].since is None  # no _lastUpdated declared: walked whole every time


def test_a_plan_without_a_capability_statement_gets_the_usual_payer_types():
    targets = sync_targets(None, base=BASE, patient_id="m1", scope="patient/*.read", page_size=10)
    assert targets.everything is None
    urls = {stream.key: stream.url for stream in targets.by_type}
    assert urls["Coverage"] == f"{BASE}/Coverage?beneficiary=m1&_count=10"
    assert urls["ExplanationOfBenefit"] == f"{BASE}/ExplanationOfBenefit?patient=m1&_count=10"


# the report ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcomes, status, code", [
    ([COMPLETE, COMPLETE], COMPLETE, 0), ([], COMPLETE, 0), ([COMPLETE, PARTIAL], PARTIAL, 3),
    ([COMPLETE, FAILED], PARTIAL, 3), ([FAILED, FAILED], FAILED, 4),
])
def test_exit_status_is_zero_only_for_a_complete_sync(outcomes, status, code):
    """SY-6: no silent partial success."""
    report = SyncReport([PlanReport(f"p{n}", status=outcome) for n, outcome in enumerate(outcomes)])
    assert (report.status, report.exit_code) == (status, code)


# references read from the text --------------------------------------------------------------------------

TRICKY = ('{"resourceType":"ExplanationOfBenefit","id":"e1","text":{"div":"see \\"reference\\": \\"Patient/x\\""},'
          '"patient":{"reference":"Patient/p1"},"related":[{"reference":{"value":"claim-9"}}],'
          '"contained":[{"resourceType":"Organization","id":"o","partOf":{"reference":"Organization/\\u00e9t\\/a"}}],'
          '"provider" : { "reference" : "#o" }, "note":[{"text":"a \\\\"}],"insurer":{"reference":"Organization/i1"}}')


def test_references_read_from_text_are_those_of_the_parsed_resource():
    """The engine reads references from each resource's text; it must find exactly iter_references' strings."""
    from mirror.fhir.raw_json import parse_keeping_entry_texts, references_in_text
    from mirror.fhir.references import iter_references
    from mockpayer.plans import BUNDLED_PLANS_DIR

    texts = [TRICKY]
    for path in sorted(BUNDLED_PLANS_DIR.glob("*/data/*.json")):
        texts.extend(text for text in parse_keeping_entry_texts(path.read_text(encoding="utf-8")).entry_texts if text)
    texts.extend(path.read_text(encoding="utf-8") for folder in ("carin-bb-2.0.0", "us-core-6.1.0")
                 for path in sorted(example_folder(folder).glob("*.json")))
    assert len(texts) > 300
    for text in texts:
        assert sorted(references_in_text(text)) == sorted(iter_references(orjson.loads(text)))
    assert sorted(references_in_text(TRICKY)) == ["#o", "Organization/i1", "Organization/ét/a", "Patient/p1"]


# ----- the next page's request, ahead (fetch_ahead.py)

def test_a_fetch_ahead_hands_over_the_answer_or_the_error_in_the_engines_thread():
    answer = Answer("https://plan.example/fhir/Claim?page=2", 200, CaseInsensitiveDict(), b"{}")
    assert FetchAhead(lambda url: answer, answer.url).answer() is answer

    def refused(url):
        raise FetchFailed(url, "HTTP 500 after 3 attempts", 500)

    with pytest.raises(FetchFailed, match="HTTP 500 after 3 attempts"):
        FetchAhead(refused, "https://plan.example/fhir/Claim?page=3").answer()


def test_settling_a_fetch_ahead_waits_for_its_request_on_a_daemon_thread():
    """A request nobody wants any more is let finish before the next one goes (one request at a time), on a
    thread that does not hold the process open when the sync is interrupted."""
    release, finished = threading.Event(), []

    def slow(url):
        release.wait(10)
        finished.append(url)
        raise FetchFailed(url, "cut off")

    ahead = FetchAhead(slow, "https://plan.example/fhir/Claim?page=2")
    running = [thread for thread in threading.enumerate() if thread.name == "mirror-fetch-ahead"]
    assert running and all(thread.daemon for thread in running)
    threading.Timer(0.05, release.set).start()
    ahead.settle()  # its error is not the engine's concern any more
    assert finished == ["https://plan.example/fhir/Claim?page=2"]
