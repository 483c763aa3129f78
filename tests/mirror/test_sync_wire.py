"""Answers broken on the wire, through a socket-level proxy in front of the real mock payer (wire_proxy.py):
a body shorter than its Content-Length, a connection reset mid-body, a Content-Length shorter than the body,
and a body labelled gzip that is not are asked for again within the run, with the back-off of a 503 (SY-1,
SY-2, SY-6; RFC 9112 §6.3: a message that ends before its Content-Length is incomplete). One that never comes
whole ends the walk incomplete, exit 3, naming the URL (SY-6)."""

import functools
import json

import orjson
import requests
import pytest

from mirror.cli import main
from mirror.oauth import load_connection
from mirror.sync.http import FetchFailed, Garbled, PayerClient, display_url
from mirror.sync.options import SyncOptions
from tests.mirror.test_sync_mock import QUICK_RETRIES, Payer, held, sign_in
from tests.mirror.wire_proxy import DECLARED_SHORT, NOT_GZIP, RESET, SHORT, UNAVAILABLE, Breakage, WireProxy

BROKEN = [SHORT, RESET, DECLARED_SHORT, NOT_GZIP]
UPPER = lambda low, high: high  # noqa: E731 - full jitter at its bound, so the waits are exact
SEARCH = "/demoplan/r4/ExplanationOfBenefit?patient=demoplan-m1"


@pytest.fixture
def payer():
    running = Payer()
    yield running
    running.stop()


@pytest.fixture
def wire(payer):
    proxy = WireProxy(payer.url)
    yield proxy
    proxy.close()


@pytest.fixture
def connected(wire, data_dir):
    """The demo member signed in through the proxy, so every request of the sync passes it."""
    sign_in(wire, data_dir)
    return data_dir


def parsed(answer):
    """What the engine's page reader does with a body that does not parse: Garbled, asked for again."""
    try:
        return orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        raise Garbled("the answer is not valid JSON") from None


def client_for(data_dir) -> tuple[PayerClient, list[float]]:
    sleeps = []
    return PayerClient(data_dir, load_connection(data_dir, "demo"), sleep=sleeps.append, uniform=UPPER), sleeps


def fetch_broken(wire, data_dir, mode, times):
    """GET the search through answers broken `times` times in `mode`: (the answer or the failure, the waits)."""
    wire.break_answers(Breakage(SEARCH, 1, mode, times))
    client, sleeps = client_for(data_dir)
    try:
        return client.get(wire.url + SEARCH, read=parsed), sleeps
    except FetchFailed as failed:
        return failed, sleeps


@pytest.mark.parametrize("mode", BROKEN)
def test_a_page_broken_on_the_wire_is_asked_for_again_with_a_503s_back_off(wire, connected, mode):
    """SY-1, SY-2, RFC 9112 §6.3: two broken answers, then the whole page: the same URL asked three times, with
    exactly the waits two 503s get, and the page arrives complete."""
    whole = client_for(connected)[0].get(wire.url + SEARCH, read=parsed)
    _, waits_after_503s = fetch_broken(wire, connected, UNAVAILABLE, times=2)
    before = wire.seen.count(SEARCH)
    answer, waits = fetch_broken(wire, connected, mode, times=2)
    assert answer == whole and answer["entry"]
    assert wire.seen.count(SEARCH) - before == 3
    assert waits == waits_after_503s == [0.5, 1.0]


@pytest.mark.parametrize("mode", BROKEN)
def test_a_page_that_never_arrives_whole_fails_after_a_503s_attempts_naming_the_url(wire, connected, mode):
    """SY-2: broken for good, the page gets the attempts and waits of a 503 for good, then one line that names
    the URL and no token."""
    unavailable, waits_after_503s = fetch_broken(wire, connected, UNAVAILABLE, times=None)
    failed, waits = fetch_broken(wire, connected, mode, times=None)
    assert isinstance(unavailable, FetchFailed) and isinstance(failed, FetchFailed)
    assert waits == waits_after_503s == [0.5, 1.0, 2.0, 4.0]
    assert str(failed).startswith(f"{wire.url}{SEARCH}: ") and str(failed).endswith("after 5 attempts")
    assert load_connection(connected, "demo").token.access_token not in str(failed)


@pytest.fixture
def quick_cli_retries(monkeypatch):
    """`mirror sync` on the command line with a quick back-off (the same number of attempts)."""
    monkeypatch.setattr("mirror.cli.SyncOptions", functools.partial(SyncOptions, retry=QUICK_RETRIES))


def sync_json(data_dir, capsys) -> tuple[int, dict, str]:
    code = main(["--data-dir", str(data_dir), "sync", "--json", "--page-size", "10"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@pytest.mark.parametrize("mode", BROKEN)
def test_mirror_sync_through_a_page_broken_on_the_wire_once_completes(payer, wire, connected, capsys, mode,
                                                                      quick_cli_retries):
    """SY-6: `mirror sync` whose second $everything page comes broken once asks for it again in the same run:
    exit 0, complete, every record of the member as the mock holds it, that page requested twice."""
    wire.break_answers(Breakage("$everything", 2, mode))
    code, report, err = sync_json(connected, capsys)
    assert (code, err) == (0, "")
    assert report["plans"][0]["status"] == "complete" and not report["plans"][0]["errors"]
    assert held(connected) == payer.records()
    page_two = wire.broken_target()
    assert page_two is not None and wire.seen.count(page_two) == 2


@pytest.mark.parametrize("mode", [SHORT, RESET])
def test_mirror_sync_through_a_page_broken_for_good_is_partial_exit_3_naming_the_url(payer, wire, connected, capsys,
                                                                                     mode, quick_cli_retries):
    """SY-6: a page that never arrives whole ends its walk incomplete, exit 3, one error naming the page's URL
    (no traceback); the first page is kept, and the next sync, the wire healed, completes."""
    wire.break_answers(Breakage("$everything", 2, mode, times=None))
    code, report, err = sync_json(connected, capsys)
    assert (code, err) == (3, "")
    plan = report["plans"][0]
    assert plan["status"] == "partial"
    [error] = plan["errors"]
    page_two = wire.broken_target()
    assert error == f"$everything: {display_url(wire.url + page_two)}: the answer was cut off after 5 attempts" \
        or error == f"$everything: {display_url(wire.url + page_two)}: the connection failed after 5 attempts"
    assert wire.seen.count(page_two) == 5
    records = payer.records()
    assert held(connected) and all(records[key] == text for key, text in held(connected).items())
    wire.break_answers(None)
    code, report, err = sync_json(connected, capsys)
    assert (code, err, report["plans"][0]["status"]) == (0, "", "complete")
    assert held(connected) == records


@pytest.mark.parametrize(("mode", "seen_by_the_client"), [(SHORT, "IncompleteRead"), (RESET, "reset by peer")])
def test_the_proxy_breaks_answers_the_way_it_says(wire, mode, seen_by_the_client):
    """The proxy's faults are the real thing at the socket: fewer bytes than declared, then EOF; or an RST."""
    wire.break_answers(Breakage("/metadata", 1, mode))
    with pytest.raises(requests.RequestException, match=seen_by_the_client):
        requests.get(f"{wire.url}/demoplan/r4/metadata", timeout=10).raise_for_status()
