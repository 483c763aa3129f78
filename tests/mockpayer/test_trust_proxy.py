"""`mockpayer serve --trust-proxy` (issue 21): behind a TLS proxy the mock advertises the proxy's URLs.

It uses the scheme and host the proxy reports (`X-Forwarded-Proto`, `X-Forwarded-Host`) in discovery, metadata,
bundle links and OAuth endpoints; without the flag those headers change nothing, so nobody can rewrite discovery
from outside.

Every server passes `X-Forwarded-*` on to the app, so the tests without the flag show the app itself ignoring
them.
"""

import subprocess
import sys
import time

import pytest
import requests

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.clock import Clock
from tests.mockpayer.driver import CALLBACK, DEMO_CONFIDENTIAL, PayerDriver
from tests.mockpayer.test_cli import _free_port

PUBLIC = "payer.example.org"
THROUGH_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC, "X-Forwarded-For": "203.0.113.7"}
SEED_API, SEED_AUTH = "api.1updemohealthplan.com", "auth.1updemohealthplan.com"  # demoplan's own host names


def start(trust_proxy: bool):
    clock = Clock()
    app = create_app(clock=clock, trust_proxy=trust_proxy, public_hosts=[PUBLIC])
    server = start_in_thread(app)
    return server, PayerDriver(server.url, app, clock)


@pytest.fixture
def proxied():
    server, driver = start(trust_proxy=True)
    yield driver
    server.stop()


@pytest.fixture
def direct():
    server, driver = start(trust_proxy=False)
    yield driver
    server.stop()


def oauth_uris(metadata: dict) -> dict[str, str]:
    """The SMART `oauth-uris` extension of a CapabilityStatement, by name."""
    return {extension["url"]: extension["valueUri"]
            for extension in metadata["rest"][0]["security"]["extension"][0]["extension"]}


def advertised(payer, headers) -> tuple[dict[str, str], list[str]]:
    """What an app reads from the mock through these headers (the endpoints in discovery, the FHIR base and
    token endpoint in metadata, a search's next link), and the three answers' texts."""
    base = f"{payer.url}/demoplan/r4"
    token = payer.tokens()["access_token"]
    smart = requests.get(f"{base}/.well-known/smart-configuration", headers=headers, timeout=10)
    metadata = requests.get(f"{base}/metadata", headers=headers, timeout=10)
    search = requests.get(f"{base}/ExplanationOfBenefit?_count=2", timeout=10,
                          headers={**(headers or {}), "Authorization": f"Bearer {token}"})
    assert smart.status_code == metadata.status_code == search.status_code == 200, (smart.text, metadata.text)
    urls = {"discovery token": smart.json()["token_endpoint"], "authorize": smart.json()["authorization_endpoint"],
            "metadata base": metadata.json()["implementation"]["url"],
            "metadata token": oauth_uris(metadata.json())["token"],
            "next": next(link["url"] for link in search.json()["link"] if link["relation"] == "next")}
    return urls, [smart.text, metadata.text, search.text]


def test_with_trust_proxy_advertised_urls_follow_the_proxy(proxied):
    """SMART App Launch discovery (DS-1, DS-2) and FHIR bundle links name the URL the app used, https through
    the proxy; RFC 9110 7.2: the proxy's X-Forwarded-Host is the host the client asked for."""
    urls, texts = advertised(proxied, THROUGH_PROXY)
    assert not any(proxied.url in text for text in texts)  # no trace of the hop
    assert urls == {"discovery token": f"https://{PUBLIC}/demoplan/oauth2/token",
                    "authorize": f"https://{PUBLIC}/oauth2/authorize/demoplan",
                    "metadata base": f"https://{PUBLIC}/demoplan/r4",
                    "metadata token": f"https://{PUBLIC}/demoplan/oauth2/token",
                    "next": urls["next"]}
    assert urls["next"].startswith(f"https://{PUBLIC}/demoplan/r4/ExplanationOfBenefit?")


def test_without_trust_proxy_forwarded_headers_are_ignored(direct):
    """Off by default: X-Forwarded-* from anybody cannot rewrite discovery, links or the client's address."""
    urls, _ = advertised(direct, THROUGH_PROXY)
    assert urls == advertised(direct, None)[0]
    assert urls["discovery token"] == f"{direct.url}/demoplan/oauth2/token"
    assert urls["next"].startswith(f"{direct.url}/demoplan/r4/ExplanationOfBenefit?")
    admin = requests.get(f"{direct.url}/_admin/faults", headers=THROUGH_PROXY, timeout=10)
    assert admin.status_code == 403  # a local proxy (a tunnel, say) may be forwarding a client from anywhere


