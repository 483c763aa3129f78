"""A real mock payer on a free loopback port, and a fresh data folder, for the mirror's flow tests."""

import socket

import pytest

from mirror.plans import PlanConfig, mock_endpoints


@pytest.fixture
def mock_payer(mock_payer):
    """The root URL of the plugin's running mock (mockpayer/pytest_plugin.py), which is what these tests pass
    around; its bundled plans are demoplan (1up mode) and smartplan (strict SMART)."""
    return mock_payer.url


@pytest.fixture
def data_dir(tmp_path):
    """A data folder that does not exist yet, as on first use."""
    return tmp_path / "mirror-data"


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (it was free a moment ago), for unreachable-server cases."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DEMO_SECRET = "mock-secret-not-for-production"  # the mock's published test secret, not a credential


@pytest.fixture
def demo_plan(mock_payer):
    """A factory of demoplan descriptions (confidential client, client_secret_post unless changed)."""
    def make(name="demo", **changes) -> PlanConfig:
        fields = {"name": name, "endpoints": mock_endpoints(mock_payer, "demoplan"),
                  "client_id": "demo-confidential-app", "auth_method": "client_secret_post",
                  "client_secret": DEMO_SECRET, **changes}
        return PlanConfig(**fields)
    return make


@pytest.fixture
def smart_plan(mock_payer):
    """smartplan with its public client: strict SMART mode, so PKCE S256 and aud are required."""
    return PlanConfig("smart", mock_endpoints(mock_payer, "smartplan"), "smart-public-app")
