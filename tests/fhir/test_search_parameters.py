from mirror.fhir.ids import is_resource_type_name
from mirror.fhir.search_parameters import (
    DATE, REFERENCE, SEARCH_PARAMETERS, STRING, TOKEN, parameters_for, reference_parameters, sort_parameter,
)

DIRECTORY_TYPES = ["Organization", "Practitioner", "Location", "HealthcareService", "InsurancePlan", "Endpoint"]


def test_the_table_is_well_formed():
    for resource_type, parameters in SEARCH_PARAMETERS.items():
        assert is_resource_type_name(resource_type)
        for name, parameter in parameters.items():
            assert name == parameter.name
            assert parameter.kind in (TOKEN, REFERENCE, DATE, STRING)
            assert parameter.paths and all(path and " " not in path for path in parameter.paths)
            assert not parameter.targets or parameter.kind == REFERENCE
            assert all(is_resource_type_name(target) for target in parameter.targets)


def test_common_parameters_everywhere_including_unlisted_types():
    for resource_type in [*SEARCH_PARAMETERS, "Basic"]:
        parameters = parameters_for(resource_type)
        assert parameters["_id"].paths == ("id",)
        assert parameters["_lastUpdated"].paths == ("meta.lastUpdated",) and parameters["_lastUpdated"].kind == DATE


def test_carin_and_plan_net_essentials_are_present():
    eob = parameters_for("ExplanationOfBenefit")
    for name in ["patient", "identifier", "type", "service-date", "created", "provider", "care-team", "coverage",
                 "insurer"]:
        assert name in eob, name
    assert parameters_for("Coverage")["beneficiary"].targets == ("Patient",)
    assert parameters_for("Coverage")["patient"].paths == ("beneficiary",)
    for resource_type in DIRECTORY_TYPES:
        assert parameters_for(resource_type)["name"].kind == STRING, resource_type
    assert parameters_for("MedicationKnowledge")["code"].kind == TOKEN


def test_sort_parameters_are_dates_and_date_means_service_date_on_claims():
    assert sort_parameter("ExplanationOfBenefit", "date").name == "service-date"
    assert sort_parameter("Observation", "date").name == "date"
    assert sort_parameter("Coverage", "_lastUpdated").name == "_lastUpdated"
    assert sort_parameter("Coverage", "date") is None
    assert sort_parameter("Patient", "name") is None


def test_reference_parameters():
    assert {p.name for p in reference_parameters("ExplanationOfBenefit")} == {
        "patient", "provider", "care-team", "coverage", "insurer", "payee",
    }
    assert reference_parameters("Basic") == ()
