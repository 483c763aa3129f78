"""`connect` through the real loopback listener: the test plays the member's browser, reading the printed
sign-in address, walking the mock's pages, and following the redirect to the listener like a browser does.
"""

import queue
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from mirror.oauth import ConnectError, connect, connection_path
from mirror.plans import Endpoints, PlanConfig

WAIT = 20  # seconds; the listener's own timeout, so a broken test ends instead of hanging


class BackgroundConnect:
    """`connect(..., open_browser=False)` in a thread, with what it prints collected."""

    def __init__(self, plan, data_dir, **options):
        self.lines = queue.Queue()
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(plan, data_dir), kwargs=options, daemon=True)
        self.thread.start()

    def _run(self, plan, data_dir, **options):
        try:
            self.result = connect(plan, data_dir, open_browser=False, show=self.lines.put, **{"wait": WAIT, **options})
        except Exception as error:  # noqa: BLE001 - kept for the test to assert on
            self.result = error

    def authorize_url(self) -> str:
        while True:
            line = self.lines.get(timeout=WAIT)
            if line.startswith("http"):
                return line

    def outcome(self):
        self.thread.join(timeout=WAIT + 10)
        assert not self.thread.is_alive()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _query(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    return parts._replace(query=urlencode({**_query(url), **changes})).geturl()


def test_sign_in_through_the_loopback_listener(demo_plan, data_dir):
    """CL-1, CL-2, CL-3: the authorize URL carries a fresh 256-bit state, PKCE S256 and aud; the redirect URI
    is the loopback IP literal; the browser's GET of the redirect completes the connect."""
    run = BackgroundConnect(demo_plan(), data_dir)
    authorize_url = run.authorize_url()
    params = _query(authorize_url)
    assert authorize_url.startswith(demo_plan().endpoints.authorize_url + "?")
    assert params["response_type"] == "code" and params["client_id"] == "demo-confidential-app"
    redirect_uri = urlsplit(params["redirect_uri"])
    assert (redirect_uri.scheme, redirect_uri.hostname, redirect_uri.path) == ("http", "127.0.0.1", "/callback")
    assert redirect_uri.port and redirect_uri.port > 0
    assert len(params["state"]) >= 43  # secrets.token_urlsafe(32): 256 bits
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert "code_verifier" not in params
    assert params["aud"] == demo_plan().endpoints.fhir_base
    assert params["scope"] == "patient/*.read launch/patient offline_access"

    redirect = complete_mock_login(requests.Session(), authorize_url, "member1", "pass-member1")
    assert redirect.startswith(params["redirect_uri"] + "?")
    page = requests.get(redirect, timeout=10)
    assert page.status_code == 200 and "You have signed in" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Content-Security-Policy"] == "default-src 'none'"
    connection = run.outcome()
    assert connection.token.patient == "demoplan-m1"
    assert connection_path(data_dir, "demo").exists()


def test_every_request_gets_a_fresh_state_and_verifier(demo_plan, data_dir):
    """CL-1, CL-2: two attempts never share a state or a code challenge."""
    urls = []
    for _ in range(2):
        run = BackgroundConnect(demo_plan(), data_dir, wait=0.2)
        urls.append(_query(run.authorize_url()))
        with pytest.raises(ConnectError, match="no sign-in came back within 0.2 seconds"):
            run.outcome()
    assert urls[0]["state"] != urls[1]["state"]
    assert urls[0]["code_challenge"] != urls[1]["code_challenge"]


def test_the_listener_binds_the_loopback_address_only(demo_plan, data_dir):
    """CL-3: bound to 127.0.0.1, so another machine cannot deliver (or steal) the redirect."""
    tcp_table = Path("/proc/net/tcp")
    if not tcp_table.exists():
        pytest.skip("reads the kernel's socket table, which only Linux has")
    run = BackgroundConnect(demo_plan(), data_dir, wait=1)
    port = urlsplit(_query(run.authorize_url())["redirect_uri"]).port
    listening = [line.split()[1] for line in tcp_table.read_text().splitlines()[1:]
                 if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port]
    assert listening == [f"0100007F:{port:04X}"]
    tcp6_table = Path("/proc/net/tcp6")
    if tcp6_table.exists():
        assert f":{port:04X} " not in tcp6_table.read_text()
    with pytest.raises(ConnectError):
        run.outcome()


def test_only_the_callback_path_answers_and_the_wait_goes_on(demo_plan, data_dir):
    run = BackgroundConnect(demo_plan(), data_dir)
    authorize_url = run.authorize_url()
    callback = _query(authorize_url)["redirect_uri"]
    assert requests.get(callback.replace("/callback", "/favicon.ico"), timeout=10).status_code == 404
    redirect = complete_mock_login(requests.Session(), authorize_url, "member1", "pass-member1")
    assert requests.get(redirect, timeout=10).status_code == 200
    assert run.outcome().token.patient == "demoplan-m1"


def test_a_wrong_state_ends_the_attempt_without_a_token_request(mock_payer, data_dir, httpserver):
    """CL-1: a callback with another state is refused, shown as such, and no token request is sent."""
    demo = f"{mock_payer}/demoplan"
    plan = PlanConfig("demo", Endpoints(f"{demo}/r4", f"{mock_payer}/oauth2/authorize/demoplan",
                                        httpserver.url_for("/token")), "demo-public-app")
    run = BackgroundConnect(plan, data_dir)
    authorize_url = run.authorize_url()
    redirect = complete_mock_login(requests.Session(), authorize_url, "member1", "pass-member1")
    page = requests.get(_with_query(redirect, state="x" * 43), timeout=10)
    assert page.status_code == 400 and "does not carry this request&#x27;s state" in page.text
    with pytest.raises(ConnectError) as refused:
        run.outcome()
    assert "does not carry this request's state" in str(refused.value) and "\n" not in str(refused.value)
    assert httpserver.log == []
    assert not connection_path(data_dir, "demo").exists()


def test_the_state_is_checked_once(demo_plan, data_dir):
    """CL-1: after the first answer the attempt is over, so a replay of the right answer finds no listener."""
    run = BackgroundConnect(demo_plan(), data_dir)
    authorize_url = run.authorize_url()
    redirect = complete_mock_login(requests.Session(), authorize_url, "member1", "pass-member1")
    requests.get(_with_query(redirect, state="wrong"), timeout=10)
    with pytest.raises(ConnectError):
        run.outcome()
    with pytest.raises(requests.ConnectionError):
        requests.get(redirect, timeout=10)


def test_access_denied_through_the_listener(demo_plan, data_dir):
    run = BackgroundConnect(demo_plan(), data_dir)
    redirect = complete_mock_login(requests.Session(), run.authorize_url(), "member1", "pass-member1", allow=False)
    page = requests.get(redirect, timeout=10)
    assert page.status_code == 400 and "access was declined" in page.text
    with pytest.raises(ConnectError, match="^the plan did not grant access: access was declined"):
        run.outcome()


def test_the_callback_page_escapes_what_it_reflects(demo_plan, data_dir):
    """CL-5: an error description with markup is shown as text, never as markup."""
    run = BackgroundConnect(demo_plan(), data_dir)
    params = _query(run.authorize_url())
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    page = requests.get(params["redirect_uri"], params={"state": params["state"], "error": "<b>bad</b>",
                                                        "error_description": attack}, timeout=10)
    assert page.status_code == 400
    assert "<script>" not in page.text and "<img" not in page.text and "<b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    with pytest.raises(ConnectError):
        run.outcome()


def test_a_busy_port_is_one_clear_line(demo_plan, data_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConnectError, match=f"^cannot listen on 127.0.0.1:{port} for the sign-in .*choose another --port$"):
            connect(demo_plan(), data_dir, port=port, open_browser=False, wait=1, show=lambda line: None)


def test_a_chosen_port_is_used(demo_plan, data_dir):
    """CL-3: `--port P` gives the redirect URI http://127.0.0.1:P/callback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = BackgroundConnect(demo_plan(), data_dir, port=port, wait=0.2)
    assert _query(run.authorize_url())["redirect_uri"] == f"http://127.0.0.1:{port}/callback"
    with pytest.raises(ConnectError):
        run.outcome()
