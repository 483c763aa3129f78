"""The elements the mock keeps parsed of each resource answer what they are asked as the whole resource does."""

import pytest

from mirror.fhir.paths import values_at
from mirror.fhir.search import parse_search
from mockpayer.bluebutton.query import parse_query, selects
from mockpayer.indexed import StoredResource, covers, found_by_index, indexed_paths
from mockpayer.plans import BUNDLED_PLANS_DIR
from mockpayer.resources import load_plan_resources

PLANS = ("demoplan", "smartplan", "bluebutton")


@pytest.fixture(scope="module")
def held() -> list[StoredResource]:
    return [stored for plan in PLANS for loaded in (load_plan_resources(BUNDLED_PLANS_DIR / plan),)
            for stored in (*loaded.data.resources.values(), *loaded.directory.resources.values())]


def test_every_indexed_path_holds_what_the_whole_resource_holds_there(held):
    assert len(held) > 500
    for stored in held:
        resource = stored.resource
        for path in indexed_paths(stored.key[0]):
            assert values_at(stored.indexed, path) == values_at(resource, path), (stored.key, path)


@pytest.mark.parametrize("query", [
    [("excludeSAMHSA", "true")], [("type", "carrier,pde")], [("service-date", "ge2023-01-01"), ("service-date", "lt2024")],
    [("_lastUpdated", "gt2024-06-01")], [("type", "https://bluebutton.cms.gov/resources/codesystem/eob-type|inpatient"),
                                          ("excludeSAMHSA", "true"), ("service-date", "le2022-06-30")],
])
def test_blue_button_searches_select_on_the_indexed_elements_as_on_the_whole_claim(held, query):
    asked = parse_query("ExplanationOfBenefit", query)
    claims = [stored for stored in held if stored.key[0] == "ExplanationOfBenefit"]
    chosen = [selects(asked, stored.indexed) for stored in claims]
    assert chosen == [selects(asked, stored.resource) for stored in claims]
    assert any(chosen) and not all(chosen)


def test_a_search_the_indexes_cover_finds_what_matching_whole_resources_finds(held):
    claims = sorted((stored for stored in held if stored.key[0] == "ExplanationOfBenefit"), key=lambda s: s.key[1])
    patient = next(iter(claims[0].patients))
    for pairs in ([("patient", patient)], [("patient", patient), ("_sort", "-service-date")],
                  [("identifier", "x")], [("status", "active"), ("_lastUpdated", "ge2024")]):
        search = parse_search("ExplanationOfBenefit", pairs, default_count=10, max_count=50)
        expected = [stored.key for stored in claims if _matches_whole(search, stored)]
        found = [stored.key for stored in found_by_index(search, claims)]
        assert sorted(found) == sorted(expected)
        assert pairs[0][0] != "patient" or found


def _matches_whole(search, stored):
    from mirror.fhir.matching import matches

    return matches(search, stored.resource)


def test_what_the_indexes_cover():
    assert covers("ExplanationOfBenefit", ["billablePeriod.start", "item.servicedPeriod.start", "patient", "id"])
    assert not covers("ExplanationOfBenefit", ["item"])
    assert not covers("ExplanationOfBenefit", ["identifier"])
    assert covers("Observation", ["subject", "meta.lastUpdated"]) and not covers("Observation", ["code"])
