import pytest

from mirror.fhir.matching import matches
from mirror.fhir.search import parse_search


def search(resource_type, *pairs):
    return parse_search(resource_type, pairs, default_count=10, max_count=100)


def found(resources, resource_type, *pairs):
    compiled = search(resource_type, *pairs)
    return sorted(resource["id"] for resource in resources if matches(compiled, resource))


@pytest.fixture(scope="module")
def carin(corpus):
    return [resource for _, resource in corpus("carin-bb-2.0.0")]


@pytest.fixture(scope="module")
def plan_net(corpus):
    return [resource for _, resource in corpus("plan-net-1.1.0")]


PATIENT1_EOBS = ["EOBInpatient2", "EOBOutpatient2", "EOBProfessional2", "EOBProfessionalTransportation1"]


@pytest.mark.parametrize("value", ["Patient1", "Patient/Patient1", "https://payer.example/r4/Patient/Patient1"])
def test_eob_by_patient_in_every_reference_form(carin, value):
    # Inferno CARIN/US Core: patient=[id] and patient=Patient/[id] return the same results
    assert found(carin, "ExplanationOfBenefit", ("patient", value)) == PATIENT1_EOBS


def test_type_is_ignored_on_a_different_resource_type(carin):
    assert found(carin, "Coverage", ("patient", "Patient1")) == ["Coverage1", "Coverage2"]
    assert found(carin, "ExplanationOfBenefit") == sorted(
        r["id"] for r in carin if r["resourceType"] == "ExplanationOfBenefit"
    )


def test_eob_type_token_with_and_without_system(carin):
    system = "http://terminology.hl7.org/CodeSystem/claim-type"
    assert found(carin, "ExplanationOfBenefit", ("type", "pharmacy")) == ["EOBPharmacy1"]
    assert found(carin, "ExplanationOfBenefit", ("type", f"{system}|oral,pharmacy")) == [
        "EOBOral1", "EOBOral2", "EOBPharmacy1",
    ]
    assert found(carin, "ExplanationOfBenefit", ("type", "http://other|pharmacy")) == []
    assert found(carin, "ExplanationOfBenefit", ("type", "|pharmacy")) == []


def test_identifier_token_forms(carin):
    system = "https://www.upmchealthplan.com/fhir/EOBIdentifier"
    assert found(carin, "ExplanationOfBenefit", ("identifier", f"{system}|InpatientEOBExample1")) == ["EOBInpatient2"]
    assert found(carin, "ExplanationOfBenefit", ("identifier", "InpatientEOBExample1")) == ["EOBInpatient2"]
    assert found(carin, "ExplanationOfBenefit", ("identifier", f"{system}|")) == [
        "EOBInpatient2", "EOBOutpatient2", "EOBProfessional2",
    ]
    assert found(carin, "ExplanationOfBenefit", ("identifier", "|InpatientEOBExample1")) == []
    assert found(carin, "ExplanationOfBenefit", ("identifier", "inpatienteobexample1")) == []  # case-sensitive


def test_last_updated_range_is_repeated_and(carin):
    # lastUpdated values carry -04:00 and -05:00 offsets: compared in UTC
    assert found(carin, "ExplanationOfBenefit", ("_lastUpdated", "ge2020"), ("_lastUpdated", "lt2021")) == [
        "EOBInpatient2", "EOBOutpatient2", "EOBProfessional2",
    ]
    assert found(carin, "ExplanationOfBenefit", ("_lastUpdated", "gt2022-09-10T18:46:04Z")) == [
        "EOBProfessionalTransportation1",
    ]
    assert found(carin, "ExplanationOfBenefit", ("_lastUpdated", "gt2022-09-10T18:46:05Z")) == []


def test_service_date_reads_billable_period_and_item_dates(carin):
    # EOBPharmacy1: billable period 2019-10-30..31, but its item was served 2019-07-02
    assert found(carin, "ExplanationOfBenefit", ("service-date", "2019-07-02")) == [
        "EOBPharmacy1", "EOBProfessional1",
    ]
    assert found(carin, "ExplanationOfBenefit", ("service-date", "2017")) == ["EOBInpatient2"]
    assert found(carin, "ExplanationOfBenefit", ("service-date", "sa2021-10-31")) == [
        "EOBProfessionalTransportation1",
    ]
    assert found(carin, "ExplanationOfBenefit", ("billable-period-start", "2019-10-30")) == ["EOBPharmacy1"]


def test_created_with_prefix(carin):
    assert found(carin, "ExplanationOfBenefit", ("created", "ge2021")) == [
        "EOBOral1", "EOBOral2", "EOBProfessionalTransportation1",
    ]


def test_reference_parameters_between_resources(carin):
    assert found(carin, "ExplanationOfBenefit", ("coverage", "Coverage/CoverageDental1")) == ["EOBOral1", "EOBOral2"]
    assert found(carin, "ExplanationOfBenefit", ("insurer", "DentalPayer1")) == ["EOBOral1", "EOBOral2"]
    assert found(carin, "ExplanationOfBenefit", ("provider:Practitioner", "PractitionerDentalProvider1")) == [
        "EOBOral1", "EOBOral2",
    ]
    assert found(carin, "ExplanationOfBenefit", ("provider:Organization", "PractitionerDentalProvider1")) == []


