"""The lab results and prior authorizations pages in a real headless Chromium at a phone's width (390 px) and
a desktop's (1280 px), served by `mirror serve`'s app on a loopback port: nothing scrolls sideways, and no date,
value or quantity is broken across two lines."""

import orjson
import pytest

from mirror.api import create_app
from mirror.http.wsgi_server import start_in_thread
from tests.mirror.stores import MEMBER1, fill, member_records
from tests.web.health_records import HEALTH_RECORDS

UNBROKEN = "time.date, .value, .quantity, .number-ref"


@pytest.fixture
def site(tmp_path):
    """The records written for these tests beside the bundled demo member, served the way `mirror serve` does."""
    data_dir = tmp_path / "data"
    fill(data_dir, "testplan", [orjson.dumps(resource) for resource in HEALTH_RECORDS])
    fill(data_dir, "demoplan", member_records(MEMBER1).values())
    server = start_in_thread(create_app(data_dir))
    yield server.url
    server.stop()


def _check_layout(page) -> int:
    """No sideways scrolling; each date and number is one line box. Returns how many were checked."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    broken = page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
             .filter(element => element.getClientRects().length !== 1)
             .map(element => element.textContent)""", UNBROKEN)
    assert broken == []
    return page.locator(UNBROKEN).count()


@pytest.mark.parametrize("width", [390, 1280])
def test_labs_fit_the_screen_without_breaking_a_number(browser, site, tmp_path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(site + "/labs")
    assert page.locator("h1").inner_text() == "Lab results and vital signs"
    assert _check_layout(page) > 40  # the demo member's results and the test's own
    charts = page.locator("svg.chart")
    assert charts.count() > 0
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box["width"] > 0 and box["x"] + box["width"] <= width
    flagged = page.locator("tr[data-id='glu-high'] td.flag").inner_text()
    assert flagged == "High"
    page.screenshot(path=str(tmp_path / f"labs-{width}.png"), full_page=True)
    assert (tmp_path / f"labs-{width}.png").stat().st_size > 0
    page.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_prior_authorizations_fit_the_screen(browser, site, tmp_path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(site + "/")
    page.click("nav >> text=Prior authorizations")
    assert page.url.endswith("/prior-authorizations")
    decisions = {page.locator(f"article[data-id='{auth_id}'] .decision").inner_text()
                 for auth_id in ("pa-approved", "pa-denied", "pa-pending")}
    assert decisions == {"Approved", "Denied", "Pending"}
    assert _check_layout(page) >= 5
    page.screenshot(path=str(tmp_path / f"prior-authorizations-{width}.png"), full_page=True)
    assert (tmp_path / f"prior-authorizations-{width}.png").stat().st_size > 0
    page.close()
