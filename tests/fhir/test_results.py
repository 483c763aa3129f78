import copy

import pytest

from mirror.fhir.results import SUBSETTED_TAG, included_references, sort_key, subset_elements
from mirror.fhir.search import parse_search


def search(resource_type, *pairs):
    return parse_search(resource_type, pairs, default_count=10, max_count=100)


@pytest.fixture(scope="module")
def carin_eobs(corpus):
    return [r for _, r in corpus("carin-bb-2.0.0") if r["resourceType"] == "ExplanationOfBenefit"]


def test_sort_by_last_updated_in_utc(carin_eobs):
    ordered = sorted(carin_eobs, key=sort_key(search("ExplanationOfBenefit", ("_sort", "_lastUpdated"))))
    # EOBInpatient1, Outpatient1, Pharmacy1 and Professional1 share one instant: the id breaks the tie
    assert [r["id"] for r in ordered] == [
        "EOBInpatient1", "EOBOutpatient1", "EOBPharmacy1", "EOBProfessional1", "EOBInpatient2",
        "EOBOutpatient2", "EOBProfessional2", "EOBOral1", "EOBOral2", "EOBProfessionalTransportation1",
    ]


def test_descending_date_sort_uses_service_dates_for_claims(carin_eobs):
    ordered = sorted(carin_eobs, key=sort_key(search("ExplanationOfBenefit", ("_sort", "-date"))))
    assert [r["id"] for r in ordered][:3] == ["EOBProfessionalTransportation1", "EOBOral2", "EOBOral1"]
    assert ordered[-1]["id"] == "EOBInpatient2"  # 2017


def test_resources_without_the_sort_value_come_last_both_ways():
    resources = [
        {"resourceType": "Observation", "id": "none"},
        {"resourceType": "Observation", "id": "old", "effectiveDateTime": "2001"},
        {"resourceType": "Observation", "id": "new", "effectivePeriod": {"start": "2020-05-01"}},
    ]
    ascending = sorted(resources, key=sort_key(search("Observation", ("_sort", "date"))))
    descending = sorted(resources, key=sort_key(search("Observation", ("_sort", "-date"))))
    assert [r["id"] for r in ascending] == ["old", "new", "none"]
    assert [r["id"] for r in descending] == ["new", "old", "none"]


def test_without_sort_the_order_is_by_id():
    resources = [{"id": "b"}, {"id": "-a"}, {"id": "a"}]
    assert [r["id"] for r in sorted(resources, key=sort_key(search("Patient")))] == ["-a", "a", "b"]


def test_includes_for_every_carin_eob_include(carin_eobs):
    eob = next(r for r in carin_eobs if r["id"] == "EOBOral1")
    everything = search("ExplanationOfBenefit", ("_include", "ExplanationOfBenefit:*"))
    assert included_references(everything, eob) == [
        ("Patient", "Patient2"), ("Practitioner", "PractitionerDentalProvider1"), ("Coverage", "CoverageDental1"),
        ("Organization", "DentalPayer1"),
    ]
    patient_only = search("ExplanationOfBenefit", ("_include", "ExplanationOfBenefit:patient"))
    assert included_references(patient_only, eob) == [("Patient", "Patient2")]
    care_team = search("ExplanationOfBenefit", ("_include", "ExplanationOfBenefit:care-team:Organization"))
    assert included_references(care_team, eob) == []


def test_includes_skip_contained_urn_and_wrong_type_references():
    eob = {
        "resourceType": "ExplanationOfBenefit",
        "patient": {"reference": "Patient/p"},
        "provider": {"reference": "#prov"},
        "insurer": {"reference": "urn:uuid:9d1ebcf3-6f87-4d4a-8bd4-0c8b3a9f6b2e"},
        "insurance": [{"coverage": {"reference": "https://payer.example/r4/Coverage/c"}},
                      {"coverage": {"reference": "Patient/not-a-coverage"}}],
    }
    assert included_references(search("ExplanationOfBenefit", ("_include", "ExplanationOfBenefit:*")), eob) == [
        ("Patient", "p"), ("Coverage", "c"),
    ]
    assert included_references(search("ExplanationOfBenefit"), eob) == []


def test_subset_elements_keeps_listed_and_mandatory_bookkeeping_and_tags():
    observation = {
        "resourceType": "Observation", "id": "o", "meta": {"versionId": "2", "tag": [{"code": "x"}]},
        "status": "final", "_status": {"extension": []}, "code": {"text": "c"},
        "valueQuantity": {"value": 1.10}, "valueString": "weird but kept", "subject": {"reference": "Patient/p"},
    }
    before = copy.deepcopy(observation)
    subset = subset_elements(observation, ("status", "value"))
    assert observation == before  # not modified
    assert set(subset) == {"resourceType", "id", "meta", "status", "_status", "valueQuantity", "valueString"}
    assert subset["meta"]["versionId"] == "2"
    assert subset["meta"]["tag"] == [{"code": "x"}, SUBSETTED_TAG]
    again = subset_elements(subset, ("status",))
    assert again["meta"]["tag"].count(SUBSETTED_TAG) == 1


def test_subset_elements_adds_meta_when_absent():
    subset = subset_elements({"resourceType": "Patient", "id": "p", "gender": "other"}, ("birthDate",))
    assert subset == {"resourceType": "Patient", "id": "p", "meta": {"tag": [SUBSETTED_TAG]}}
