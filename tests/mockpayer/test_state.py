"""The mock's state primitives, in memory and on a real redis-server, and the parts built on them across processes.

"Two processes" here are two `open_state(url)` on one Redis, each with its own connection, clock and objects.
"""

from __future__ import annotations

import threading

import pytest
import redis

from mockpayer.auth.ledger import CodeRecord, Ledger, TokenRecord
from mockpayer.auth.transactions import LIFETIME, Transactions
from mockpayer.clock import Clock
from mockpayer.faults import FaultBoard, parse_spec
from mockpayer.plans import load_plans
from mockpayer.resources import load_plan_resources
from mockpayer.scenarios import Scenarios
from mockpayer.state import StateError, hashed, open_state, shown_url
from mockpayer.state.memory import MemoryState


@pytest.fixture(params=["memory", "redis"])
def state(request):
    return open_state(None if request.param == "memory" else request.getfixturevalue("redis_url"))


def _race(threads: int, work) -> list:
    """What `work(n)` answered in each of `threads` threads started together (n: the thread's number)."""
    results: list = []
    lock = threading.Lock()

    def run(number):
        answer = work(number)
        with lock:
            results.append(answer)

    started = [threading.Thread(target=run, args=(number,)) for number in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return results


def test_values_are_json_and_never_shared_with_the_caller(state):
    value = {"count": 1, "names": ["a"], "at": 1.5}
    state.put("thing", value)
    value["names"].append("b")
    assert state.get("thing") == {"count": 1, "names": ["a"], "at": 1.5}
    assert state.get_many(["thing", "nothing"]) == [{"count": 1, "names": ["a"], "at": 1.5}, None]
    state.delete("thing")
    assert state.get("thing") is None


def test_put_new_and_take_have_one_winner_among_racing_threads(state):
    assert _race(8, lambda _: state.put_new("claim", 1)).count(True) == 1
    state.put("code", "abc")
    taken = _race(8, lambda _: state.take("code"))
    assert taken.count("abc") == 1 and taken.count(None) == 7


def test_update_is_atomic_and_an_exception_leaves_the_value(state):
    _race(4, lambda _: [state.update("tally", lambda n: (n or 0) + 1) for _ in range(50)])
    assert state.get("tally") == 200

    def refuse(_):
        raise ValueError("no")

    with pytest.raises(ValueError):
        state.update("tally", refuse)
    assert state.get("tally") == 200
    assert state.update("tally", lambda n: None) == (200, None) and state.get("tally") is None


def test_counters_lists_and_forgetting_by_prefix(state):
    assert [state.increment("epoch") for _ in range(3)] == [1, 2, 3]
    for n in range(5):
        state.append("outbox", {"n": n}, keep=3)
    assert state.items("outbox") == [{"n": 2}, {"n": 3}, {"n": 4}]
    for key in ("lockout:plan*1:member:a", "lockout:plan*1:client:[b]", "lockout:plan*10:member:a", "lockout:x"):
        state.put(key, 1)
    state.forget("lockout:plan*1:")
    assert state.get_many(["lockout:plan*1:member:a", "lockout:plan*1:client:[b]", "lockout:plan*10:member:a",
                           "lockout:x"]) == [None, None, 1, 1]


def test_values_held_for_a_request_are_read_once_and_follow_its_own_writes(redis_url):
    """`hold` reads the keys in one MGET; until `release`, another process's writes to them are not seen (the
    request sees the state as it began), this process's own are, and keys not held are read as ever."""
    here, elsewhere = open_state(redis_url), open_state(redis_url)
    client = redis.Redis.from_url(redis_url)
    for key in ("clock", "days", "flag", "counter"):
        elsewhere.put(key, 1)
    def mgets() -> int:
        return client.info("commandstats").get("cmdstat_mget", {"calls": 0})["calls"]

    before = mgets()
    held = here.hold(["clock", "days", "flag", "counter", "absent"])
    assert mgets() == before + 1
    elsewhere.put("clock", 2)
    elsewhere.put("unheld", 5)
    here.put("days", 3)
    here.increment("counter")
    here.update("flag", lambda value: value + 10)
    assert here.get_many(["clock", "days", "counter", "flag", "absent", "unheld"]) == [1, 3, 2, 11, None, 5]
    here.release(held)
    assert here.get("clock") == 2
    assert MemoryState().hold(["clock"]) is None  # in process, a read costs no round trip: nothing is held


def test_redis_keys_are_prefixed_and_carry_a_real_ttl(redis_url):
    one, other = open_state(f"{redis_url}?prefix=run1"), open_state(f"{redis_url}?prefix=run2")
    one.put("code:x", 1, ttl=90)
    other.put("code:x", 2)
    assert (one.get("code:x"), other.get("code:x")) == (1, 2)
    client = redis.Redis.from_url(redis_url)
    assert sorted(client.keys("*")) == [b"mockpayer:run1:code:x", b"mockpayer:run2:code:x"]
    assert 0 < client.pttl("mockpayer:run1:code:x") <= 90_000 and client.pttl("mockpayer:run2:code:x") == -1
    one.update("code:x", lambda n: n + 1)
    assert 0 < client.pttl("mockpayer:run1:code:x") <= 90_000  # an update without a ttl keeps the key's


def test_in_memory_keys_expire_with_their_ttl():
    state = MemoryState()
    state.put("gone", 1, ttl=0.000001)
    state.put("kept", 1, ttl=3600)
    threading.Event().wait(0.01)
    assert state.get_many(["gone", "kept"]) == [None, 1]


def test_a_code_redeems_once_across_processes(redis_url):
    clocks = [Clock(state=open_state(redis_url)) for _ in range(2)]
    ledgers = [Ledger(clock, clock.state) for clock in clocks]
    now = clocks[0].now()
    ledgers[0].add_code(CodeRecord(hashed("the-code"), "demoplan", "app", None, "patient/*.read", "member1", now, now + 300))
    claims = _race(8, lambda n: ledgers[n % 2].claim_code("the-code", "demoplan"))
    assert sorted(was_used for _, was_used in claims) == [False] + [True] * 7
    assert ledgers[1].claim_code("the-code", "smartplan") == (None, False)


def test_the_mock_clock_moved_in_one_process_expires_in_the_other(redis_url):
    """Expiry follows the mock's clock, shared through the state, well before Redis's real-time TTL."""
    first, second = (Clock(state=open_state(redis_url)) for _ in range(2))
    transactions = Transactions(first, first.state)
    transaction_id, _ = transactions.begin("demoplan", "request")
    ledger, elsewhere = Ledger(first, first.state), Ledger(second, second.state)
    now = first.now()
    ledger.add_token(TokenRecord(hashed("access"), "demoplan", "app", "member1", "p1", "patient/*.read", now, 3600,
                                 "family", hashed("refresh"), now + 4000))
    assert Transactions(second, second.state).get(transaction_id) is not None
    assert elsewhere.active_access_token("access") is not None
    first.advance(3600)
    assert elsewhere.active_access_token("access") is None
    assert elsewhere.refresh_is_active(elsewhere.by_refresh_token("refresh"))
    second.advance(LIFETIME)
    assert Transactions(first, first.state).get(transaction_id) is None
    assert not ledger.refresh_is_active(ledger.by_refresh_token("refresh"))
    assert redis.Redis.from_url(redis_url).pttl(f"mockpayer:token:{hashed('access')}") > 0  # Redis keeps it, for replays


def test_a_revoked_family_is_revoked_in_every_process_even_for_tokens_issued_after(redis_url):
    ledgers = [Ledger(clock, clock.state) for clock in (Clock(state=open_state(redis_url)) for _ in range(2))]
    now = ledgers[0].clock.now()
    ledgers[0].add_token(TokenRecord(hashed("a1"), "demoplan", "app", "member1", "p1", "s", now, 3600, "fam",
                                     hashed("r1"), now + 9))
    ledgers[1].revoke_family("fam")
    ledgers[1].add_token(TokenRecord(hashed("a2"), "demoplan", "app", "member1", "p1", "s", now, 3600, "fam",
                                     hashed("r2"), now + 9))
    assert ledgers[0].active_access_token("a1") is None and ledgers[0].active_access_token("a2") is None
    assert ledgers[1].by_refresh_token("r2").refresh_revoked


def test_fault_draws_are_the_same_whichever_process_makes_them(redis_url):
    """A `rate` rule with a seed fires on the same request numbers in one process as in two taking turns."""
    plans = load_plans()
    spec = {"seed": 11, "server_error": {"rate": 0.4}, "latency": {"seconds": [0, 0.001], "rate": 0.5}}

    def fired(boards) -> list:
        return [[(firing.rule.kind, firing.delay) for firing in boards[n % len(boards)].get("demoplan").arrive("api")[1]]
                for n in range(40)]

    alone = FaultBoard(plans, None, {"demoplan": spec}, MemoryState())
    shared = [FaultBoard(plans, None, {"demoplan": spec}, open_state(redis_url)) for _ in range(2)]
    expected = fired([alone])
    assert fired(shared) == expected and any(expected) and not all(expected)
    assert shared[0].describe()["demoplan"]["requests"]["api"] == 40
    shared[1].configure("demoplan", parse_spec({}, "spec"))
    assert shared[0].get("demoplan") is None and not shared[0]


def test_open_state_refuses_what_is_not_a_reachable_redis_in_one_line():
    assert isinstance(open_state(None), MemoryState)
    with pytest.raises(StateError, match="not a Redis URL"):
        open_state("postgres://db/0")
    with pytest.raises(StateError, match="cannot use Redis there") as refused:
        open_state("redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(refused.value) and "***" in str(refused.value) and "\n" not in str(refused.value)
    assert shown_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert shown_url("unix:///run/redis.sock?db=0&password=pw") == "unix:///run/redis.sock?db=0&password=***"
    given = MemoryState()
    assert open_state(given) is given


def test_two_processes_advancing_at_once_move_a_plan_two_days_and_serve_the_same_records(redis_url):
    plans = {"demoplan": load_plans()["demoplan"]}
    processes = []
    for _ in range(2):
        scenarios = Scenarios(plans, open_state(redis_url))
        processes.append((scenarios, {"demoplan": load_plan_resources(plans["demoplan"].folder)}))
    moved = _race(2, lambda n: processes[n][0].advance(processes[n][1], ["demoplan"], Clock().now()))
    assert sorted(result["demoplan"]["day"] for result in moved) == [2, 3]
    for scenarios, resources in processes:
        scenarios.sync(resources)
        assert scenarios.current_day["demoplan"] == 3
    texts = [{key: stored.text for key, stored in resources["demoplan"].data.resources.items()}
             for _, resources in processes]
    assert texts[0] == texts[1]