def test_the_seed_urls_over_https_through_the_proxy(proxied):
    """The seed's 1up URLs verbatim behind a TLS proxy: the plan's own hosts, https, in metadata and in the
    token endpoint, and the code exchange on `https://auth.<base_url>/oauth2/token` is https to authlib
    (RFC 6749 3.2 and 10.9: TLS on the token endpoint) for a client out there."""
    api = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": SEED_API, "X-Forwarded-For": "203.0.113.7"}
    metadata = requests.get(f"{proxied.url}/r4/metadata", headers=api, timeout=10).json()
    assert metadata["implementation"]["url"] == f"https://{SEED_API}/r4"
    assert oauth_uris(metadata)["token"] == f"https://{SEED_AUTH}/oauth2/token"
    exchange = {"grant_type": "authorization_code", "redirect_uri": CALLBACK,
                "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1]}
    auth = {**api, "X-Forwarded-Host": SEED_AUTH}
    tokens = requests.post(f"{proxied.url}/oauth2/token", data={**exchange, "code": proxied.code()}, headers=auth,
                           timeout=10)
    assert tokens.status_code == 200, tokens.text
    plain = requests.post(f"{proxied.url}/oauth2/token", data={**exchange, "code": proxied.code()}, timeout=10,
                          headers={**auth, "X-Forwarded-Proto": "http"})
    assert plain.status_code == 400 and "https" in plain.json()["error_description"]


@pytest.mark.parametrize("loopback_name", ["127.0.0.1", "localhost"])
def test_a_remote_client_over_plain_http_is_refused_whatever_host_it_names_rfc6749_3_1_3_2(proxied, loopback_name):
    """RFC 6749 §3.1, §3.2: the authorization and token endpoints require TLS. A client out there (X-Forwarded-For)
    reaching the mock over plain http through the proxy is refused even when its X-Forwarded-Host names a loopback
    address, which authlib trusts in a URL: only the connection's own address makes plain http private."""
    port = proxied.url.rsplit(":", 1)[1]
    remote = {"X-Forwarded-For": "8.8.8.8", "X-Forwarded-Proto": "http", "X-Forwarded-Host": f"{loopback_name}:{port}"}
    exchange = {"grant_type": "authorization_code", "code": proxied.code(), "redirect_uri": CALLBACK,
                "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1]}
    plain = requests.post(f"{proxied.url}/oauth2/token", data=exchange, headers=remote, timeout=10)
    assert plain.status_code == 400 and "https" in plain.json()["error_description"], plain.text
    authorize = requests.get(proxied.authorize_url(), headers=remote, allow_redirects=False, timeout=10)
    assert authorize.status_code == 400 and 'name="password"' not in authorize.text
    assert "Location" not in authorize.headers
    over_tls = {**remote, "X-Forwarded-Proto": "https"}
    assert requests.get(proxied.authorize_url(), headers=over_tls, timeout=10).status_code == 200
    tokens = requests.post(f"{proxied.url}/oauth2/token", data=exchange, headers=over_tls, timeout=10)
    assert tokens.status_code == 200, tokens.text


def test_authlibs_insecure_transport_switch_still_lets_plain_http_through(proxied, monkeypatch):
    """docker-compose.yml sets AUTHLIB_INSECURE_TRANSPORT for a mock reached over plain http between containers."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    remote = {"X-Forwarded-For": "8.8.8.8", "X-Forwarded-Proto": "http", "X-Forwarded-Host": PUBLIC}
    exchange = {"grant_type": "authorization_code", "code": proxied.code(), "redirect_uri": CALLBACK,
                "client_id": DEMO_CONFIDENTIAL[0], "client_secret": DEMO_CONFIDENTIAL[1]}
    response = requests.post(f"{proxied.url}/oauth2/token", data=exchange, headers=remote, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("headers", [
    {"X-Forwarded-Host": "evil.example"},
    {"Host": "evil.example", "X-Forwarded-Host": "127.0.0.1"},
])
def test_an_untrusted_host_is_refused_forwarded_or_not(proxied, headers):
    """DNS rebinding: a host name outside the trusted ones is 400 whether forwarded or named by the connection,
    so a page rebound to 127.0.0.1 cannot pass with its own X-Forwarded-Host."""
    response = requests.get(f"{proxied.url}/demoplan/r4/metadata", headers=headers, timeout=10)
    assert response.status_code == 400
    assert "evil.example" in response.json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize("forwarded", [
    THROUGH_PROXY,
    {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC},  # a proxy here that names no client (nginx's default)
    {"Forwarded": "for=203.0.113.7;proto=https"},
])
def test_admin_refuses_a_client_behind_the_proxy(proxied, forwarded):
    """`/_admin` answers this machine only: a request a proxy forwards, for a client out there, is 403, whether or
    not the proxy names the client; a reset there would lift the lockouts of RFC 6749 §10.10."""
    assert requests.get(f"{proxied.url}/_admin/faults", headers=forwarded, timeout=10).status_code == 403
    assert requests.post(f"{proxied.url}/_admin/reset", headers=forwarded, timeout=10).status_code == 403
    assert requests.get(f"{proxied.url}/_admin/faults", timeout=10).status_code == 200


def test_a_forwarded_scheme_other_than_http_or_https_is_refused(proxied):
    """Discovery builds every URL from the forwarded scheme: `javascript://` must never be advertised."""
    headers = {**THROUGH_PROXY, "X-Forwarded-Proto": "javascript"}
    response = requests.get(f"{proxied.url}/demoplan/r4/.well-known/smart-configuration", headers=headers,
                            timeout=10)
    assert response.status_code == 400
    assert "javascript://" not in response.text


@pytest.mark.parametrize("flag, expected_root", [(["--trust-proxy"], f"https://{PUBLIC}"), ([], None)])
def test_serve_command_trusts_the_proxy_only_when_asked(flag, expected_root):
    """`mockpayer serve --trust-proxy --public-host NAME` follows the proxy; without the flag the same request
    gets the mock's own URLs."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", str(port),
                                "--public-host", PUBLIC, *flag], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        config = None
        for _ in range(100):
            try:
                config = requests.get(f"http://127.0.0.1:{port}/demoplan/r4/.well-known/smart-configuration",
                                      headers=THROUGH_PROXY, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert config is not None and config.status_code == 200
        root = expected_root or f"http://127.0.0.1:{port}"
        assert config.json()["token_endpoint"] == f"{root}/demoplan/oauth2/token"
        assert all(url.startswith(root) for key, url in config.json().items() if key.endswith("endpoint"))
    finally:
        process.terminate()
        process.communicate(timeout=10)
