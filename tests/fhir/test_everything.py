"""Patient $everything's parameters and paging, as both servers share them (mirror/fhir/everything.py)."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import pytest

from mirror.fhir.everything import answer_everything, by_type, parse_everything
from mirror.fhir.search import SearchError

BASE = "http://127.0.0.1:8080/fhir"


@dataclass
class Record:
    resource: dict
    text: str = field(init=False)
    key: tuple[str, str] = field(init=False)

    def __post_init__(self):
        self.text = orjson.dumps(self.resource).decode()
        self.key = (self.resource["resourceType"], self.resource["id"])


def record(resource_type, resource_id, last_updated="2024-01-01T00:00:00Z"):
    return Record({"resourceType": resource_type, "id": resource_id, "meta": {"lastUpdated": last_updated}})


HELD = [record("Observation", "o2"), record("Patient", "p1", "2025-06-01T00:00:00Z"), record("Coverage", "c1"),
        record("Observation", "o1", "2025-01-01T00:00:00Z")]


def page(query, held=HELD, **options):
    everything = parse_everything(query, default_count=50, max_count=1000)
    return orjson.loads(answer_everything(everything, by_type(held), base_url=BASE, patient_id="p1", **options))


def walk(query, held):
    """The ids of every page, following `next` links, and the total each page gave."""
    ids, totals, token = [], set(), None
    while True:
        body = page(query + ([("_page_token", token)] if token else []), held)
        ids += [entry["resource"]["id"] for entry in body.get("entry", [])]
        totals.add(body["total"])
        following = [link["url"] for link in body["link"] if link["relation"] == "next"]
        if not following:
            return ids, totals
        token = following[0].split("_page_token=")[1]


def test_parameters_and_their_canonical_self_link():
    everything = parse_everything([("_count", "5000"), ("_since", "2024"), ("_type", "Patient,Coverage,Patient"),
                                   ("other", "ignored")], default_count=10, max_count=1000)
    assert everything.types == ("Patient", "Coverage") and everything.count == 1000
    assert everything.self_params == (("_type", "Patient,Coverage"), ("_since", "2024"), ("_count", "1000"))
    assert parse_everything([], default_count=10, max_count=5).self_params == (("_count", "5"),)


@pytest.mark.parametrize("query", [[("_count", "abc")], [("_count", "-1")], [("_since", "soon")],
                                   [("_type", "patient")], [("_count", "1"), ("_count", "2")]])
def test_bad_parameters_are_search_errors(query):
    with pytest.raises(SearchError):
        parse_everything(query, default_count=10, max_count=100)


def test_ordered_by_type_and_id_filtered_and_paged():
    first = page([("_count", "3")])
    assert first["total"] == 4
    assert [e["resource"]["id"] for e in first["entry"]] == ["c1", "o1", "o2"]
    assert first["entry"][0]["fullUrl"] == f"{BASE}/Coverage/c1"
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["self"] == f"{BASE}/Patient/p1/$everything?_count=3"
    token = links["next"].split("_page_token=")[1]
    second = page([("_count", "3"), ("_page_token", token)])
    assert [e["resource"]["id"] for e in second["entry"]] == ["p1"] and "next" not in str(second["link"])
    assert [e["resource"]["id"] for e in page([("_type", "Observation")])["entry"]] == ["o1", "o2"]
    assert [e["resource"]["id"] for e in page([("_since", "2025-01-01T00:00:00Z")])["entry"]] == ["o1", "p1"]
    with pytest.raises(SearchError):
        page([("_count", "2"), ("_page_token", token)])  # a token of another request


def test_by_type_groups_types_in_name_order_and_each_in_id_order():
    grouped = by_type(HELD)
    assert list(grouped) == ["Coverage", "Observation", "Patient"]
    assert [item.key for item in grouped["Observation"]] == [("Observation", "o1"), ("Observation", "o2")]


MANY = [record(resource_type, f"{resource_type[0].lower()}{number:02}", f"2025-01-{1 + number % 28:02}T00:00:00Z")
        for resource_type, how_many in (("Coverage", 3), ("ExplanationOfBenefit", 23), ("Organization", 1),
                                        ("Patient", 1), ("Practitioner", 4))
        for number in range(how_many)]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 23, 31, 32, 100])
@pytest.mark.parametrize("query", [[], [("_type", "Practitioner,Coverage")], [("_since", "2025-01-10T00:00:00Z")]])
def test_pages_across_types_show_each_resource_once_in_key_order(query, count):
    def kept(item):
        return (not query or query[0][0] != "_type" or item.key[0] in ("Practitioner", "Coverage")) and \
            (not query or query[0][0] != "_since" or item.resource["meta"]["lastUpdated"] >= "2025-01-10")
    expected = [item.key[1] for item in sorted(MANY, key=lambda item: item.key) if kept(item)]
    ids, totals = walk(query + [("_count", str(count))], list(reversed(MANY)))
    assert ids == expected and totals == {len(expected)}


def test_since_reads_last_updated_through_the_callers_accessor():
    seen = []

    def changed_at(item):
        seen.append(item.key)
        return None if item.key[0] == "Patient" else datetime(2030, 1, 1, tzinfo=timezone.utc)

    body = page([("_since", "2029-01-01T00:00:00Z")], changed_at=changed_at)
    assert [entry["resource"]["id"] for entry in body["entry"]] == ["c1", "o1", "o2"]
    assert sorted(seen) == sorted(item.key for item in HELD)
