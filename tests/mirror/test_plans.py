"""What a plan is and how its endpoints are found: presets, 1up URL shapes, SMART discovery (CL-4 throughout)."""

import json

import pytest

from mirror.fhir.capability import OAUTH_URIS
from mirror.plans import (
    Endpoints,
    PlanConfig,
    PlanError,
    discover_endpoints,
    is_loopback_host,
    mock_endpoints,
    one_up_endpoints,
    preset,
    require_secure_url,
)

SMART_CONFIGURATION = "/r4/.well-known/smart-configuration"
METADATA = "/r4/metadata"


def _statement(authorize: str, token: str) -> dict:
    return {"resourceType": "CapabilityStatement", "rest": [{"mode": "server", "security": {"extension": [
        {"url": "http://example.org/other"},
        {"url": OAUTH_URIS, "extension": [{"url": "authorize", "valueUri": authorize},
                                          {"url": "token", "valueUri": token}]},
    ]}}]}


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["example.org", "10.0.0.1", "192.168.1.2", "0.0.0.0", "localhost.example.org",
                                  "128.0.0.1", "::"])
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize("url", ["https://api.example.org/r4", "http://127.0.0.1:9000/demoplan/r4",
                                 "http://localhost:8080/r4", "http://[::1]:9000/r4"])
def test_https_or_loopback_http_is_accepted(url):
    """CL-4: plain http only to this machine."""
    assert require_secure_url(url, "FHIR base") == url


@pytest.mark.parametrize("url", ["http://api.example.org/r4", "http://10.1.2.3/r4", "ftp://example.org/r4",
                                 "api.example.org/r4", "https:///r4", ""])
def test_plain_http_to_other_hosts_is_refused_in_one_line(url):
    """CL-4: an http:// non-loopback (or not absolute) URL is refused with a one-line message."""
    with pytest.raises(PlanError) as refused:
        require_secure_url(url, "FHIR base")
    assert "\n" not in str(refused.value) and "FHIR base" in str(refused.value)


def test_endpoints_refuse_an_insecure_token_url():
    """CL-4: the check sits in the description itself, so no insecure plan can exist, even one read from a file."""
    with pytest.raises(PlanError, match="token endpoint http://auth.example.org/token uses plain http"):
        Endpoints("https://api.example.org/r4", "https://auth.example.org/authorize", "http://auth.example.org/token")


def test_one_up_url_shapes():
    endpoints = one_up_endpoints("1updemohealthplan.com", "demoplan")
    assert endpoints == Endpoints(
        fhir_base="https://api.1updemohealthplan.com/r4",
        authorize_url="https://auth.1updemohealthplan.com/oauth2/authorize/demoplan",
        token_url="https://auth.1updemohealthplan.com/oauth2/token",
    )


@pytest.mark.parametrize("base_url, system_id", [("https://1updemohealthplan.com", "demoplan"),
                                                 ("1updemohealthplan.com/x", "demoplan"),
                                                 ("1updemohealthplan.com", "demo/plan"),
                                                 ("1updemohealthplan.com", "")])
def test_one_up_shapes_refuse_what_is_not_a_host_and_system_id(base_url, system_id):
    with pytest.raises(PlanError):
        one_up_endpoints(base_url, system_id)


def test_mock_endpoints_match_what_the_mock_publishes(mock_payer):
    """The demo preset's fixed shapes are the ones the mock's own discovery document gives."""
    assert discover_endpoints(f"{mock_payer}/demoplan/r4") == mock_endpoints(mock_payer, "demoplan")
    assert discover_endpoints(f"{mock_payer}/smartplan/r4/") == mock_endpoints(mock_payer + "/", "smartplan")


def test_plan_config_round_trips_and_hides_its_secret():
    plan = PlanConfig("my-plan", one_up_endpoints("example.org", "plan1"), "app", auth_method="client_secret_post",
                      client_secret="s3cret-value")
    assert PlanConfig.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    assert "s3cret-value" not in repr(plan)


@pytest.mark.parametrize("changes, message", [
    ({"name": "../evil"}, "plan name"),
    ({"name": ""}, "plan name"),
    ({"client_id": ""}, "client id"),
    ({"auth_method": "private_key_jwt"}, "unknown client authentication"),
    ({"auth_method": "none", "client_secret": "x"}, "has no secret"),
    ({"auth_method": "client_secret_basic", "client_secret": None}, "needs the client secret"),
])
def test_plan_config_refuses_inconsistent_descriptions(changes, message):
    fields = {"name": "plan", "endpoints": one_up_endpoints("example.org", "plan1"), "client_id": "app",
              "auth_method": "client_secret_post", "client_secret": "x", **changes}
    with pytest.raises(PlanError, match=message):
        PlanConfig(**fields)


