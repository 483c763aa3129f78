"""The patient pages in a real headless Chromium (Debian's `chromium`, driven by Playwright), over a
`mirror serve` app on a loopback port holding a demo member synced from the mock by `mirror sync`."""

import json
from decimal import Decimal
from pathlib import Path

from mirror.store import Store
from mirror.web.money import claim_money


def _expected_year_totals(data_dir: Path) -> dict[str, dict[str, Decimal]]:
    """Per-year money computed here from the stored EOBs' adjudications, independently of the page."""
    totals: dict[str, dict[str, Decimal]] = {}
    with Store(data_dir, read_only=True) as store:
        for stored in store.search("ExplanationOfBenefit"):
            eob = json.loads(stored.text)
            if eob.get("use") == "preauthorization":  # a request for approval, not a claim (Da Vinci PDex)
                continue
            year = (eob.get("billablePeriod", {}).get("start") or eob["created"])[:4]
            money = claim_money(eob)
            row = totals.setdefault(year, {"billed": Decimal(0), "paid": Decimal(0), "owed": Decimal(0)})
            row["billed"] += money.billed or 0
            row["paid"] += money.plan_paid or 0
            row["owed"] += money.you_owe or 0
    return totals


def _fits_the_screen(page) -> None:
    """Nothing wider than the phone's screen: no sideways scrolling to read a page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def _dollars(text: str) -> Decimal:
    return Decimal(text.strip().lstrip("$").replace(",", ""))


def test_home_claims_totals_and_a_claim_in_the_browser(browser, site, tmp_path):
    url, data_dir = site
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
    page.goto(url + "/")
    assert page.locator("h1").inner_text() == "Your plans"
    assert "Ana Rivera" in page.locator("section.plan").inner_text()
    _fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.click("text=Claims")
    page.wait_for_url("**/claims")  # the claims page has loaded, not just been asked for
    expected = _expected_year_totals(data_dir)
    rows = page.locator("table.totals tr[data-year]")
    assert rows.count() == len(expected)
    for index in range(rows.count()):
        row = rows.nth(index)
        year = row.get_attribute("data-year")
        assert _dollars(row.locator("td.billed").inner_text()) == expected[year]["billed"]
        assert _dollars(row.locator("td.paid").inner_text()) == expected[year]["paid"]
        assert _dollars(row.locator("td.owed").inner_text()) == expected[year]["owed"]
    _fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "claims.png"), full_page=True)

    first = page.locator("li.claim").first
    claim_id = first.get_attribute("data-claim")
    first.locator("a.claim-link").click()
    assert page.url.endswith(f"/claims/demo/{claim_id}")
    assert page.locator("h1").inner_text().endswith("claim")
    assert page.locator("table.money-table td.billed").inner_text().startswith("$")
    _fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "claim.png"), full_page=True)
    page.click("text=The full record, as the plan sent it")
    assert claim_id in page.locator("pre.raw").inner_text()
    _fits_the_screen(page)
    assert (tmp_path / "home.png").stat().st_size > 0 and (tmp_path / "claim.png").stat().st_size > 0
    page.close()


def test_pages_work_without_javascript_and_load_nothing_from_elsewhere(browser, site):
    url, _ = site
    context = browser.new_context(java_script_enabled=False)
    requested = []
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url + "/claims?kind=pharmacy")
    assert page.locator("li.claim").count() > 0
    assert all(address.startswith(url) for address in requested), requested
    context.close()
