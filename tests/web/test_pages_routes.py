"""The patient pages through Flask's test client: each page renders a synced member, and payer text that
tries to run script arrives as text (IN-X1, WB-1)."""

import re

import pytest

from mirror.api import create_app
from tests.mirror.stores import MEMBER1, fill, member_records, remove
from tests.web.hostile import HOSTILE_RESOURCES, IMAGE, SCRIPT


@pytest.fixture
def pages(tmp_path):
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    return create_app(tmp_path).test_client()


def test_home_shows_the_plan_member_and_counts(pages):
    html = pages.get("/").get_data(as_text=True)
    assert "demoplan" in html and "Ana Rivera" in html
    assert re.search(r"<td><a href=\"/claims\">Claims</a></td><td class=\"number\">20</td>", html)
    assert "Last sync:" in html and "complete" in html


def test_claims_filter_by_year_kind_and_provider(pages):
    every = pages.get("/claims").get_data(as_text=True)
    total = int(re.search(r"<p>(\d+) claims?, newest first", every).group(1))
    assert total == 20
    pharmacy = pages.get("/claims?kind=pharmacy").get_data(as_text=True)
    shown = int(re.search(r"<p>(\d+) claims?, newest first", pharmacy).group(1))
    assert 0 < shown < total and "Pharmacy" in pharmacy
    year = re.search(r'<option value="(\d{4})"', every).group(1)
    by_year = pages.get(f"/claims?year={year}").get_data(as_text=True)
    assert all(row == year for row in re.findall(r'<tr data-year="(\d{4})">', by_year))


def test_claim_detail_coverage_records_and_raw_json(pages):
    claims = pages.get("/claims").get_data(as_text=True)
    link = re.search(r'href="(/claims/demoplan/[^"]+)"', claims).group(1)
    detail = pages.get(link)
    assert detail.status_code == 200 and "The money" in detail.get_data(as_text=True)
    coverage = pages.get("/coverage").get_data(as_text=True)
    assert "Member id" in coverage and "Demo Health Plan" in coverage
    records = pages.get("/records").get_data(as_text=True)
    assert "Allergies" in records and "None recorded" not in records.split("Conditions")[1][:200]
    raw = pages.get(f"/resource/demoplan/Patient/{MEMBER1}").get_data(as_text=True)
    assert "Raw JSON, exactly as received" in raw and "Where it came from" in raw


def test_unknown_things_are_404(pages):
    for url in ("/resource/demoplan/Patient/nobody", "/resource/nosuchplan/Patient/x",
                "/resource/demoplan/NotAType/x", "/resource/demoplan/Patient/..%2Fx", "/claims/demoplan/nope"):
        assert pages.get(url).status_code == 404, url


def test_removed_records_say_so(tmp_path):
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    claim_id = next(key[1] for key in member_records(MEMBER1) if key[0] == "ExplanationOfBenefit")
    remove(tmp_path, "demoplan", "ExplanationOfBenefit", claim_id)
    page = create_app(tmp_path).test_client().get(f"/resource/demoplan/ExplanationOfBenefit/{claim_id}")
    assert "no longer has this record" in page.get_data(as_text=True)


def test_hostile_payer_text_is_escaped_everywhere(tmp_path):
    import orjson

    fill(tmp_path, "evilplan", [orjson.dumps(resource) for resource in HOSTILE_RESOURCES])
    client = create_app(tmp_path).test_client()
    for url in ("/", "/claims", "/claims/evilplan/evil-claim", "/resource/evilplan/Patient/evil-1",
                "/resource/evilplan/ExplanationOfBenefit/evil-claim", "/resource/evilplan/Organization/evil-org"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert SCRIPT not in html and IMAGE not in html, url
        assert "<script" not in html and "<img" not in html, url
    claim_page = client.get("/claims/evilplan/evil-claim").get_data(as_text=True)
    assert "Flu &lt;script&gt;" in claim_page and "Clinic &lt;img" in claim_page
    assert "default-src 'none'" in client.get("/").headers["Content-Security-Policy"]


def test_with_a_token_the_pages_ask_for_it_once(tmp_path):
    """`mirror serve --token`: a browser cannot send Bearer headers, so the pages unlock through a form whose
    cookie is HttpOnly and same-site; the FHIR API still wants the header."""
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    client = create_app(tmp_path, token="s3cret-token").test_client()
    locked = client.get("/claims")
    assert locked.status_code == 303 and locked.headers["Location"].endswith("/unlock")
    assert client.get("/unlock").status_code == 200
    wrong = client.post("/unlock", data={"token": "guess"})
    assert wrong.status_code == 401 and "not this mirror" in wrong.get_data(as_text=True)
    right = client.post("/unlock", data={"token": "s3cret-token"})
    assert right.status_code == 303
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "s3cret-token" not in cookie
    assert client.get("/claims").status_code == 200
    assert client.get(f"/fhir/Patient/{MEMBER1}").status_code == 401


@pytest.mark.parametrize("cookie", ["é", "\u202e", "\U0001F600"])
def test_an_unlock_cookie_that_is_not_ascii_gets_the_unlock_form_not_500(tmp_path, cookie):
    """A hostile cookie is a locked browser (303 to the unlock form), never a 500: the cookie used to reach
    hmac.compare_digest as a str, which refuses non-ASCII text."""
    fill(tmp_path, "demoplan", member_records(MEMBER1).values())
    client = create_app(tmp_path, token="s3cret-token").test_client()
    client.set_cookie("mirror_unlock", cookie)
    response = client.get("/claims")
    assert response.status_code == 303 and response.headers["Location"].endswith("/unlock")
