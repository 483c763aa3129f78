"""The sync client against canned payer answers (pytest-httpserver): retry timing with an injected clock and
sleep (SY-1, SY-2, SY-3), token refresh (SY-4, RT-4), body caps (IN-J4), and the engine's handling of odd
servers: bad pages (IN-J3, SY-6), looping next links (SY-5), unsupported types (CL-6), references."""

import gc
import json
import re
import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate

import orjson
import pytest
from werkzeug import Response

from mirror.oauth import ConnectError, Connection, ReconnectNeeded, Token, load_connection, save_connection
from mirror.plans import Endpoints, PlanConfig
from mirror.store import Store
from mirror.sync.engine import sync_plan
from mirror.sync.fetch_ahead import FetchAhead
from mirror.sync.options import SyncOptions
from mirror.sync.http import FetchFailed, PayerClient, Refused, RequestBudget
from mirror.sync.status import plan_statuses

NOW = time.time()
UPPER = lambda low, high: high  # noqa: E731 - full jitter at its bound, so the waits are exact
SCOPE = "patient/*.read launch/patient offline_access"
FHIR = "application/fhir+json"


class CannedPlan:
    """A plan whose every answer a test writes: `routes[path] = handler(request) -> Response`."""

    def __init__(self, httpserver, data_dir):
        self.server = httpserver
        self.data_dir = data_dir
        self.base = httpserver.url_for("/fhir")
        self.routes = {}
        self.seen = []  # (path, query string, Authorization header) of every request, in order
        self.sleeps = []
        self.token_requests = 0
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self._dispatch)
        self.routes["/token"] = self._token
        self.refresh_answers = [{"access_token": "access-2", "token_type": "Bearer", "expires_in": 3600,
                                 "refresh_token": "refresh-2", "scope": SCOPE}]
        self.connect()

    def connect(self, expires_at=NOW + 3600, scope=SCOPE, patient="p1", access="access-1", refresh="refresh-1"):
        plan = PlanConfig("canned", Endpoints(self.base, self.server.url_for("/authorize"),
                                              self.server.url_for("/token")), "client-id", scope)
        token = Token(access, "Bearer", int(expires_at), scope, patient, refresh)
        save_connection(self.data_dir, Connection(plan, token, datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def client(self, **changes) -> PayerClient:
        options = {"sleep": self.sleeps.append, "uniform": UPPER, "now": lambda: NOW, "timeouts": (2.0, 2.0), **changes}
        return PayerClient(self.data_dir, load_connection(self.data_dir, "canned"), **options)

    def sync(self, client=None, **options):
        with Store(self.data_dir, commit_interval=0) as store:
            return sync_plan(store, client or self.client(), SyncOptions(**options))

    def held(self) -> dict:
        with Store(self.data_dir, read_only=True) as store:
            return {(kind, stored.id): stored.text for kind in store.counts("canned")
                    for stored in store.search(kind, source="canned")}

    def _dispatch(self, request):
        self.seen.append((request.path, request.query_string.decode(), request.headers.get("Authorization")))
        handler = self.routes.get(request.path)
        if handler is None:
            return outcome(404, f"no route {request.path}")
        return handler(request)

    def _token(self, request):
        self.token_requests += 1
        answer = self.refresh_answers.pop(0) if self.refresh_answers else {"error": "invalid_grant"}
        return Response(orjson.dumps(answer), status=400 if "error" in answer else 200, content_type="application/json")

    def api_requests(self):
        return [entry for entry in self.seen if entry[0].startswith("/fhir/") and entry[0] != "/fhir/metadata"]


def fhir(document, status=200, headers=None) -> Response:
    body = document if isinstance(document, (bytes, str)) else orjson.dumps(document)
    return Response(body, status=status, content_type=FHIR, headers=headers)


def outcome(status, text) -> Response:
    return fhir({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing",
                                                                 "diagnostics": text}]}, status)


def bundle(*resources, next_url=None, self_url=None) -> dict:
    links = [{"relation": "self", "url": self_url}] if self_url else []
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {"resourceType": "Bundle", "type": "searchset", "total": 999, "link": links,
            "entry": [{"fullUrl": f"x/{r.get('resourceType')}/{r.get('id')}", "resource": r} for r in resources]}


def eob(number, **extra) -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": f"e{number}", "patient": {"reference": "Patient/p1"}, **extra}


def statement(*types, everything=False) -> dict:
    resources = []
    for resource_type in types:
        entry = {"type": resource_type, "searchParam": [{"name": "patient", "type": "reference"},
                                                        {"name": "_id", "type": "token"}]}
        if everything and resource_type == "Patient":
            entry["operation"] = [{"name": "everything"}]
        resources.append(entry)
    return {"resourceType": "CapabilityStatement", "rest": [{"mode": "server", "resource": resources}]}


def sequence(*answers):
    """A handler giving these answers in turn, then the last one again."""
    remaining = list(answers)
    return lambda request: remaining.pop(0) if len(remaining) > 1 else remaining[0]


