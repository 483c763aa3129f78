import pytest
from fhirclient.models.capabilitystatement import CapabilityStatement

from mirror.fhir.capability import OAUTH_URIS, SmartEndpoints, capability_statement
from mirror.fhir.search_parameters import SEARCH_PARAMETERS, parameters_for

CARIN = "http://hl7.org/fhir/us/carin-bb/CapabilityStatement/c4bb"
SMART = SmartEndpoints(
    authorize="https://auth.example/oauth2/authorize/demoplan",
    token="https://auth.example/oauth2/token",
    revoke="https://auth.example/oauth2/revoke",
    introspect="https://auth.example/oauth2/introspect",
)


def statement(**overrides):
    arguments = dict(
        base_url="https://api.example/r4",
        date="2024-05-01T00:00:00Z",
        resource_types=["Patient", "ExplanationOfBenefit", "Coverage", "Organization", "Practitioner"],
        description="Demo Health Plan (mock)",
        instantiates=[CARIN],
        profiles={"Patient": ["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient|2.0.0"]},
        patient_everything=True,
        smart=SMART,
    )
    arguments.update(overrides)
    return capability_statement(**arguments)


def test_parses_with_fhirclient_strict_r4_models():
    parsed = CapabilityStatement(statement(), strict=True)
    assert parsed.fhirVersion == "4.0.1" and parsed.kind == "instance" and parsed.status == "active"
    assert parsed.format == ["json", "application/fhir+json"]
    # what fhirclient's server.py reads to find the OAuth endpoints
    oauth = next(e for e in parsed.rest[0].security.extension if e.url == OAUTH_URIS)
    assert {e.url: e.valueUri for e in oauth.extension} == {
        "authorize": SMART.authorize, "token": SMART.token, "revoke": SMART.revoke, "introspect": SMART.introspect,
    }
    assert parsed.rest[0].security.service[0].coding[0].code == "SMART-on-FHIR"


def test_every_whitelisted_type_parses_strictly():
    CapabilityStatement(statement(resource_types=list(SEARCH_PARAMETERS), smart=None, instantiates=()), strict=True)


def test_declares_read_and_search_with_the_whitelisted_parameters():
    # DS-2: fhirVersion 4.0.1, JSON formats, instantiates c4bb, profiles and resources listed
    document = statement()
    assert document["instantiates"] == [CARIN]
    resources = {entry["type"]: entry for entry in document["rest"][0]["resource"]}
    assert list(resources) == ["Patient", "ExplanationOfBenefit", "Coverage", "Organization", "Practitioner"]
    eob = resources["ExplanationOfBenefit"]
    assert eob["interaction"] == [{"code": "read"}, {"code": "search-type"}]
    assert [p["name"] for p in eob["searchParam"]] == list(parameters_for("ExplanationOfBenefit"))
    assert {"name": "service-date", "type": "date"} in eob["searchParam"]
    assert {"ExplanationOfBenefit:patient", "ExplanationOfBenefit:care-team", "ExplanationOfBenefit:*"} <= set(
        eob["searchInclude"]
    )
    assert resources["Patient"]["supportedProfile"] == [
        "http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient|2.0.0"
    ]
    assert resources["Patient"]["operation"][0]["name"] == "everything"
    assert "operation" not in eob and "searchInclude" not in resources["Patient"]


def test_optional_parts_are_left_out():
    document = statement(smart=None, instantiates=(), patient_everything=False, profiles=None)
    assert "security" not in document["rest"][0] and "instantiates" not in document
    assert "operation" not in document["rest"][0]["resource"][0]
    only_required = capability_statement(
        base_url="https://h/r4", date="2024", resource_types=["Basic"], description="d",
        smart=SmartEndpoints("https://a/authorize", "https://a/token"),
    )
    oauth = only_required["rest"][0]["security"]["extension"][0]["extension"]
    assert [e["url"] for e in oauth] == ["authorize", "token"]
    assert [p["name"] for p in only_required["rest"][0]["resource"][0]["searchParam"]] == ["_id", "_lastUpdated"]


@pytest.mark.parametrize("overrides", [{"date": "yesterday"}, {"resource_types": ["../x"]}])
def test_bad_arguments_are_refused(overrides):
    with pytest.raises(ValueError):
        statement(**overrides)