def test_status_comma_or(carin):
    assert len(found(carin, "ExplanationOfBenefit", ("status", "cancelled,active"))) == 10
    assert found(carin, "ExplanationOfBenefit", ("status", "cancelled")) == []


def test_missing_modifier():
    eob = {"resourceType": "ExplanationOfBenefit", "id": "e", "patient": {"reference": "Patient/p"}}
    assert matches(search("ExplanationOfBenefit", ("provider:missing", "true")), eob)
    assert not matches(search("ExplanationOfBenefit", ("provider:missing", "false")), eob)
    assert matches(search("ExplanationOfBenefit", ("patient:missing", "false")), eob)


def test_id_with_a_leading_hyphen():
    patient = {"resourceType": "Patient", "id": "-20140000008325"}
    assert matches(search("Patient", ("_id", "-20140000008325,other")), patient)
    assert not matches(search("Patient", ("_id", "20140000008325")), patient)


def test_boolean_and_code_tokens():
    patient = {"resourceType": "Patient", "id": "p", "gender": "female", "active": True}
    assert matches(search("Patient", ("gender", "female")), patient)
    assert not matches(search("Patient", ("gender", "male")), patient)


def test_provenance_patient_only_follows_patient_targets():
    provenance = {"resourceType": "Provenance", "id": "v", "target": [{"reference": "Condition/p1"}]}
    assert not matches(search("Provenance", ("patient", "p1")), provenance)
    assert matches(search("Provenance", ("target", "p1")), provenance)


def test_malformed_resource_values_match_nothing_and_do_not_raise():
    eob = {
        "resourceType": "ExplanationOfBenefit", "id": "e",
        "patient": {"reference": "Patient/../../x"}, "created": "yesterday", "type": {"coding": "oops"},
        "meta": {"lastUpdated": 20200101}, "identifier": ["junk", {"value": 5}],
    }
    for pairs in [("patient", "x"), ("created", "ge1900"), ("type", "oral"), ("_lastUpdated", "ge1900"),
                  ("identifier", "5")]:
        assert not matches(search("ExplanationOfBenefit", pairs), eob), pairs


# Plan-Net directory names: case- and accent-insensitive prefix by default, :exact and :contains modifiers.

def test_directory_name_prefix_is_case_insensitive(plan_net):
    assert found(plan_net, "Organization", ("name", "acme")) == ["Acme", "AcmeofCTPremNet", "AcmeofCTStdNet"]
    assert found(plan_net, "Organization", ("name", "Clinic")) == []  # prefix, not substring
    assert found(plan_net, "Organization", ("name:contains", "clinic")) == ["BurrClinic", "CancerClinic",
                                                                           "HamiltonClinic"]
    assert found(plan_net, "InsurancePlan", ("name", "acme of ct qhp g")) == ["AcmeQHPGold"]
    assert found(plan_net, "Endpoint", ("name", "endpoint for")) == ["AcmeOfCTPortalEndpoint"]
    assert found(plan_net, "HealthcareService", ("name", "mail")) == ["PharmChainMailService"]
    assert found(plan_net, "Location", ("name", "orga ct")) == ["HansSoloClinic", "PharmLoc1", "PharmLoc2"]


def test_names_are_accent_insensitive_both_ways(plan_net):
    assert found(plan_net, "Organization", ("name", "Búrr")) == ["BurrClinic"]
    nunez = {"resourceType": "Practitioner", "id": "n", "name": [{"family": "Núñez", "given": ["José"]}]}
    assert matches(search("Practitioner", ("name", "nunez")), nunez)
    assert matches(search("Practitioner", ("given", "JOSE")), nunez)
    assert matches(search("Practitioner", ("name:exact", "Núñez")), nunez)
    assert not matches(search("Practitioner", ("name:exact", "Nunez")), nunez)
    assert not matches(search("Practitioner", ("name:exact", "Núñ")), nunez)


def test_practitioner_name_reads_family_given_and_text(plan_net):
    assert found(plan_net, "Practitioner", ("name", "smith")) == ["Counselor", "JoeSmith"]
    assert found(plan_net, "Practitioner", ("name", "hans")) == ["HansSolo"]
    assert found(plan_net, "Practitioner", ("family", "smith"), ("given", "joe")) == ["JoeSmith"]
    assert found(plan_net, "Practitioner", ("name", "Hans Solo, M")) == ["HansSolo"]  # the text part


def test_directory_links_and_specialty(plan_net):
    assert found(plan_net, "PractitionerRole", ("practitioner", "JoeSmith")) == ["JoeSmithRole1"]
    assert found(plan_net, "PractitionerRole", ("organization", "Organization/Hospital")) == [
        "JoeSmithRole1", "JoeSmithRole3",
    ]
    assert found(plan_net, "PractitionerRole", ("specialty", "207RC0000X")) == ["JoeSmithRole3"]
    assert found(plan_net, "Location", ("address-city", "any")) == [
        "CancerClinicLoc", "HansSoloClinic", "HospLoc1", "HospLoc2", "PharmLoc1",
    ]