@pytest.fixture
def canned(httpserver, tmp_path):
    return CannedPlan(httpserver, tmp_path / "data")


# the client: retries, timing, caps (SY-1, SY-2, SY-3, IN-J4) ---------------------------------------------


def test_429_waits_retry_after_seconds(canned):
    """SY-1: Retry-After in seconds is waited, then the same URL is asked again."""
    canned.routes["/fhir/Patient/p1"] = sequence(fhir({}, 429, {"Retry-After": "7"}), fhir({"ok": 1}))
    answer = canned.client().get(f"{canned.base}/Patient/p1")
    assert orjson.loads(answer.body) == {"ok": 1}
    assert canned.sleeps == [7.0]
    assert [entry[0] for entry in canned.seen] == ["/fhir/Patient/p1"] * 2


def test_503_waits_until_a_retry_after_date(canned):
    """SY-1: Retry-After as an HTTP-date, measured on the injected clock."""
    canned.routes["/fhir/Patient/p1"] = sequence(fhir({}, 503, {"Retry-After": formatdate(NOW + 30, usegmt=True)}),
                                                 fhir({}))
    canned.client().get(f"{canned.base}/Patient/p1")
    assert len(canned.sleeps) == 1 and 29.0 <= canned.sleeps[0] <= 30.0  # HTTP dates have whole seconds


def test_server_errors_back_off_exponentially_then_succeed(canned):
    """SY-2: 500, 502, 504 are retried with growing (jittered) waits."""
    canned.routes["/fhir/Patient/p1"] = sequence(fhir({}, 500), fhir({}, 502), fhir({}, 504), fhir({}))
    canned.client().get(f"{canned.base}/Patient/p1")
    assert canned.sleeps == [0.5, 1.0, 2.0]


def test_retries_are_bounded_with_a_clear_error(canned):
    """SY-1, SY-2: after N attempts, one clear line naming the URL."""
    canned.routes["/fhir/Patient/p1"] = lambda request: fhir({}, 500)
    with pytest.raises(FetchFailed, match=r"/fhir/Patient/p1: HTTP 500 after 5 attempts"):
        canned.client().get(f"{canned.base}/Patient/p1")
    assert canned.sleeps == [0.5, 1.0, 2.0, 4.0]


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_other_4xx_are_not_retried(canned, status):
    """SY-2: a 4xx answer is final; the OperationOutcome's words come along."""
    canned.routes["/fhir/Coverage"] = lambda request: outcome(status, "not for you")
    with pytest.raises(Refused, match=f"HTTP {status} \\(not for you\\)") as refused:
        canned.client().get(f"{canned.base}/Coverage?patient=p1")
    assert refused.value.status == status and canned.sleeps == [] and len(canned.seen) == 1


def test_a_stalled_answer_times_out_and_is_retried(canned):
    """SY-3: every request has a read timeout; a stall counts as a failed attempt."""
    stalls = [0.6]

    def slow_once(request):
        if stalls:
            time.sleep(stalls.pop())
        return fhir({"ok": 1})

    def sleep(seconds):  # really waits here: the canned server answers one request at a time
        canned.sleeps.append(seconds)
        time.sleep(seconds)

    canned.routes["/fhir/Patient/p1"] = slow_once
    answer = canned.client(timeouts=(2.0, 0.3), sleep=sleep).get(f"{canned.base}/Patient/p1")
    assert orjson.loads(answer.body) == {"ok": 1} and canned.sleeps == [0.5]


def test_an_unreachable_plan_fails_after_its_retries(canned, closed_port):
    """SY-2: connection failures are retried, then reported without the token."""
    canned.base = f"http://127.0.0.1:{closed_port}/fhir"
    canned.connect()
    with pytest.raises(FetchFailed, match="the connection failed after 5 attempts") as failed:
        canned.client().get(f"{canned.base}/Patient/p1")
    assert "access-1" not in str(failed.value)


@pytest.mark.parametrize("streamed", [False, True])
def test_an_answer_over_the_cap_is_refused(canned, streamed):
    """IN-J4: the body is capped whether or not it declares its length."""
    body = b"{" + b" " * 5000 + b"}"
    canned.routes["/fhir/Patient/p1"] = lambda request: Response(iter([body]) if streamed else body, content_type=FHIR)
    with pytest.raises(FetchFailed, match="over the 1,000-byte cap"):
        canned.client(max_body_bytes=1000).get(f"{canned.base}/Patient/p1")
    assert canned.sleeps == []


def test_urls_off_the_plan_base_are_never_requested(canned):
    with pytest.raises(FetchFailed, match="not on the plan's FHIR base"):
        canned.client().get("http://127.0.0.1:9/elsewhere/Patient/p1")
    assert canned.seen == []


