"""CL-4 and its one opt-in: plain http reaches this machine only, unless MIRROR_INSECURE_HTTP_HOSTS names a
container host (docker compose's network); a real plan's host cannot be named there."""

import pytest

from mirror.plans import INSECURE_HOSTS_ENV, PlanError, mock_endpoints, require_secure_url


def test_plain_http_to_another_host_is_refused_by_default(monkeypatch):
    monkeypatch.delenv(INSECURE_HOSTS_ENV, raising=False)
    with pytest.raises(PlanError, match="plain http"):
        mock_endpoints("http://mockpayer:9000", "demoplan")
    assert require_secure_url("http://127.0.0.1:9000/x", "FHIR base")


def test_the_opt_in_lets_exactly_the_named_container_hosts_through(monkeypatch):
    monkeypatch.setenv(INSECURE_HOSTS_ENV, " mockpayer , other-mock")
    assert mock_endpoints("http://mockpayer:9000", "demoplan").token_url == "http://mockpayer:9000/demoplan/oauth2/token"
    assert require_secure_url("http://MOCKPAYER:9000/r4", "FHIR base")
    with pytest.raises(PlanError, match="plain http"):
        require_secure_url("http://mockpayer2:9000/r4", "FHIR base")
    with pytest.raises(PlanError, match="plain http"):
        require_secure_url("http://10.0.0.5:9000/r4", "FHIR base")


@pytest.mark.parametrize("named", ["api.1updemohealthplan.com", "10.0.0.5", "*"])
def test_a_host_with_a_domain_or_an_address_cannot_be_named(monkeypatch, named):
    monkeypatch.setenv(INSECURE_HOSTS_ENV, named)
    with pytest.raises(PlanError, match=INSECURE_HOSTS_ENV):
        require_secure_url("http://api.1updemohealthplan.com/r4", "FHIR base")
