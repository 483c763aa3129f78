"""Paging through the mirror's API (API-4): following `next` from the first page shows every match exactly once,
whatever `_count` is (random, seeded), in every sort order and for `$everything`; `previous` walks back over the
same pages; `total` is the number of matches.
"""

import random

import pytest

from mirror.api import create_app
from tests.mirror.stores import MEMBER1, fill, member_records, observations

SEED = 20240611
HOST = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paging")
    records = member_records()
    fill(folder, "demo", [*records.values(), *observations(83, patient=MEMBER1)])
    return create_app(folder).test_client()


def walk(client, url: str, relation: str = "next") -> tuple[list[tuple[str, str, str]], int, list[str]]:
    """Every entry (type, id, mode) of every page from `url` on, the total, and the page URLs."""
    seen, urls, total = [], [], None
    while url is not None:
        assert url.startswith(HOST)
        response = client.get(url[len(HOST):], base_url=HOST)
        assert response.status_code == 200, response.data
        page = response.get_json(force=True)
        total = page["total"] if total is None else total
        assert page["total"] == total
        urls.append(url)
        seen += [(e["resource"]["resourceType"], e["resource"]["id"], e["search"].get("mode", "match"))
                 if "search" in e else (e["resource"]["resourceType"], e["resource"]["id"], "match")
                 for e in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == relation), None)
    return seen, total, urls


@pytest.mark.parametrize("query", ["Observation?", "Observation?_sort=-date&", "Observation?_sort=_lastUpdated&",
                                   f"Observation?patient={MEMBER1}&", "ExplanationOfBenefit?_sort=-_lastUpdated&",
                                   f"Patient/{MEMBER1}/$everything?"])
def test_every_resource_exactly_once_for_random_page_sizes(client, query):
    rng = random.Random(f"{SEED}-{query}")
    everything, total, _ = walk(client, f"{HOST}/fhir/{query}_count=1000")
    assert len(everything) == total > 0
    for count in rng.sample(range(1, 61), 6):
        seen, paged_total, urls = walk(client, f"{HOST}/fhir/{query}_count={count}")
        assert paged_total == total
        assert len(urls) == max(1, -(-total // count))
        assert seen == everything  # same order, each once
        back, _, _ = walk(client, urls[-1], relation="previous")
        pages_backwards = [everything[i:i + count] for i in range(0, total, count)][::-1]
        assert back == [entry for page in pages_backwards for entry in page]


def test_includes_repeat_per_page_but_matches_never(client):
    """Included resources belong to the page that names them; matches appear once across pages."""
    seen, total, _ = walk(client, f"{HOST}/fhir/ExplanationOfBenefit?_include=ExplanationOfBenefit:provider&_count=3")
    matches = [entry for entry in seen if entry[2] == "match"]
    assert len(matches) == len(set(matches)) == total
    assert any(entry[2] == "include" for entry in seen)


def test_a_page_token_from_another_search_is_refused(client):
    _, _, urls = walk(client, f"{HOST}/fhir/Observation?_count=100")
    token = urls[1].split("_page_token=")[1]
    response = client.get(f"/fhir/Observation?_count=50&_page_token={token}", base_url=HOST)
    assert response.status_code == 400
