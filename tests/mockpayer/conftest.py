"""A real mock payer on a free loopback port for each test, with a clock the test can move."""

import pytest

from mockpayer.app import create_app
from mockpayer.clock import Clock
from mirror.http.wsgi_server import start_in_thread
from tests.mockpayer.driver import PayerDriver


@pytest.fixture
def payer():
    clock = Clock()
    app = create_app(clock=clock)
    server = start_in_thread(app)
    yield PayerDriver(server.url, app, clock)
    server.stop()
