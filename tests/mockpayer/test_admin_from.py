"""`mockpayer serve --admin-from CIDR` (issue 25): `/_admin` answers a network opted in besides loopback.

Such as the compose bridge a host's request through the published port comes from. Development only; a request that
came through a proxy stays refused whatever address it names, and so does a web page of another site.

The address check runs on the WSGI `REMOTE_ADDR` through Flask's test client (a test cannot make a connection
from a bridge address), and a real `mockpayer serve` shows the option end to end.
"""

import subprocess
import sys

import pytest
import requests

from mockpayer.app import create_app
from tests.mockpayer.test_admin_clock import serve, stop

BRIDGE = "172.18.0.0/16"  # a compose network; its gateway 172.18.0.1 is where the host's requests come from


@pytest.fixture(scope="module")
def opted_in():
    return create_app(admin_from=[BRIDGE, "fd00:18::/64"])


def admin_status(app, address: str, headers: dict | None = None) -> int:
    return app.test_client().get("/_admin/clock", headers=headers, environ_base={"REMOTE_ADDR": address}).status_code


@pytest.mark.parametrize("address", ["172.18.0.1", "172.18.255.254", "::ffff:172.18.0.1", "fd00:18::1",
                                     "127.0.0.1", "::1"])
def test_loopback_and_the_networks_opted_in_are_answered(opted_in, address):
    assert admin_status(opted_in, address) == 200


@pytest.mark.parametrize("address", ["172.19.0.1", "10.0.0.5", "203.0.113.7", "::ffff:10.0.0.5", "fd00:19::1"])
def test_other_addresses_stay_refused(opted_in, address):
    response = opted_in.test_client().get("/_admin/clock", environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 403 and "--admin-from" in response.get_json()["error"]


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-For": "172.18.0.1"},
    {"Forwarded": "for=172.18.0.1"},
    {"X-Forwarded-Host": "127.0.0.1"},
    {"Origin": "https://evil.example"},
])
def test_a_proxied_request_or_a_web_page_is_refused_even_from_a_network_opted_in(opted_in, headers):
    """A proxy's request is from wherever the proxy took it; a page of another site can post a plain form
    without a preflight. Neither is the developer at the bridge."""
    assert admin_status(opted_in, "172.18.0.1", headers) == 403


def test_without_the_option_only_loopback_is_answered():
    app = create_app(plans={})
    assert admin_status(app, "172.18.0.1") == 403 and admin_status(app, "127.0.0.1") == 200


def test_serve_opts_a_network_in_warns_and_still_refuses_what_a_proxy_forwards():
    """End to end: the option parses, the server says it is for development only, a direct request is answered,
    and behind `--trust-proxy` a request forwarded for an address inside the network is still 403."""
    process, url = serve("--plan", "demoplan", "--admin-from", "172.16.0.0/12", "--trust-proxy")
    try:
        assert requests.get(f"{url}/_admin/clock", timeout=10).status_code == 200
        forwarded = requests.post(f"{url}/_admin/clock", json={"advance": 60}, timeout=10,
                                  headers={"X-Forwarded-For": "172.18.0.1"})
        assert forwarded.status_code == 403
        assert requests.get(f"{url}/_admin/clock", timeout=10).json()["offset_seconds"] == 0
    finally:
        errors = stop(process)
    assert "/_admin also answers 172.16.0.0/12 (--admin-from): for development only" in errors


def test_a_bad_network_is_one_line_from_the_parser():
    result = subprocess.run([sys.executable, "-m", "mockpayer.cli", "serve", "--admin-from", "bridge"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == ("mockpayer serve: error: argument --admin-from: not a network such as "
                                              "172.18.0.0/16: 'bridge'")
