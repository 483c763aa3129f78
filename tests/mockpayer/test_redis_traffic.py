"""What a mock on `--state redis://` sends to a real redis-server, and what it leaves there.

Counted with `INFO commandstats` before and after each request: a count of commands, not a time, so it is the
same on every run. Two apps on one Redis stand for two worker processes, each with its own connection and memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import requests

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.plans import BUNDLED_PLANS_DIR
from tests.mockpayer.driver import PayerDriver

EOB_PAGE = "demoplan/r4/ExplanationOfBenefit?_count=50"


@pytest.fixture
def two_mocks(redis_url) -> Iterator[tuple[PayerDriver, PayerDriver]]:
    servers = [start_in_thread(create_app(BUNDLED_PLANS_DIR, state=redis_url)) for _ in range(2)]
    try:
        yield tuple(PayerDriver(server.url, None, None) for server in servers)
    finally:
        for server in servers:
            server.stop()


def _commands(client: redis.Redis, request) -> int:
    """How many commands Redis ran while `request()` was answered (INFO itself left out)."""
    def calls() -> dict[str, int]:
        return {name: stats["calls"] for name, stats in client.info("commandstats").items()
                if name != "cmdstat_info"}

    before = calls()
    response = request()
    assert response.status_code == 200, response.text
    return sum(calls().values()) - sum(before.values())


def test_an_authenticated_fhir_page_costs_one_round_trip_to_redis(redis_url, two_mocks):
    """Clients, days, clock, faults and the token's record or marks are read in one MGET; token records, which never
    change, are remembered by the process that issued or first read them, so later pages need only the marks."""
    issuer, other = two_mocks
    client = redis.Redis.from_url(redis_url)
    headers = {"Authorization": f"Bearer {issuer.tokens()['access_token']}"}

    def page(mock: PayerDriver):
        return lambda: requests.get(f"{mock.url}/{EOB_PAGE}", headers=headers, timeout=30)

    assert _commands(client, page(issuer)) <= 1
    assert _commands(client, page(other)) <= 2  # the record first, then its marks
    assert _commands(client, page(other)) <= 1
    assert _commands(client, lambda: requests.get(f"{other.url}/demoplan/r4/metadata", timeout=30)) <= 1


def test_a_token_revoked_through_one_mock_is_refused_by_the_other_that_remembers_its_record(two_mocks):
    """What happens to a token is never remembered, only the record: a replay on one is seen on the other."""
    a, b = two_mocks
    tokens = a.tokens()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{b.url}/{EOB_PAGE}", headers=headers, timeout=30).status_code == 200
    assert a.refresh(tokens["refresh_token"]).status_code == 200
    assert a.refresh(tokens["refresh_token"]).status_code == 400  # a replay: the family is revoked
    assert requests.get(f"{b.url}/{EOB_PAGE}", headers=headers, timeout=30).status_code == 401


def test_no_code_or_token_is_kept_in_redis_as_it_was_issued(redis_url, two_mocks):
    """Keys and values name codes and tokens by their SHA-256 only: a dump of Redis gives nothing to present."""
    a, b = two_mocks
    code = a.code()
    issued = a.exchange(code).json()
    refreshed = b.refresh(issued["refresh_token"]).json()
    assert b.introspect(refreshed["access_token"])["active"] is True
    secrets = {code, issued["access_token"], issued["refresh_token"], refreshed["access_token"],
               refreshed["refresh_token"]}
    client = redis.Redis.from_url(redis_url)
    dumped = []
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key)]
        elif kind == b"hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        else:
            values = [repr(kind).encode()]
        dumped += [key, *values]
    assert any(key.startswith(b"mockpayer:token:") for key in dumped)
    found = [secret for secret in secrets if any(secret.encode() in text for text in dumped)]
    assert found == []
