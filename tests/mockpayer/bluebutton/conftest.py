"""A real mock on a free loopback port serving the hand-written Blue Button plan alone, so its paths answer at
the root as CMS's SDK expects; and one serving it beside the bundled 1up plan, at its path prefix only."""

import pytest

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.clock import Clock
from mockpayer.plans import load_plan, load_plans
from tests.mockpayer.bluebutton.driver import BlueButtonDriver
from tests.mockpayer.bluebutton.plan import SYSTEM_ID, write_plan


@pytest.fixture
def bluebutton_plans(tmp_path):
    return write_plan(tmp_path / "plans")


@pytest.fixture
def bluebutton(bluebutton_plans):
    clock = Clock()
    server = start_in_thread(create_app(bluebutton_plans, clock=clock))
    yield BlueButtonDriver(server.url, clock)
    server.stop()


@pytest.fixture
def beside_demoplan(bluebutton_plans):
    """The Blue Button plan and the bundled plans on one mock: the driver speaks to `/bbtest/v2/...`."""
    clock = Clock()
    plans = {**load_plans(), SYSTEM_ID: load_plan(bluebutton_plans / SYSTEM_ID)}
    server = start_in_thread(create_app(plans=plans, clock=clock))
    yield BlueButtonDriver(server.url, clock, prefix=f"/{SYSTEM_ID}")
    server.stop()