def test_request_budget_spaces_request_starts():
    """SY-9: never more than the configured requests per minute."""
    clock, sleeps = [100.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    budget = RequestBudget(120, lambda: clock[0], sleep)
    for _ in range(3):
        budget.wait_turn()
    assert sleeps == [0.5, 0.5]


# the client: the access token (SY-4, RT-4) --------------------------------------------------------------


def _accepts(token):
    return lambda request: (fhir({"ok": 1}) if request.headers.get("Authorization") == f"Bearer {token}"
                            else outcome(401, "expired"))


def test_a_401_refreshes_once_and_retries_once(canned):
    """SY-4, RT-4: the rotated refresh token is saved before the new access token is used."""
    canned.routes["/fhir/Patient/p1"] = _accepts("access-2")
    client = canned.client()
    client.get(f"{canned.base}/Patient/p1")
    assert [entry[2] for entry in canned.seen if entry[0] != "/token"] == ["Bearer access-1", "Bearer access-2"]
    assert canned.token_requests == 1
    assert load_connection(canned.data_dir, "canned").token.refresh_token == "refresh-2"


def test_a_second_401_after_refreshing_is_a_failure_not_a_loop(canned):
    canned.routes["/fhir/Patient/p1"] = _accepts("never")
    with pytest.raises(FetchFailed, match="did not accept a fresh access token"):
        canned.client().get(f"{canned.base}/Patient/p1")
    assert canned.token_requests == 1


def test_the_token_is_refreshed_before_it_expires(canned):
    """SY-4: within 60 s of expiry the token is renewed before the request, not after a 401."""
    canned.connect(expires_at=NOW + 30)
    canned.routes["/fhir/Patient/p1"] = _accepts("access-2")
    canned.client().get(f"{canned.base}/Patient/p1")
    assert [entry[2] for entry in canned.seen if entry[0] != "/token"] == ["Bearer access-2"]


def test_closing_the_client_lets_a_refresh_under_way_finish_and_starts_no_other(canned):
    """RT-4 at the end of a sync: the page fetched ahead may be refreshing the token on its own thread when the
    sync stops; the rotated refresh token is saved before close returns, and no refresh starts after it."""
    canned.connect(expires_at=NOW + 30)  # the next request refreshes first
    asked, release = threading.Event(), threading.Event()
    plain_token = canned._token

    def slow_token(request):
        asked.set()
        release.wait(10)
        return plain_token(request)

    canned.routes["/token"] = slow_token
    canned.routes["/fhir/Patient/p1"] = _accepts("access-2")
    client = canned.client()
    ahead = FetchAhead(client.get, f"{canned.base}/Patient/p1")
    assert asked.wait(10)
    threading.Timer(0.05, release.set).start()
    client.close()
    assert load_connection(canned.data_dir, "canned").token.refresh_token == "refresh-2"
    ahead.settle()
    canned.routes["/fhir/Patient/p1"] = _accepts("never")  # a 401 would refresh again
    with pytest.raises(ConnectError, match="the sync is stopping"):
        client.get(f"{canned.base}/Patient/p1")
    assert canned.token_requests == 1


def test_a_refused_refresh_needs_a_reconnect(canned):
    """SY-4: invalid_grant stops with ReconnectNeeded; the saved connection is left as it was."""
    canned.refresh_answers = []
    canned.routes["/fhir/Patient/p1"] = _accepts("access-2")
    with pytest.raises(ReconnectNeeded, match="run: mirror connect canned"):
        canned.client().get(f"{canned.base}/Patient/p1")
    assert load_connection(canned.data_dir, "canned").token.refresh_token == "refresh-1"


def test_a_failing_token_endpoint_is_retried(canned):
    """SY-4: the token endpoint's 5xx are retried like any request."""
    answers = [Response("{}", status=503), Response("{}", status=500)]
    plain_token = canned._token
    canned.routes["/token"] = lambda request: answers.pop(0) if answers else plain_token(request)
    canned.routes["/fhir/Patient/p1"] = _accepts("access-2")
    canned.client().get(f"{canned.base}/Patient/p1")
    assert canned.sleeps == [0.5, 1.0]


# the engine against odd servers ----------------------------------------------------------------------------


def _paged_eobs(canned, pages, breaker=None):
    """ExplanationOfBenefit?patient=p1 in `pages` pages of two; `breaker(number)` may replace page `number`."""
    def handler(request):
        number = int(request.args.get("page", "1"))
        if breaker is not None and (broken := breaker(number)) is not None:
            return broken
        following = f"{canned.base}/ExplanationOfBenefit?patient=p1&page={number + 1}" if number < pages else None
        return fhir(bundle(eob(2 * number - 1), eob(2 * number), next_url=following))
    canned.routes["/fhir/ExplanationOfBenefit"] = handler


def _plan_with_eobs(canned, pages=3, breaker=None):
    canned.routes["/fhir/metadata"] = lambda request: fhir(statement("Patient", "ExplanationOfBenefit"))
    canned.routes["/fhir/Patient"] = lambda request: fhir(bundle({"resourceType": "Patient", "id": "p1"}))
    _paged_eobs(canned, pages, breaker)


def test_a_page_that_is_not_json_fails_its_walk_and_the_next_sync_resumes_there(canned):
    """IN-J3, SY-6, SY-7: page 2 is garbage: partial, page 1 kept, the error names the URL; then resumed."""
    broken = [True]
    _plan_with_eobs(canned, breaker=lambda n: fhir(b"<html>oops</html>", headers=None) if n == 2 and broken[0] else None)
    report = canned.sync(use_everything=False)
    assert report.status == "partial"
    assert gc.isenabled()  # paused for each page only, the failed one too
    assert report.types["ExplanationOfBenefit"].status == "incomplete"
    assert any("ExplanationOfBenefit?patient=p1&page=2" in error and "not a JSON object" in error
               for error in report.errors)
    assert sorted(key[1] for key in canned.held() if key[0] == "ExplanationOfBenefit") == ["e1", "e2"]
    broken[0] = False
    del canned.seen[:]
    again = canned.sync(use_everything=False)
    assert again.status == "complete" and again.streams["ExplanationOfBenefit"].mode == "resumed"
    assert ("/fhir/ExplanationOfBenefit", "patient=p1&page=2", "Bearer access-1") in canned.seen
    assert ("/fhir/ExplanationOfBenefit", "patient=p1&_count=100", "Bearer access-1") not in canned.seen
    assert sorted(key[1] for key in canned.held() if key[0] == "ExplanationOfBenefit") == [f"e{n}" for n in range(1, 7)]


def test_a_full_sync_cut_short_is_finished_later_without_walking_again_what_it_finished(canned):
    """SY-7 for --full, on a plan that cannot say what changed: the next run does not walk again the search
    the full sync finished, resumes the broken one at its page, and only then tombstones what is gone."""
    _plan_with_eobs(canned, pages=3)
    assert canned.sync(use_everything=False).status == "complete"  # e1 to e6
    broken = [True]
    _plan_with_eobs(canned, pages=2, breaker=lambda n: fhir(b"<html>oops</html>") if n == 2 and broken[0] else None)
    cut_short = canned.sync(use_everything=False, full=True)
    assert cut_short.status == "partial" and not cut_short.removals_reconciled
    assert "removals were not checked, since the sync is incomplete" in cut_short.notes

    broken[0] = False
    del canned.seen[:]
    finished = canned.sync(use_everything=False)
    assert finished.status == "complete" and finished.removals_reconciled
    assert finished.streams["Patient"].mode == "finished earlier"
    assert finished.streams["ExplanationOfBenefit"].mode == "resumed"
    assert [path for path, _, _ in canned.api_requests()] == ["/fhir/ExplanationOfBenefit"]
    with Store(canned.data_dir, read_only=True) as store:
        assert {stored.id for stored in store.search("ExplanationOfBenefit", source="canned", include_removed=True)
                if stored.removed} == {"e5", "e6"}
    assert sorted(key[1] for key in canned.held()) == ["e1", "e2", "e3", "e4", "p1"]


def _plan_with_a_referenced_organization(canned, breaker=None):
    """EOBs in two pages; e1 names Organization/o1, which the references step reads."""
    canned.routes["/fhir/metadata"] = lambda request: fhir(statement("Patient", "ExplanationOfBenefit"))
    canned.routes["/fhir/Patient"] = lambda request: fhir(bundle({"resourceType": "Patient", "id": "p1"}))
    canned.routes["/fhir/Organization/o1"] = lambda request: fhir({"resourceType": "Organization", "id": "o1"})

    def eobs(request):
        number = int(request.args.get("page", "1"))
        if breaker is not None and (broken := breaker(number)) is not None:
            return broken
        following = f"{canned.base}/ExplanationOfBenefit?patient=p1&page=2" if number == 1 else None
        named = {"provider": {"reference": "Organization/o1"}} if number == 1 else {}
        return fhir(bundle(eob(2 * number - 1, **named), eob(2 * number), next_url=following))

    canned.routes["/fhir/ExplanationOfBenefit"] = eobs


def test_a_full_sync_finished_later_keeps_what_its_first_run_read_by_reference(canned):
    """What the references step read in the run cut short is in the full sync's checkpoint: the run finishing
    it neither reads it again nor takes it for gone (Organization/o1 is named only on page 1, which the
    finishing run does not fetch again)."""
    broken = [False]
    _plan_with_a_referenced_organization(canned, lambda n: fhir(b"<html>oops</html>") if n == 2 and broken[0] else None)
    assert canned.sync(use_everything=False, validate=False).status == "complete"
    broken[0] = True
    assert canned.sync(use_everything=False, validate=False, full=True).status == "partial"
    broken[0] = False
    del canned.seen[:]
    finished = canned.sync(use_everything=False, validate=False)
    assert finished.status == "complete" and finished.removals_reconciled
    assert "/fhir/Organization/o1" not in [path for path, _, _ in canned.seen]
    with Store(canned.data_dir, read_only=True) as store:
        assert not store.get("canned", "Organization", "o1").removed


def test_a_full_sync_that_cannot_finish_retries_only_what_failed_until_full_starts_it_over(canned):
    """A referenced resource that keeps failing keeps the full sync open: each plain sync continues it and asks
    again for that one only; `--full` drops it and starts a new one."""
    _plan_with_a_referenced_organization(canned)
    canned.routes["/fhir/ExplanationOfBenefit"] = lambda request: fhir(bundle(
        eob(1, provider={"reference": "Organization/o1"}), eob(2, provider={"reference": "Practitioner/d1"})))
    canned.routes["/fhir/Practitioner/d1"] = lambda request: outcome(500, "boom")
    assert canned.sync(use_everything=False, validate=False, full=True).status == "partial"
    del canned.seen[:]
    again = canned.sync(use_everything=False, validate=False)
    assert any(note.startswith("continuing the full sync begun by run") for note in again.notes)
    assert {path for path, _, _ in canned.seen if "/fhir/Organization" in path or "/fhir/Practitioner" in path} == {
        "/fhir/Practitioner/d1"}
    over = canned.sync(use_everything=False, validate=False, full=True)
    assert any(note.startswith("started the full sync over") for note in over.notes)


def _plan_with_expiring_cursors(canned, stale_answer):
    """Three pages of EOBs whose next links carry a paging cursor; `canned.cursor` is the one the plan serves
    now, and a link with any other cursor gets `stale_answer`. Page 2 of cursor "a" breaks the first sync."""
    canned.cursor = "a"

    def handler(request):
        number, cursor = int(request.args.get("page", "1")), request.args.get("cursor", canned.cursor)
        if cursor != canned.cursor:
            return stale_answer()
        if number == 2 and cursor == "a":
            return fhir(b"<html>oops</html>")
        following = f"{canned.base}/ExplanationOfBenefit?patient=p1&cursor={cursor}&page={number + 1}" if number < 3 else None
        return fhir(bundle(eob(2 * number - 1), eob(2 * number), next_url=following))
    _plan_with_eobs(canned)
    canned.routes["/fhir/ExplanationOfBenefit"] = handler


@pytest.mark.parametrize("stale_answer", [
    lambda: outcome(400, "invalid paging token"),
    lambda: outcome(404, "unknown cursor"),
    lambda: outcome(410, "cursor expired"),
])
def test_a_resumed_walk_whose_saved_page_is_no_longer_served_starts_over(canned, stale_answer):
    """SY-6, SY-7: the saved cursor expired (400, 404, 410); the next sync walks from the first page instead of
    stopping there."""
    _plan_with_expiring_cursors(canned, stale_answer)
    first = canned.sync(use_everything=False)
    assert first.status == "partial"
    canned.cursor = "b"
    del canned.seen[:]
    again = canned.sync(use_everything=False)
    assert again.status == "complete", again.errors
    assert again.streams["ExplanationOfBenefit"].mode == "full"
    assert [query for path, query, _ in canned.api_requests() if path == "/fhir/ExplanationOfBenefit"] == [
        "patient=p1&cursor=a&page=2", "patient=p1&_count=100",
        "patient=p1&cursor=b&page=2", "patient=p1&cursor=b&page=3"]
    assert sorted(key[1] for key in canned.held() if key[0] == "ExplanationOfBenefit") == [f"e{n}" for n in range(1, 7)]
    third = canned.sync(use_everything=False)
    assert third.status == "complete" and third.streams["ExplanationOfBenefit"].mode != "resumed"


def test_a_walk_starts_over_only_once_when_its_first_page_is_bad_too(canned):
    """The restarted walk's own first page is bad as well (not JSON, so asked for five times): the walk ends
    incomplete there, no loop."""
    _plan_with_expiring_cursors(canned, lambda: outcome(410, "expired"))
    canned.sync(use_everything=False)
    canned.routes["/fhir/ExplanationOfBenefit"] = lambda request: (
        outcome(410, "expired") if "cursor" in request.args else fhir(b"<html>down for maintenance</html>"))
    del canned.seen[:]
    again = canned.sync(use_everything=False)
    assert again.status == "partial" and again.types["ExplanationOfBenefit"].status == "incomplete"
    assert [query for path, query, _ in canned.api_requests() if path == "/fhir/ExplanationOfBenefit"] == [
        "patient=p1&cursor=a&page=2"] + ["patient=p1&_count=100"] * 5
    assert any("ExplanationOfBenefit?patient=p1&_count=100" in error for error in again.errors)


@pytest.mark.parametrize("answer", [
    lambda: fhir(b"<html>oops</html>"),  # does not parse: asked for again, then left for the next run
    lambda: fhir({"resourceType": "OperationOutcome", "issue": []}),  # 200 but not a searchset
    lambda: outcome(403, "not now"),
    lambda: outcome(500, "boom"),
])
def test_a_resumed_walk_starts_over_only_when_its_saved_page_is_no_longer_served(canned, answer):
    """SY-6, SY-7: a saved page that fails any other way (unparsable, not a searchset, 403, 5xx) is kept, and
    what the walk stored before it: the run ends partial and the next one asks for that page again."""
    _plan_with_expiring_cursors(canned, answer)
    assert canned.sync(use_everything=False).status == "partial"
    canned.cursor = "b"
    del canned.seen[:]
    again = canned.sync(use_everything=False)
    assert again.status == "partial" and again.streams["ExplanationOfBenefit"].status == "incomplete"
    asked = [query for path, query, _ in canned.api_requests() if path == "/fhir/ExplanationOfBenefit"]
    assert set(asked) == {"patient=p1&cursor=a&page=2"}  # never the first page again
    assert sorted(key[1] for key in canned.held() if key[0] == "ExplanationOfBenefit") == ["e1", "e2"]
    with Store(canned.data_dir, read_only=True) as store:
        assert store.sync_state("canned", "ExplanationOfBenefit").next_url.endswith("cursor=a&page=2")


@pytest.mark.parametrize("bad_entry, problem", [
    ({"resourceType": "ExplanationOfBenefit"}, "no valid FHIR id"),
    ({"resourceType": "ExplanationOfBenefit", "id": "a/b"}, "no valid FHIR id"),
    ({"id": "x1"}, "no valid resourceType"),
])
def test_a_page_with_a_bad_entry_stores_nothing_of_it(canned, bad_entry, problem):
    """IN-J3: one resource without a valid id fails its whole page; the store keeps what it had."""
    _plan_with_eobs(canned, breaker=lambda n: fhir(bundle(eob(3), bad_entry)) if n == 2 else None)
    report = canned.sync(use_everything=False)
    assert report.status == "partial" and any(problem in error for error in report.errors)
    assert "e3" not in {key[1] for key in canned.held()}


def test_next_equal_to_self_stops_paging_and_reports_it(canned):
    """SY-5, SY-6: a looping next link on a plan that declares no `_lastUpdated` search (nothing to slice by) ends
    the walk as incomplete, after keeping the page."""
    loop = f"{canned.base}/ExplanationOfBenefit?patient=p1&page=2"
    _plan_with_eobs(canned, breaker=lambda n: fhir(bundle(eob(3), next_url=loop, self_url=loop)) if n == 2 else None)
    report = canned.sync(use_everything=False)
    assert report.status == "partial"
    assert any("leads back to a page already fetched" in error and "no _lastUpdated search to slice it by" in error
               for error in report.errors)
    assert {key[1] for key in canned.held() if key[0] == "ExplanationOfBenefit"} == {"e1", "e2", "e3"}
    assert sum(1 for entry in canned.seen if "page=2" in entry[1]) == 1


def test_the_next_page_is_requested_while_the_page_before_it_is_stored(canned, monkeypatch):
    """The commit of each page but the last waits until the plan has been asked for the page after it: that
    happens only when the request goes out before the commit (fetch_ahead.py)."""
    asked = {number: threading.Event() for number in range(1, 4)}
    _plan_with_eobs(canned, pages=3, breaker=lambda n: asked[n].set())
    waited = []
    commit_page = Store.commit_page

    def commit_when_the_next_page_is_asked(store, source, resources, **details):
        url = details.get("request_url") or ""
        if "ExplanationOfBenefit" in url:
            number = int(re.search(r"page=(\d)", url).group(1)) if "page=" in url else 1
            if number < 3:
                waited.append(asked[number + 1].wait(timeout=10))
        return commit_page(store, source, resources, **details)

    monkeypatch.setattr(Store, "commit_page", commit_when_the_next_page_is_asked)
    report = canned.sync(use_everything=False)
    assert report.status == "complete" and report.types["ExplanationOfBenefit"].new == 6
    assert waited == [True, True]
    assert sum(1 for entry in canned.seen if "page=" in entry[1]) == 2  # each page asked for once


def test_pages_written_with_spaces_or_compactly_each_keep_their_resources_exactly_as_sent(canned):
    """DESIGN: raw JSON is the truth, however the plan writes its pages: one with spaces, the rest compact."""
    first_page = json.dumps(bundle(eob(1, total=[{"amount": {"value": 1.5}}]), eob(2),
                                   next_url=f"{canned.base}/ExplanationOfBenefit?patient=p1&page=2"))
    _plan_with_eobs(canned, breaker=lambda number: fhir(first_page) if number == 1 else None)
    assert canned.sync(use_everything=False).status == "complete"
    held = canned.held()
    assert held[("ExplanationOfBenefit", "e1")] == json.dumps(json.loads(first_page)["entry"][0]["resource"])
    assert held[("ExplanationOfBenefit", "e5")] == orjson.dumps(eob(5)).decode()


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_type_the_plan_refuses_is_skipped_not_fatal(canned, status):
    """CL-6: 404 (not supported), 400 (OperationOutcome), 403 (missing scope) skip the type and say so."""
    _plan_with_eobs(canned, pages=1)
    canned.routes["/fhir/metadata"] = lambda request: fhir(statement("Patient", "ExplanationOfBenefit", "Coverage"))
    canned.routes["/fhir/Coverage"] = lambda request: outcome(status, "Coverage is not offered")
    report = canned.sync(use_everything=False)
    assert report.status == "complete"
    coverage = report.types["Coverage"]
    assert coverage.status == "skipped" and coverage.reason == f"refused by the plan (HTTP {status}: Coverage is not offered)"
    assert report.types["ExplanationOfBenefit"].new == 2


def test_a_plan_that_refuses_every_search_fails_the_sync(canned):
    """SY-6 (no silent partial success): every search refused at its first page (as Blue Button answers a `_count`
    above its maximum) stores nothing: the run fails, exit 4, and says why, never "complete"."""
    _plan_with_eobs(canned, pages=1)
    canned.routes["/fhir/Patient"] = canned.routes["/fhir/ExplanationOfBenefit"] = lambda request: outcome(
        400, "value must be at most 50")
    report = canned.sync(use_everything=False)
    assert report.status == "failed" and not canned.held()
    [error] = report.errors
    assert error.startswith("the plan refused every search, so nothing could be synced (the first: ")
    assert "value must be at most 50" in error


def test_refused_everything_falls_back_to_searches(canned):
    _plan_with_eobs(canned, pages=1)
    canned.routes["/fhir/metadata"] = lambda request: fhir(statement("Patient", "ExplanationOfBenefit", everything=True))
    canned.routes["/fhir/Patient/p1/$everything"] = lambda request: outcome(404, "no such operation")
    report = canned.sync()
    assert report.status == "complete"
    assert any("refused $everything" in note for note in report.notes)
    assert set(canned.held()) == {("Patient", "p1"), ("ExplanationOfBenefit", "e1"), ("ExplanationOfBenefit", "e2")}


def test_records_the_r4_models_reject_are_kept_and_counted_and_a_skipped_validation_is_caught_up(canned):
    """Validation (in worker processes, beside the downloads) never drops a record: the canned EOBs lack
    required elements, so they are stored, counted invalid, and their findings kept. A run without
    validation leaves its records unvalidated and says so; the next run validates them first."""
    _plan_with_eobs(canned, pages=1)
    unchecked = canned.sync(use_everything=False, validate=False)
    assert unchecked.status == "complete" and unchecked.types["ExplanationOfBenefit"].invalid == 0
    assert "3 records are not validated yet; the next sync validates them" in unchecked.notes

    checked = canned.sync(use_everything=False)
    assert checked.types["ExplanationOfBenefit"].invalid == 2 and checked.types["Patient"].invalid == 0
    assert not any("not validated" in note for note in checked.notes)
    with Store(canned.data_dir, read_only=True) as store:
        assert store.unvalidated("canned") == []
        assert "insurer: Field required" in store.get("canned", "ExplanationOfBenefit", "e1").findings
        assert store.get("canned", "Patient", "p1").findings == ()
    assert set(canned.held()) == {("Patient", "p1"), ("ExplanationOfBenefit", "e1"), ("ExplanationOfBenefit", "e2")}


def test_referenced_resources_are_fetched_from_the_plan_base_only(canned):
    """Relative references and absolute ones under the plan's base are read; others are left alone."""
    canned.routes["/fhir/metadata"] = lambda request: fhir(statement("Patient", "ExplanationOfBenefit"))
    canned.routes["/fhir/Patient"] = lambda request: fhir(bundle({"resourceType": "Patient", "id": "p1"}))
    canned.routes["/fhir/ExplanationOfBenefit"] = lambda request: fhir(bundle(eob(
        1, provider={"reference": "Organization/o1"}, careTeam=[{"provider": {"reference": f"{canned.base}/Practitioner/d1"}}],
        facility={"reference": "Location/gone"}, referral={"reference": "https://other.example/fhir/ServiceRequest/s1"},
        insurer={"reference": "#contained"})))
    canned.routes["/fhir/Organization/o1"] = lambda request: fhir(
        {"resourceType": "Organization", "id": "o1", "partOf": {"reference": "Organization/o2"}})
    canned.routes["/fhir/Organization/o2"] = lambda request: fhir({"resourceType": "Organization", "id": "o2"})
    canned.routes["/fhir/Practitioner/d1"] = lambda request: fhir({"resourceType": "Practitioner", "id": "d1"})
    report = canned.sync(use_everything=False)
    assert report.status == "complete" and report.unresolved_references == 1
    assert {key for key in canned.held() if key[0] in ("Organization", "Practitioner")} == {
        ("Organization", "o1"), ("Organization", "o2"), ("Practitioner", "d1")}
    assert not any("other.example" in entry[0] or "ServiceRequest" in entry[0] for entry in canned.seen)
    del canned.seen[:]
    canned.sync(use_everything=False)
    assert not any(entry[0].startswith(("/fhir/Organization", "/fhir/Practitioner")) for entry in canned.seen)


def test_a_plan_without_metadata_is_searched_for_the_usual_types(canned):
    _paged_eobs(canned, 1)
    canned.routes["/fhir/Patient"] = lambda request: fhir(bundle({"resourceType": "Patient", "id": "p1"}))
    report = canned.sync()
    assert report.status == "complete"  # the other usual types answer 404: skipped
    assert report.types["ExplanationOfBenefit"].new == 2 and report.types["Coverage"].status == "skipped"
    assert ("/fhir/Coverage", "beneficiary=p1&_count=100", "Bearer access-1") in canned.seen


def test_a_refused_refresh_marks_the_plan_and_keeps_its_records(canned):
    """SY-4: the refresh token is refused mid-sync: stop, mark re-connect needed, keep what was stored."""
    canned.refresh_answers = []
    _plan_with_eobs(canned, breaker=lambda n: outcome(401, "expired") if n == 2 else None)
    report = canned.sync(use_everything=False)
    assert report.status == "partial" and report.reconnect_needed
    assert {"e1", "e2"} <= {key[1] for key in canned.held()}
    [status] = plan_statuses(canned.data_dir)
    assert status["reconnect_needed"] and status["last_sync"]["status"] == "partial"
    canned.connect(access="access-9", refresh="refresh-9")  # a new `mirror connect` supersedes the mark
    [status] = plan_statuses(canned.data_dir)
    assert not status["reconnect_needed"]


def test_reports_and_errors_never_hold_a_token(canned):
    canned.refresh_answers = []
    _plan_with_eobs(canned, breaker=lambda n: outcome(401, "expired") if n == 2 else None)
    report = canned.sync(use_everything=False)
    text = orjson.dumps(report.to_dict()).decode() + orjson.dumps(plan_statuses(canned.data_dir)).decode()
    assert "access-1" not in text and "refresh-1" not in text


def test_redirects_are_not_followed_with_the_token(canned):
    """The token goes only to URLs checked to be on the plan's base; a redirect is an answer, not a hop."""
    canned.routes["/fhir/Patient/p1"] = lambda request: Response("", status=302,
                                                                 headers={"Location": "http://127.0.0.1:9/steal"})
    with pytest.raises(Refused, match="HTTP 302"):
        canned.client().get(f"{canned.base}/Patient/p1")
    assert [entry[0] for entry in canned.seen] == ["/fhir/Patient/p1"]


def test_progress_shows_on_a_terminal_only():
    import io

    from mirror.sync.progress import NoProgress, TerminalProgress, progress_for

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert isinstance(progress_for(io.StringIO()), NoProgress)
    terminal = Terminal()
    progress = progress_for(terminal)
    assert isinstance(progress, TerminalProgress)
    progress.page("demo", "$everything", 3, {"ExplanationOfBenefit": 20, "Patient": 1})
    progress.done()
    assert "demo $everything: page 3, 21 resources (ExplanationOfBenefit 20, Patient 1)" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")


def test_a_plan_that_ignores_summary_count_and_elements_still_has_its_removals_found(canned):
    """FHIR R4 search: a server may ignore `_summary=count` and `_elements` and send no `total`; a plain sync then
    lists the walk's ids from the whole pages and tombstones what the plan no longer has, as --full does."""
    held = {f"e{number}": eob(number) for number in (1, 2, 3)}

    def search(request):
        if "_lastUpdated" in request.args:
            return fhir({"resourceType": "Bundle", "type": "searchset", "entry": []})  # nothing changed
        return fhir({"resourceType": "Bundle", "type": "searchset",
                     "entry": [{"resource": resource} for resource in held.values()]})

    canned.routes["/fhir/metadata"] = lambda request: fhir({"resourceType": "CapabilityStatement", "rest": [
        {"mode": "server", "resource": [{"type": "ExplanationOfBenefit", "searchParam": [
            {"name": "patient", "type": "reference"}, {"name": "_lastUpdated", "type": "date"}]}]}]})
    canned.routes["/fhir/ExplanationOfBenefit"] = search
    first = canned.sync()
    assert first.status == "complete" and first.streams["ExplanationOfBenefit"].removals == "walked whole"
    del held["e2"]
    canned.seen.clear()
    second = canned.sync()
    assert second.status == "complete" and second.streams["ExplanationOfBenefit"].removals == "listed"
    assert second.types["ExplanationOfBenefit"].removed == 1
    assert set(canned.held()) == {("ExplanationOfBenefit", "e1"), ("ExplanationOfBenefit", "e3")}
    queries = [query for path, query, _ in canned.api_requests()]
    assert any("_summary=count" in query for query in queries) and any("_elements=id" in query for query in queries)
