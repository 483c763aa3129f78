"""The sync engine: one run per plan, from the CapabilityStatement to the last referenced Organization.

A run walks `$everything` (or one search per type, see targets.py) page by page, asking for each page
while the one before it is committed (fetch_ahead.py). Each page goes to the
store together with its checkpoint, the next page's URL, in one commit (SY-7), so a run cut short by
Ctrl-C, a kill or a crash is resumed by the next one from the page after the last one committed. A walk
that finished leaves a high-water mark, and the next run asks only for what changed since (`_since` or
`_lastUpdated=gt`), taken from the plan's own clock (its `Date` header) less an overlap, never from this
machine's. `--full` walks everything again and tombstones what the plan no longer has; a full sync cut short
is finished by the next run without `--full` (full_pass.py). A plain run finds removals by each walk's count,
listing its ids only when that count disagrees or a week has passed (removals.py).

New content is validated against the R4 models in worker processes while the walk goes on (validation.py);
the run waits for the last findings before it reports how many records are invalid.

Then the resources the member's records reference on the plan's own base (relative references, or absolute
ones under its FHIR base) and that the store lacks are read one by one, a few levels deep.

A walk whose paging loops (a `next` link back to a page already fetched) is listed another way in the same
run: `$everything` by one search per type, which later runs keep to (`--full` tries `$everything` again); a
search in slices by `_lastUpdated` (slices.py), checked against the plan's count, the checkpoint pointing at
the search's start until the last slice is in.

A page that fails after its retries (a reset, a truncated or unparsable body is retried like a 503) marks
its walk incomplete with the URL and the reason (SY-6): the run ends `partial`, and the next run resumes
from that page; should that saved page be refused as no longer served
(400, 404, 410) before any page of the run succeeded, the walk starts over from its first page, once. Any
other failure of the saved page keeps it, and what the walk stored before it, for the run after. A type the plan
refuses to search (400, 403,
404 at its first page) or the scope does not cover is skipped and reported (CL-6). A refused refresh token
stops the plan's run, marks it "re-connect needed" (status.py), and keeps what was stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

from mirror.fhir.compartment import ABOUT_ANOTHER_RECORD, SEARCHED_OTHERWISE
from mirror.fhir.ids import is_valid_id
from mirror.fhir.raw_json import references_in_text
from mirror.fhir.references import ABSOLUTE, RELATIVE, InvalidReference, parse_reference
from mirror.fhir.scopes import ScopeAccess, allows_read
from mirror.oauth import ConnectError, Connection, ReconnectNeeded, list_connections, load_connection
from mirror.store import InvalidResource, ParsedText, Store, StoreError, StoreWriteFailed, SyncState
from mirror.store.records import utc_now
from mirror.sync.collector_pause import collector_paused
from mirror.sync.fetch_ahead import FetchAhead
from mirror.sync.full_pass import FullPass
from mirror.sync.http import Answer, FetchFailed, PayerClient, Refused, RequestBudget, display_url, is_on_base
from mirror.sync.options import SyncOptions
from mirror.sync.pages import (
    BadPage,
    Page,
    PagingGuard,
    PagingStopped,
    read_resource,
    read_searchset,
)
from mirror.sync.progress import NoProgress, Progress
from mirror.sync.removals import INSTANT_FORMAT, count_url, listing_due, listing_url, read_total
from mirror.sync.report import (
    COMPLETE,
    FAILED,
    INCOMPLETE,
    LOOPING,
    MOST_NAMED,
    PARTIAL,
    REFERENCES,
    RESUMABLE,
    RUNNING,
    SKIPPED,
    PlanReport,
    StreamReport,
    SyncReport,
    named,
)
from mirror.sync.retry import http_date
from mirror.sync.slices import Slicing, SlicesExhausted
from mirror.sync.status import clear_reconnect_mark, mark_reconnect_needed
from mirror.sync.targets import EVERYTHING, Walk, sync_targets
from mirror.sync.validation import BackgroundValidation

HIGH_WATER_OVERLAP = timedelta(minutes=5)  # re-ask for this much before the last run: late commits on the plan
MAX_REFERENCE_READS = 10_000
REFUSED, RESTART = "refused", "restart"  # how a walk can end besides COMPLETE, INCOMPLETE and SKIPPED
GONE = (403, 404, 410)  # a referenced resource the plan does not (or no longer) let this member read
# Types a search by patient cannot list in full (a Provenance about the member's claim, a Group listing them; R4
# compartment and compartment.py): only $everything lists them, so only it can show one is gone.
LISTED_BY_EVERYTHING_ONLY = frozenset({*SEARCHED_OTHERWISE, *ABOUT_ANOTHER_RECORD})
STALE_PAGE = (400, 404, 410)  # a saved `next` URL the plan no longer serves (its paging cursor expired): start over


def sync_plans(
    data_dir: Path, names: Iterable[str] = (), options: SyncOptions = SyncOptions(), progress: Progress = NoProgress()
) -> SyncReport:
    """Sync the named plans (every connected plan when none is named) into the store in `data_dir`."""
    names = list(dict.fromkeys(names))
    connections = [load_connection(data_dir, name) for name in names] if names else list_connections(data_dir)
    report = SyncReport()
    with Store(data_dir) as store:
        for connection in connections:
            budget = None
            if options.requests_per_minute:
                budget = RequestBudget(options.requests_per_minute, time.monotonic, time.sleep)
            client = PayerClient(data_dir, connection, policy=options.retry, budget=budget)
            try:
                report.plans.append(sync_plan(store, client, options, progress))
            finally:
                client.close()
            progress.done()
    return report


def sync_plan(store: Store, client: PayerClient, options: SyncOptions = SyncOptions(),
              progress: Progress = NoProgress()) -> PlanReport:
    """One run for the plan `client` talks to; its report. Store errors and interruptions propagate."""
    return _PlanSync(store, client, options, progress).run()


class _Stop(Exception):
    """The run cannot go on for this plan; the message says why."""


class _PlanSync:
    def __init__(self, store: Store, client: PayerClient, options: SyncOptions, progress: Progress):
        self.store = store
        self.client = client
        self.options = options
        self.progress = progress
        self.connection: Connection = client.connection
        self.name = self.connection.plan.name
        self.base = client.base
        self.report = PlanReport(self.name)
        self.run_id = ""
        self.received: dict[str, set[str]] = {}  # type -> ids received in this run
        self.referenced: set[tuple[str, str]] = set()
        self.reference_texts: set[str] = set()
        self.walk_of_type: dict[str, str] = {}  # type -> the walk (or REFERENCES) that first brought it
        self.references_complete = False
        self.full_pass: FullPass | None = None
        self.walked: list[Walk] = []  # in the order walked
        self.listed_at: dict[str, str] = {}  # walk key -> when its ids were last listed (SyncState.listed_at)
        self.restart_at: dict[str, str] = {}  # walk key -> its first URL, while it is walked in slices
        self.counted_whole: set[str] = set()  # walks listed in slices that add up to the plan's count
        self.validation = BackgroundValidation() if options.validate else None

    # ----- the run

    def run(self) -> PlanReport:
        started = time.monotonic()
        self.run_id = self.store.begin_run(self.name)
        self.report.run_id, self.report.started_at = self.run_id, utc_now()
        try:
            try:
                self._sync()
            except ReconnectNeeded as refused:
                self.report.reconnect_needed = True
                self.report.errors.append(str(refused))
                mark_reconnect_needed(self.client.data_dir, self.name)
            except (ConnectError, FetchFailed, _Stop) as error:
                self.report.errors.append(str(error))
            self._finish_validation()
        except StoreWriteFailed as error:  # a full disk: what was written stays, what was staged is dropped
            self.report.errors.append(f"stopped: {error} The next sync resumes.")
            self.store.discard_staged()
        finally:
            if self.validation is not None:
                self.validation.close()
        self._count_types()
        self.report.status = self._outcome()
        self.report.ended_at = self._record_end()
        self.report.seconds = time.monotonic() - started
        self.report.requests = self.client.requests
        self.report.request_seconds = self.client.request_seconds
        return self.report

    def _record_end(self) -> str:
        """Record how the run ended; when even that cannot be written (the disk is still full), say so."""
        try:
            return self.store.finish_run(self.run_id, status=self.report.status, errors=self.report.errors,
                                         notes=self.report.notes).ended_at
        except StoreError as error:
            self.store.discard_staged()
            self.report.notes.append(f"this run's end could not be recorded ({error}); `mirror status` shows it "
                                     "as interrupted")
            return utc_now()

    def _sync(self) -> None:
        patient_id = self.client.token.patient
        if not is_valid_id(patient_id):
            raise _Stop(f"{self.name}: the plan did not say which patient record it granted; "
                        f"run: mirror connect {self.name} ...")
        first_sync = not self.store.sync_states(self.name)
        self.listed_at = {state.resource_type: state.listed_at for state in self.store.sync_states(self.name)
                          if state.listed_at}
        self.full_pass = self._full_pass()
        if self.validation is not None:
            unvalidated = self.store.unvalidated(self.name)  # left by a run cut short, or by --no-validate
            if first_sync or unvalidated:
                self.validation.start()  # sure to have work: the workers start up while the pages come
            self.validation.submit_stored(unvalidated)
        statement, mark = self._capabilities()
        token = self.client.token
        targets = sync_targets(statement, base=self.base, patient_id=patient_id, scope=token.scope,
                               page_size=min(self.options.page_size, self.connection.plan.max_page_size or self.options.page_size),
                               use_everything=self.options.use_everything)
        for skipped in targets.skipped:
            self._skip(skipped.resource_type, skipped.reason)
        previous_references = self.store.sync_state(self.name, REFERENCES)
        self._put_state(self._walk_state(REFERENCES, status=RUNNING))
        if targets.everything is None or self._walk(targets.everything, mark) in (REFUSED, LOOPING):
            for stream in targets.by_type:
                self._walk(stream, mark)
        walks = list(self.report.streams.values())
        if walks and all(walk.status == SKIPPED for walk in walks):
            raise _Stop(f"the plan refused every search, so nothing could be synced (the first: {walks[0].error})")
        self._resolve_references(scan_stored=previous_references is not None and previous_references.status != COMPLETE)
        if self.full_pass is not None:
            self._reconcile_removals()
        else:
            for stream in self.walked:
                self._find_removals(stream, mark)
        clear_reconnect_mark(self.client.data_dir, self.name)

    def _full_pass(self) -> FullPass | None:
        """The full sync this run takes part in: a new one for --full, else one an earlier run left unfinished."""
        unfinished = FullPass.unfinished(self.store.sync_states(self.name))
        if self.options.full:
            if unfinished is not None:
                self.report.notes.append(f"started the full sync over; the one begun by run {unfinished.pass_id} "
                                         "was not finished")
            return FullPass(self.run_id)
        if unfinished is not None:
            self.report.notes.append(f"continuing the full sync begun by run {unfinished.pass_id}")
        return unfinished

    def _capabilities(self) -> tuple[dict | None, str]:
        """The plan's CapabilityStatement (None when it has none worth reading) and this run's high-water mark."""
        url = f"{self.base}/metadata"
        try:
            answer = self.client.get(url, authorized=False)
        except Refused as refused:
            self.report.notes.append(f"no CapabilityStatement ({refused}); searching the usual payer types")
            return None, self._high_water(None)
        try:
            statement = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            statement = None
        if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
            self.report.notes.append(f"{url} is not a CapabilityStatement; searching the usual payer types")
            statement = None
        return statement, self._high_water(answer.headers.get("Date"))

    def _high_water(self, date_header: str | None) -> str:
        """The plan's time now (its Date header, else this machine's clock) less the overlap, as a FHIR instant."""
        moment = http_date(date_header) or datetime.fromtimestamp(self.client.now(), timezone.utc)
        return (moment - HIGH_WATER_OVERLAP).astimezone(timezone.utc).strftime(INSTANT_FORMAT)

    # ----- walking a search's pages

    def _walk(self, stream: Walk, mark: str) -> str:
        state = self.store.sync_state(self.name, stream.key)
        if stream.key == EVERYTHING and state is not None and state.status == LOOPING and not self.options.full:
            self.report.streams[stream.key] = StreamReport("searched by type", status=LOOPING)
            self.report.notes.append("$everything: its paging looped in an earlier run; searched each type instead "
                                     "(a --full sync tries $everything again)")
            return LOOPING
        start, pending_mark, mode = self._starting_point(stream, state, mark)
        walk = self.report.streams[stream.key] = StreamReport(mode)
        self.walked.append(stream)
        if stream.key != EVERYTHING:
            self.report.type(stream.key)
        if start is None:
            walk.status = COMPLETE
            return COMPLETE
        outcome = self._pages(stream, walk, start, pending_mark)
        if outcome == RESTART:
            # The saved page is no longer served (paging cursors expire): start the walk over, once; the
            # walk is no longer "resumed", so a failing first page now ends it as refused or incomplete.
            walk.mode, start = "full", stream.url
            outcome = self._pages(stream, walk, start, mark)
        if outcome == LOOPING:
            outcome = self._around_the_loop(stream, walk, stream.url if walk.mode == "resumed" else start, mark)
        return outcome

    def _starting_point(self, stream: Walk, state: SyncState | None, mark: str) -> tuple[str | None, str, str]:
        """(first URL, the mark this walk leaves when it ends, mode) from the walk's checkpoint.

        A full sync starts every walk afresh, except the walks of a full sync this run continues: those
        resume, or, finished, ask for what changed since (the ids they return join those seen), or, on a
        plan that cannot say what changed, are done (no URL).
        """
        if state is None or (self.full_pass is not None and not self.full_pass.owns(state)):
            return stream.url, mark, "full"
        if state.status in RESUMABLE and state.next_url and is_on_base(state.next_url, self.base):
            return state.next_url, state.high_water or mark, "resumed"
        if state.status == COMPLETE and state.high_water and stream.since:
            return stream.changed_since_url(state.high_water), mark, "incremental"
        if state.status == COMPLETE and self.full_pass is not None:
            return None, state.high_water or mark, "finished earlier"
        return stream.url, mark, "full"

    def _pages(self, stream: Walk, walk: StreamReport, start: str, mark: str) -> str:
        guard = PagingGuard(start, self.options.max_pages)
        url: str | None = start
        ahead: FetchAhead | None = None
        while url is not None:
            with collector_paused():  # the page lives and dies inside (collector_pause.py)
                url, ahead, ended = self._page(stream, walk, guard, url, ahead, mark)
            if ended is not None:
                return ended
        walk.status = COMPLETE
        return COMPLETE

    def _page(self, stream: Walk, walk: StreamReport, guard: PagingGuard, url: str, ahead: FetchAhead | None,
              mark: str) -> tuple[str | None, FetchAhead | None, str | None]:
        """So that the sync walks a search page by page, fetching the next while it commits this one.

        Fetch (or take from `ahead`), check and commit the page at `url`: (the next page's URL, its fetch
        ahead, None), or (None, None, how the walk ended). The next page is requested before this one is
        committed (fetch_ahead.py)."""
        try:
            page = ahead.answer() if ahead is not None else self.client.get(url, read=self._read_page)
        except Refused as refused:
            if walk.pages == 0 and walk.mode == "resumed":
                if refused.status in STALE_PAGE:
                    return None, None, RESTART  # the saved page is no longer served (its cursor expired, ...)
                return None, None, self._incomplete(stream, walk, url, mark, refused)
            if walk.pages == 0:
                return None, None, self._refused(stream, walk, refused)
            return None, None, self._incomplete(stream, walk, url, mark, refused)
        except (FetchFailed, BadPage) as error:
            return None, None, self._incomplete(stream, walk, url, mark, error)
        try:
            following, stopped = guard.next_url(page), None
        except PagingStopped as stop:
            following, stopped = None, stop
        ahead = FetchAhead(partial(self.client.get, read=self._read_page), following) if following is not None else None
        try:
            self._commit(stream.key, page, self._page_state(stream.key, following, mark, page, looped=stopped is not None))
        except InvalidResource as error:
            if ahead is not None:
                ahead.settle()
            return None, None, self._incomplete(stream, walk, url, mark, BadPage(f"{display_url(url)}: {error}"))
        walk.pages += 1
        self.report.pages += 1
        self.progress.page(self.name, stream.key, walk.pages, {kind: len(ids) for kind, ids in self.received.items()})
        if stopped is not None:
            walk.status, walk.error = LOOPING, str(stopped)
            return None, None, LOOPING
        return following, ahead, None

    def _page_state(self, walk_key: str, following: str | None, mark: str, page: Page, looped: bool) -> SyncState:
        """So that an interrupted walk resumes from a place it can trust.

        The checkpoint committed with a page: where the walk goes on, or, while it is walked in slices, its
        first URL (a later run cannot tell which slices are in, so it starts the walk over)."""
        if walk_key in self.restart_at:
            return self._walk_state(walk_key, next_url=self.restart_at[walk_key], high_water=mark, status=RUNNING,
                                    page=page)
        status = INCOMPLETE if looped else (RUNNING if following else COMPLETE)
        return self._walk_state(walk_key, next_url=following, high_water=mark, status=status, page=page)

    def _around_the_loop(self, stream: Walk, walk: StreamReport, origin: str, mark: str) -> str:
        """List in this run, another way, what a walk whose paging looped (from `origin`) was to bring."""
        loop = walk.error
        if stream.key == EVERYTHING:
            self._put_state(self._walk_state(EVERYTHING, status=LOOPING))
            self.report.notes.append(f"$everything: {loop}; searched each type instead")
            # what its pages brought is the searches' now, or, not searched by type, the references'
            self.walk_of_type = {kind: key for kind, key in self.walk_of_type.items() if key != EVERYTHING}
            return LOOPING
        if stream.since != "_lastUpdated":
            return self._incomplete(stream, walk, origin, mark,
                                    PagingStopped(f"{loop}, and the plan offers no _lastUpdated search to slice it by"))
        slicing = Slicing(origin, _plan_now(mark))
        self.restart_at[stream.key] = origin
        try:
            for url in slicing:
                walk.error = None
                outcome = self._pages(stream, walk, url, mark)
                if outcome == LOOPING:
                    slicing.halve()
                elif outcome != COMPLETE:
                    return outcome
        except SlicesExhausted as exhausted:
            return self._incomplete(stream, walk, origin, mark, PagingStopped(f"{loop}; {exhausted}"))
        finally:
            del self.restart_at[stream.key]
        counted, received = self._plan_count(origin), len(self.received.get(stream.key, ()))
        if counted is not None and counted > received:
            return self._incomplete(stream, walk, origin, mark, PagingStopped(
                f"{loop}; slices by _lastUpdated brought {received} of the {counted} records the plan counts"))
        if counted is not None:
            self.counted_whole.add(stream.key)
        self._put_state(self._walk_state(stream.key, high_water=mark, status=COMPLETE))
        walk.status, walk.error, walk.slices = COMPLETE, None, slicing.walked
        self.report.notes.append(f"{stream.key}: {loop}; listed in {slicing.walked} slices by _lastUpdated instead")
        return COMPLETE

    def _read_page(self, answer: Answer) -> Page:
        """The searchset page in `answer`; one that does not parse is asked for again by the client.

        The collector is paused over the parse too: a fetch ahead reads its page outside `_pages`' pause."""
        with collector_paused():
            return read_searchset(answer)

    def _commit(self, walk_key: str, page: Page, state: SyncState | None) -> None:
        received = [ParsedText(resource.text, resource.parsed) for resource in page.resources]
        result = self.store.commit_page(self.name, received, run_id=self.run_id, request_url=page.url, sync_state=state)
        if self.full_pass is not None:
            self.full_pass.saw(walk_key, ((resource.resource_type, resource.id) for resource in page.resources))
        if self.validation is not None:
            texts = {(resource.resource_type, resource.id): resource.text for resource in page.resources}
            self.validation.submit((content, texts[content[:2]]) for content in result.new_versions)
            self._record_findings(self.validation.ready())
        for resource in page.resources:
            self.received.setdefault(resource.resource_type, set()).add(resource.id)
            self.walk_of_type.setdefault(resource.resource_type, walk_key)
            self._note_references(resource.text)

    def _incomplete(self, stream: Walk, walk: StreamReport, url: str, mark: str, error: Exception) -> str:
        """So that the next run knows where to resume a walk and why it stopped.

        Record that the walk stopped at `url` (the next run starts there, or, among slices, at the walk's first
        page) and why."""
        self._put_state(self._walk_state(stream.key, next_url=self.restart_at.get(stream.key, url), high_water=mark,
                                         status=INCOMPLETE))
        walk.status, walk.error = INCOMPLETE, str(error)
        self.report.errors.append(f"{stream.key}: {error}")
        return INCOMPLETE

    def _refused(self, stream: Walk, walk: StreamReport, refused: Refused) -> str:
        """The plan will not run this search at all: $everything falls back to searches, a type is skipped."""
        walk.status, walk.error = SKIPPED, str(refused)
        self._put_state(self._walk_state(stream.key, status=SKIPPED))
        if stream.key == EVERYTHING:
            self.report.notes.append(f"the plan refused $everything ({refused}); searched each type instead")
            return REFUSED
        self._skip(stream.key, f"refused by the plan (HTTP {refused.status}{f': {refused.detail}' if refused.detail else ''})")
        return SKIPPED

    def _skip(self, resource_type: str, reason: str) -> None:
        row = self.report.type(resource_type)
        row.status, row.reason = SKIPPED, reason

    def _walk_state(self, walk_key: str, *, status: str, next_url: str | None = None, high_water: str | None = None,
                    page: Page | None = None) -> SyncState:
        """A walk's checkpoint; in a full sync, with what the walk has received in it so far, `page` included."""
        listed_at = self.listed_at.get(walk_key)
        if self.full_pass is None:
            return SyncState(walk_key, next_url=next_url, high_water=high_water, status=status, listed_at=listed_at)
        adding = [(resource.resource_type, resource.id) for resource in page.resources] if page is not None else []
        return SyncState(walk_key, next_url=next_url, high_water=high_water, status=status,
                         full_pass=self.full_pass.pass_id, seen=self.full_pass.seen_by(walk_key, adding),
                         listed_at=listed_at)

    def _record_findings(self, findings: list) -> None:
        if findings:
            self.store.record_findings(self.name, findings)

    def _finish_validation(self) -> None:
        """Wait for the findings still out; say what is left unvalidated, which the next run validates."""
        if self.validation is not None:
            self._record_findings(self.validation.rest())
            if self.validation.failure is None:
                return  # it had all this run stored, and all an earlier run left: nothing is left (no scan)
            self.report.notes.append(self.validation.failure)
        left = len(self.store.unvalidated(self.name))
        if left:
            self.report.notes.append(f"{left} records are not validated yet; the next sync validates them")

    def _put_state(self, state: SyncState) -> None:
        self.store.commit_page(self.name, [], run_id=self.run_id, sync_state=state)

    # ----- references

    def _note_references(self, resource_text: str) -> None:
        """So that the references a member's records repeat are read once per run.

        Note what `resource_text` references; a member's records repeat the same few references thousands of
        times (their Patient, Coverage, providers), so each reference text is read once per run."""
        for text in references_in_text(resource_text):
            if text not in self.reference_texts:
                self.reference_texts.add(text)
                target = self._target_on_base(text)
                if target is not None:
                    self.referenced.add(target)

    def _target_on_base(self, text: str) -> tuple[str, str] | None:
        """The (type, id) of a reference this plan can resolve: relative, or absolute under its FHIR base."""
        try:
            reference = parse_reference(text)
        except InvalidReference:
            return None
        if reference.kind == RELATIVE or (reference.kind == ABSOLUTE and is_on_base(text, self.base)):
            return reference.resource_type, reference.id
        return None

    def _resolve_references(self, *, scan_stored: bool) -> None:
        """Read the referenced resources not held yet; in a full sync, also those held but not received.

        `scan_stored` also looks at the references of every stored record: an earlier run that stopped
        before this step left some unresolved.
        """
        if scan_stored:
            for resource_type in self.store.counts(self.name):
                for stored in self.store.search(resource_type, source=self.name):
                    self._note_references(stored.text)
        looked_up: set[tuple[str, str]] = set()
        unresolved: list[str] = []
        failed = 0
        while wanted := sorted(target for target in self.referenced - looked_up if self._lacks(target)):
            if len(looked_up) + len(wanted) > MAX_REFERENCE_READS:
                self.report.errors.append(f"references: more than {MAX_REFERENCE_READS} to read; stopped")
                failed += 1
                break
            for resource_type, resource_id in wanted:
                looked_up.add((resource_type, resource_id))
                url = f"{self.base}/{resource_type}/{resource_id}"
                try:
                    resource = self.client.get(url, read=partial(read_resource, resource_type=resource_type,
                                                                 resource_id=resource_id))
                    read = Page(url, [resource], None, None)
                    # In a full sync the checkpoint keeps what was read: a later run finishing it reads it not again
                    state = self._walk_state(REFERENCES, status=RUNNING, page=read) if self.full_pass is not None else None
                    self._commit(REFERENCES, read, state)
                except Refused as refused:
                    if refused.status in GONE:
                        unresolved.append(f"{resource_type}/{resource_id}")
                    else:
                        failed += 1
                        self.report.errors.append(f"references: {refused}")
                except (FetchFailed, BadPage, InvalidResource) as error:
                    failed += 1
                    self.report.errors.append(f"references: {error}")
        if unresolved:
            self.report.unresolved_references = len(unresolved)
            self.report.unresolved = unresolved[:MOST_NAMED]
            self.report.notes.append(f"{len(unresolved)} referenced resources are not available from the plan: "
                                     f"{named(unresolved)}")
        self.references_complete = failed == 0
        self._put_state(self._walk_state(REFERENCES, status=COMPLETE if self.references_complete else INCOMPLETE))

    def _lacks(self, target: tuple[str, str]) -> bool:
        resource_type, resource_id = target
        if not allows_read(self.client.token.scope, resource_type):
            return False
        if resource_id in self.received.get(resource_type, ()):
            return False
        if self.full_pass is not None:  # held but not received: read it, to know whether the plan still has it
            return not self.full_pass.has_seen(resource_type, resource_id)
        stored = self.store.get(self.name, resource_type, resource_id)
        return stored is None or stored.removed

    # ----- full sync: removals

    def _reconcile_removals(self) -> None:
        """Tombstone what the plan no longer has, when this run saw all of it (every walk complete).

        A type the granted scope limits by a query (SMART v2 granular scopes) is left alone: what the token does not
        see may well still be at the plan."""
        unfinished = [key for key, walk in self.report.streams.items() if walk.status not in (COMPLETE, SKIPPED, LOOPING)]
        if unfinished or not self.references_complete or self.report.errors:
            self.report.notes.append("removals were not checked, since the sync is incomplete")
            return
        everything = self.report.streams.get(EVERYTHING)
        listed_all = everything is not None and everything.status == COMPLETE
        for resource_type in self.store.counts(self.name):
            if resource_type in LISTED_BY_EVERYTHING_ONLY and not listed_all:
                continue
            self._tombstone(resource_type, self.store.ids(self.name, resource_type)
                            - self.received.get(resource_type, set()) - self.full_pass.seen_ids(resource_type))
        self.report.removals_reconciled = True
        for state in self.store.sync_states(self.name):
            if state.full_pass is not None:  # the full sync is over (and any it replaced): no ids needed any more
                self._put_state(replace(state, full_pass=None, seen=None))

    def _tombstone(self, resource_type: str, gone: set[str]) -> None:
        """So that the mirror marks removed only what the plan no longer has, not what the token cannot see.

        Mark `gone` removed, unless the plan refused the type or the granted scope limits it by a query (SMART
        v2 granular scopes): what the token does not see may well still be at the plan."""
        row = self.report.types.get(resource_type)
        if not gone or (row is not None and row.status == SKIPPED):
            return
        if ScopeAccess(self.client.token.scope).sees_whole_type(resource_type):
            self.report.type(resource_type).removed += self.store.mark_removed(
                self.name, resource_type, gone, run_id=self.run_id)

    # ----- plain sync: removals (removals.py)

    def _find_removals(self, stream: Walk, mark: str) -> None:
        """So that records the plan no longer lists are marked removed after a complete walk.

        Tombstone what a walk that ended complete held and the plan no longer lists, at one count request
        when nothing was removed."""
        walk = self.report.streams[stream.key]
        if walk.status != COMPLETE or self.report.reconnect_needed:
            return
        held = self._held_by(stream)
        if walk.mode == "full" and (not walk.slices or stream.key in self.counted_whole):
            # walked whole in this run (its slices adding up to the plan's count): what it received is the listing
            listed, walk.removals = self.received, "walked whole"
        else:
            # A record read by reference may be one the walk lists as well (an Organization $everything did
            # not bring as changed): the plan's count may include those reads or not.
            if not listing_due(self.listed_at.get(stream.key), mark) and self._plan_count(stream.url) in (
                    sum(map(len, held.values())), sum(self.store.counts(self.name).get(kind, 0) for kind in held)):
                walk.removals = "counted"
                return
            listed = self._listing(stream, mark)
            if listed is None:
                return
            walk.removals = "listed"
        for resource_type, ids in held.items():
            self._tombstone(resource_type, ids - listed.get(resource_type, set()))
        self.listed_at[stream.key] = mark
        self._put_state(self._walk_state(stream.key, high_water=self.store.sync_state(self.name, stream.key).high_water,
                                         status=COMPLETE))

    def _held_by(self, stream: Walk) -> dict[str, set[str]]:
        """So that removals are judged only against the types the walk could list in full.

        What the mirror holds from the walk, by type: every type for $everything, else the walk's own, unless
        its search cannot list them all."""
        if stream.key in LISTED_BY_EVERYTHING_ONLY:
            return {}
        types = self.store.counts(self.name) if stream.key == EVERYTHING else [stream.key]
        return {resource_type: self.store.ids(self.name, resource_type, self.base) for resource_type in types}

    def _plan_count(self, search_url: str) -> int | None:
        """How many records the plan holds for a search; None when it will not say."""
        try:
            return self.client.get(count_url(search_url), read=read_total)
        except (Refused, FetchFailed):
            return None

    def _listing(self, stream: Walk, mark: str) -> dict[str, set[str]] | None:
        """So that removals are found from a full listing of the plan's ids, or not at all.

        Every id the walk lists now, by type: ids only where the plan can, else the whole walk again; None
        (and a note) when the listing cannot be had in full."""
        for url in (listing_url(stream.url), stream.url):
            try:
                return self._ids_listed(stream, url, mark)
            except Refused as refused:
                if url != stream.url and refused.url == url:
                    continue  # the plan will not take `_elements` at all: list with whole records
                problem: Exception = refused
            except (FetchFailed, BadPage, PagingStopped, SlicesExhausted) as error:
                problem = error
            self.report.notes.append(f"{stream.key}: removals were not checked, since listing its ids failed ({problem})")
            return None

    def _ids_listed(self, stream: Walk, url: str, mark: str) -> dict[str, set[str]]:
        """So that every id a search lists can be had even when its paging loops.

        The ids of every page from `url` on, by type; in slices by `_lastUpdated` when its paging loops and the
        search can be sliced (then only if they add up to the plan's count)."""
        try:
            return self._ids_on_pages(url)
        except PagingStopped as loop:
            if stream.since != "_lastUpdated":
                raise
            listed: dict[str, set[str]] = {}
            slicing = Slicing(url, _plan_now(mark))
            for piece in slicing:
                try:
                    for resource_type, ids in self._ids_on_pages(piece).items():
                        listed.setdefault(resource_type, set()).update(ids)
                except PagingStopped:
                    slicing.halve()
            if self._plan_count(stream.url) != sum(map(len, listed.values())):
                raise PagingStopped(f"{loop}, and its slices by _lastUpdated do not add up to the plan's count") from None
            return listed

    def _ids_on_pages(self, url: str) -> dict[str, set[str]]:
        """The ids of every page from `url` on, by type."""
        listed: dict[str, set[str]] = {}
        guard, next_url = PagingGuard(url, self.options.max_pages), url
        while next_url is not None:
            page = self.client.get(next_url, read=self._read_page)
            for resource in page.resources:
                listed.setdefault(resource.resource_type, set()).add(resource.id)
            next_url = guard.next_url(page)
        return listed

    # ----- the report

    def _count_types(self) -> None:
        """Per type: what the received resources did to the store, how many fail R4 validation, how it ended."""
        for resource_type, ids in self.received.items():
            row = self.report.type(resource_type)
            for resource_id in ids:
                stored = self.store.get(self.name, resource_type, resource_id)
                if stored is None:
                    continue
                if stored.run_id != self.run_id:
                    row.unchanged += 1
                elif stored.version == 1:
                    row.new += 1
                else:
                    row.changed += 1
                if stored.findings:
                    row.invalid += 1
        for resource_type, row in self.report.types.items():
            if row.status == SKIPPED:
                continue
            walk_key = resource_type if resource_type in self.report.streams else self.walk_of_type.get(resource_type)
            walk = self.report.streams.get(walk_key)
            finished = walk.status == COMPLETE if walk is not None else self.references_complete
            row.status = COMPLETE if finished else INCOMPLETE

    def _outcome(self) -> str:
        if not self.report.errors:
            return COMPLETE
        stored_anything = self.report.pages or any(self.received.values())
        return PARTIAL if stored_anything else FAILED


def _plan_now(mark: str) -> datetime:
    """The plan's time at the start of the run, from the run's high-water mark."""
    return datetime.strptime(mark, INSTANT_FORMAT).replace(tzinfo=timezone.utc) + HIGH_WATER_OVERLAP
