"""The patient pages on a 390 px phone and a 1280 px desktop in a real headless Chromium.

Over a demo member synced from the mock: nothing scrolls sideways, and no amount, date or word is cut across two
lines.

Amounts and dates are marked in the markup (`.amount`, `.date`); an element the browser lays out on one line
has one client rectangle. Screenshots of every page are kept under the test's temporary folder.
"""

import pytest

WIDTHS = {"phone": 390, "desktop": 1280}

# Words of running text (not the raw JSON or a URL, which may wrap anywhere), split where a line may break
# anyway (spaces, hyphens, slashes), each with the number of lines it is laid out on.
WORDS_ON_LINES = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, .url, select, option")) continue;
    for (const word of node.data.matchAll(/[^\\s\\-\\u2013\\/]+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const tops = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
      found.push([word[0], tops.size]);
    }
  }
  return found;
}"""
MARKED_ON_LINES = """() => [...document.querySelectorAll(".amount, .date")]
  .map(element => [element.textContent, element.getClientRects().length])"""


def _page_urls(page, url: str) -> dict[str, str]:
    """Every page there is to look at: home, claims, each claim, coverage, records, and a claim's full record."""
    page.goto(url + "/claims")
    claims = [page.locator("a.claim-link").nth(index).get_attribute("href")
              for index in range(page.locator("a.claim-link").count())]
    assert claims
    _, _, source, claim_id = claims[0].split("/")
    return {"home": "/", "claims": "/claims", "coverage": "/coverage", "records": "/records",
            **{f"claim-{index}": href for index, href in enumerate(claims)},
            "record": f"/resource/{source}/ExplanationOfBenefit/{claim_id}"}

def _check_fits(page, name: str) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
    marked = page.evaluate(MARKED_ON_LINES)
    broken = [text for text, lines in marked if lines != 1]
    assert not broken, f"{name}: amounts or dates on two lines: {broken}"
    split_words = [word for word, lines in page.evaluate(WORDS_ON_LINES) if lines > 1]
    assert not split_words, f"{name}: words cut across lines: {split_words}"


@pytest.mark.parametrize("screen", WIDTHS)
def test_no_sideways_scroll_and_no_amount_date_or_word_cut_in_two(browser, site, tmp_path, screen):
    url, _ = site
    page = browser.new_page(viewport={"width": WIDTHS[screen], "height": 844})
    pages = _page_urls(page, url)
    marked_total = 0
    for name, path in pages.items():
        response = page.goto(url + path)
        assert response.status == 200, path
        page.screenshot(path=str(tmp_path / f"{screen}-{name}.png"), full_page=True)
        _check_fits(page, f"{name} ({path}) at {WIDTHS[screen]} px")
        marked_total += len(page.evaluate(MARKED_ON_LINES))
    assert marked_total > 100  # the check looked at the claims' amounts and dates, not at an empty page
    assert all((tmp_path / f"{screen}-{name}.png").stat().st_size > 0 for name in pages)
    page.close()
