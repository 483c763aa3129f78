"""Patient $everything's parameters and paging, as both servers share them (mirror/fhir/everything.py)."""

from dataclasses import dataclass, field

import orjson
import pytest

from mirror.fhir.everything import answer_everything, parse_everything
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


def page(query, held=HELD):
    everything = parse_everything(query, default_count=50, max_count=1000)
    return orjson.loads(answer_everything(everything, held, base_url=BASE, patient_id="p1"))


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