def test_discovery_reads_smart_configuration(httpserver):
    authorize, token = httpserver.url_for("/auth/authorize"), httpserver.url_for("/auth/token")
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_json(
        {"authorization_endpoint": authorize, "token_endpoint": token,
         "revocation_endpoint": httpserver.url_for("/auth/revoke")})
    endpoints = discover_endpoints(httpserver.url_for("/r4"))
    assert endpoints == Endpoints(httpserver.url_for("/r4"), authorize, token, httpserver.url_for("/auth/revoke"))
    httpserver.check_assertions()


def test_discovery_falls_back_to_metadata_when_smart_configuration_is_missing(httpserver):
    """SMART 1.0 servers publish the endpoints only in the CapabilityStatement's oauth-uris extension."""
    authorize, token = httpserver.url_for("/authorize"), httpserver.url_for("/token")
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_data("not found", status=404)
    httpserver.expect_request(METADATA).respond_with_json(_statement(authorize, token))
    endpoints = discover_endpoints(httpserver.url_for("/r4"))
    assert (endpoints.authorize_url, endpoints.token_url, endpoints.revoke_url) == (authorize, token, None)
    httpserver.check_assertions()


def test_discovery_falls_back_to_metadata_when_smart_configuration_is_broken_json(httpserver):
    authorize, token = httpserver.url_for("/authorize"), httpserver.url_for("/token")
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_data('{"authorization_endpoint": ',
                                                                     content_type="application/json")
    httpserver.expect_request(METADATA).respond_with_json(_statement(authorize, token))
    assert discover_endpoints(httpserver.url_for("/r4")).token_url == token
    httpserver.check_assertions()


def test_discovery_names_every_problem_in_one_line_when_nothing_works(httpserver):
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_json({"token_endpoint": httpserver.url_for("/t")})
    httpserver.expect_request(METADATA).respond_with_data("<html>oops", content_type="text/html")
    with pytest.raises(PlanError) as failed:
        discover_endpoints(httpserver.url_for("/r4"))
    message = str(failed.value)
    assert "\n" not in message
    assert ".well-known/smart-configuration lacks the authorize or token endpoint" in message
    assert "metadata is not JSON" in message
    httpserver.check_assertions()


def test_discovery_reports_a_capability_statement_without_oauth_uris(httpserver):
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_data("", status=500)
    httpserver.expect_request(METADATA).respond_with_json({"resourceType": "CapabilityStatement", "rest": "odd"})
    with pytest.raises(PlanError, match="answered HTTP 500; metadata has no oauth-uris extension"):
        discover_endpoints(httpserver.url_for("/r4"))


def test_discovered_plain_http_endpoint_elsewhere_is_refused(httpserver):
    """CL-4: a discovery document cannot send the code and secret over plain http to another host."""
    httpserver.expect_request(SMART_CONFIGURATION).respond_with_json(
        {"authorization_endpoint": httpserver.url_for("/authorize"), "token_endpoint": "http://auth.example.org/token"})
    with pytest.raises(PlanError, match="uses plain http"):
        discover_endpoints(httpserver.url_for("/r4"))


def test_plain_http_fhir_base_elsewhere_is_refused_before_any_request(httpserver):
    """CL-4."""
    with pytest.raises(PlanError, match="uses plain http"):
        discover_endpoints("http://fhir.example.org/r4")
    assert httpserver.log == []


def test_unreachable_server_is_one_line(closed_port):
    with pytest.raises(PlanError) as failed:
        discover_endpoints(f"http://127.0.0.1:{closed_port}/r4", timeout=2)
    assert str(failed.value) == f"could not reach 127.0.0.1:{closed_port}: the connection failed"


def test_the_bluebutton_preset_reaches_cms_environments_and_the_mock_with_blue_buttons_paths():
    """Blue Button 2.0's published endpoints: `/v2/o/authorize/`, `/v2/o/token/`, `/v2/o/revoke_token/` and the FHIR
    base `/v2/fhir` on CMS's sandbox and production hosts; on the mock, the same paths under the plan's prefix
    (several plans; a root URL given with --environment is tried in test_sync_bluebutton.py)."""
    bluebutton = preset("bluebutton")
    sandbox, real = bluebutton.in_environment("sandbox")
    assert real and sandbox == Endpoints("https://sandbox.bluebutton.cms.gov/v2/fhir",
                                         "https://sandbox.bluebutton.cms.gov/v2/o/authorize/",
                                         "https://sandbox.bluebutton.cms.gov/v2/o/token/",
                                         "https://sandbox.bluebutton.cms.gov/v2/o/revoke_token/")
    assert bluebutton.in_environment("production")[0].fhir_base == "https://api.bluebutton.cms.gov/v2/fhir"
    assert bluebutton.on_mock("http://127.0.0.1:9000").authorize_url == "http://127.0.0.1:9000/bluebutton/v2/o/authorize/"
    assert set(bluebutton.scope.split()) == {"patient/Patient.read", "patient/Coverage.read",
                                             "patient/ExplanationOfBenefit.read", "profile"}
    assert preset("demo").on_mock("http://127.0.0.1:9000") == mock_endpoints("http://127.0.0.1:9000", "demoplan")
