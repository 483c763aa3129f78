"""Suite-wide settings and shared parts: tests keep tokens in the data folder's private file, whatever keyring
the machine has, so they behave the same on a developer's desktop (with a keyring) as in CI (without one); the
browser tests share one headless Chromium."""

import os
import shutil

import pytest

from mirror.token_vault import STORE_VARIABLE


@pytest.fixture(autouse=True)
def tokens_in_the_private_file(monkeypatch):
    monkeypatch.setenv(STORE_VARIABLE, "file")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def needs_in_ci(what: str, how: str) -> None:
    """A tool the tests need but a developer's machine may lack: skip here, fail in CI (whose setup installs it)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must install {what} (.ci/run does)")
    pytest.skip(f"no {what} on this machine: {how}")


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (which never downloads a browser of its own here)."""
    if CHROMIUM is None:
        needs_in_ci("Debian's chromium", "`apt-get install chromium` to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the session (Debian's package, on a free loopback port): its URL."""
    from tests.redis_server import REDIS_SERVER, running_redis

    if REDIS_SERVER is None:
        needs_in_ci("Debian's redis-server", "`apt-get install redis-server` to run the shared-state tests")
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_url(redis_server):
    """The session's redis-server, emptied for this test, so no test sees another's keys."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server


@pytest.fixture(scope="session")
def mock_payer_session_fixtures(tmp_path_factory):
    """The plans of the session-wide mock (`mock_payer_session`): one big generated plan, loaded once for every
    test that uses it (tests/qa/test_session_mock.py). Here, at the top, because the session has one such mock."""
    from mockpayer.generate import write_plan

    plans = tmp_path_factory.mktemp("session-plans")
    write_plan(plans / "bigplan", system_id="bigplan", name="Big Plan", base_url="bigplan.example", members=20,
               claims_per_member=100, seed=25, days=2)
    return plans
