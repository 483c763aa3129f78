"""The consent page in a real headless Chromium, as a member on a phone sees it: every kind of record asked for
has a box (a wildcard, a box per type of record), unticking one narrows the grant, and long granular scopes stay
inside the screen."""

from urllib.parse import parse_qs, urlsplit

import requests

from tests.mockpayer.driver import CALLBACK

PHARMACY = "patient/ExplanationOfBenefit.rs?type=http://terminology.hl7.org/CodeSystem/claim-type|pharmacy"


def test_unticking_a_kind_of_record_in_the_browser_narrows_the_grant(browser, payer):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.route(f"{CALLBACK}**", lambda route: route.fulfill(body="the app"))  # nothing listens at the app's address
    page.goto(payer.authorize_url(scope=f"{PHARMACY} patient/Coverage.read launch/patient"))
    page.fill("input[name=username]", "member1")
    page.fill("input[name=password]", "pass-member1")
    page.click("button[type=submit]")

    boxes = page.locator("input[type=checkbox][name=share]")
    assert sorted(boxes.evaluate_all("boxes => boxes.map(box => box.value)")) == sorted([PHARMACY, "patient/Coverage.read"])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than a phone"
    page.uncheck("input[value='patient/Coverage.read']")
    page.click("button[value=allow]")
    page.wait_for_url(f"{CALLBACK}**")

    code = parse_qs(urlsplit(page.url).query)["code"][0]
    page.close()
    response = payer.exchange(code)
    assert response.status_code == 200, response.text
    assert response.json()["scope"].split() == [PHARMACY, "launch/patient"]


def test_unticking_one_type_of_a_wildcard_in_the_browser_narrows_the_grant(browser, payer):
    """`patient/*.read` is a box per type of record the member has; unticking Coverage in Chromium grants the
    other types in the wildcard's form, and the API then answers 403 `insufficient_scope` (RFC 6750 §3.1) on
    Coverage while the claims stay readable."""
    page = browser.new_page()
    page.route(f"{CALLBACK}**", lambda route: route.fulfill(body="the app"))
    page.goto(payer.authorize_url(scope="patient/*.read launch/patient"))
    page.fill("input[name=username]", "member1")
    page.fill("input[name=password]", "pass-member1")
    page.click("button[type=submit]")

    offered = page.locator("input[type=checkbox][name=share]").evaluate_all("boxes => boxes.map(box => box.value)")
    assert "patient/Coverage.read" in offered and "patient/ExplanationOfBenefit.read" in offered
    assert "patient/*.read" not in offered
    page.uncheck("input[value='patient/Coverage.read']")
    page.click("button[value=allow]")
    page.wait_for_url(f"{CALLBACK}**")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    page.close()

    tokens = payer.exchange(code).json()
    granted = tokens["scope"].split()
    assert granted == [box for box in offered if box != "patient/Coverage.read"] + ["launch/patient"]
    api = f"{payer.url}/demoplan/r4"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    coverage = requests.get(f"{api}/Coverage", headers=headers, timeout=10)
    assert coverage.status_code == 403 and 'error="insufficient_scope"' in coverage.headers["WWW-Authenticate"]
    assert requests.get(f"{api}/ExplanationOfBenefit", headers=headers, timeout=10).status_code == 200
