import pytest

from mirror.fhir.compartment import PATIENT_COMPARTMENT, patient_ids
from mirror.fhir.search_parameters import parameters_for


def test_patient_is_in_its_own_compartment():
    assert patient_ids({"resourceType": "Patient", "id": "-1"}) == {"-1"}
    assert patient_ids({"resourceType": "Patient"}) == set()


def test_coverage_counts_every_patient_role_but_not_organizations():
    coverage = {
        "resourceType": "Coverage",
        "beneficiary": {"reference": "Patient/child"},
        "subscriber": {"reference": "Patient/parent"},
        "policyHolder": {"reference": "https://payer.example/r4/Patient/holder"},
        "payor": [{"reference": "Organization/plan"}, {"reference": "Patient/self-pay"}],
    }
    assert patient_ids(coverage) == {"child", "parent", "holder", "self-pay"}


def test_participant_roles_do_not_grant_compartment_membership():
    observation = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/a"},
        "performer": [{"reference": "Patient/b"}],
    }
    assert patient_ids(observation) == {"a"}


def test_provenance_targets_only_count_when_they_are_patients():
    provenance = {"resourceType": "Provenance", "target": [{"reference": "Patient/p"}, {"reference": "Condition/c"}]}
    assert patient_ids(provenance) == {"p"}


@pytest.mark.parametrize(
    "resource",
    [
        {"resourceType": "Condition", "subject": {"reference": "Group/g"}},
        {"resourceType": "Condition", "subject": {"reference": "#contained"}},
        {"resourceType": "Condition", "subject": {"reference": "Patient/../x"}},
        {"resourceType": "Condition", "subject": {"identifier": {"value": "x"}}},
        {"resourceType": "Condition", "subject": "Patient/1"},
        {"resourceType": "Organization", "id": "o"},
    ],
)
def test_non_patient_or_unusable_references_give_nothing(resource):
    assert patient_ids(resource) == set()


def test_types_outside_the_table_fall_back_to_patient_subject_beneficiary():
    assert patient_ids({"resourceType": "Media", "subject": {"reference": "Patient/m"}}) == {"m"}
    assert patient_ids({"resourceType": "Account", "subject": [{"reference": "Patient/a"}]}) == {"a"}
    assert patient_ids({"resourceType": "Basic", "author": {"reference": "Patient/x"}}) == set()


def test_every_compartment_type_can_be_searched_by_patient():
    for resource_type in PATIENT_COMPARTMENT:
        assert parameters_for(resource_type).get("patient") is not None, resource_type


def test_carin_corpus_members_are_found(corpus):
    resources = corpus("carin-bb-2.0.0")
    patients = {r["id"] for _, r in resources if r["resourceType"] == "Patient"}
    for name, resource in resources:
        found = patient_ids(resource)
        if resource["resourceType"] in ("Organization", "Practitioner"):
            assert found == set(), name
        else:
            assert len(found) == 1 and found <= patients, name


def test_us_core_clinical_examples_are_found(corpus):
    directory_types = {"Organization", "Practitioner", "Location", "Medication", "Questionnaire", "Bundle"}
    for name, resource in corpus("us-core-6.1.0"):
        if resource["resourceType"] not in directory_types:
            assert patient_ids(resource), name
