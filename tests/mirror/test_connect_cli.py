"""`mirror connect` and `mirror connections` as a member runs them: real subprocesses for the flows, and
`main()` in-process for the argument handling. Every failure is one `mirror: ...` line and a non-zero status.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from mirror import cli
from mirror.http.mock_login import complete_mock_login
from tests.mirror.conftest import DEMO_SECRET

REPOSITORY = Path(__file__).resolve().parents[2]


def _mirror(*arguments, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mirror.cli", *arguments], capture_output=True, text=True,
                          cwd=REPOSITORY, timeout=60, **options)


def test_connect_demo_as_a_subprocess(mock_payer, data_dir):
    """DR-1, WB-4: the connection file is 0600 in 0700 folders, holds a refresh token, and no token or
    secret is printed."""
    done = _mirror("--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
                   "--login", "member1:pass-member1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Connected to demo as Patient/demoplan-m1. Granted: patient/*.read")
    path = data_dir / "connections" / "demo.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    record = json.loads(path.read_text())
    token = record["token"]
    assert len(token["refresh_token"]) >= 43 and token["patient"] == "demoplan-m1"
    assert record["plan"]["endpoints"]["fhir_base"] == f"{mock_payer}/demoplan/r4"
    for secret in (token["access_token"], token["refresh_token"], DEMO_SECRET, "pass-member1"):
        assert secret not in done.stdout + done.stderr

    listed = _mirror("connections", "--json", env={**os.environ, "MIRROR_DATA_DIR": str(data_dir)})
    assert listed.returncode == 0, listed.stderr
    [summary] = json.loads(listed.stdout)
    assert summary["name"] == "demo" and summary["patient"] == "demoplan-m1" and summary["has_refresh_token"]
    for secret in (token["access_token"], token["refresh_token"], DEMO_SECRET):
        assert secret not in listed.stdout


def test_connect_as_a_member_who_verifies_by_email_as_a_subprocess(mock_payer, data_dir):
    """`--login` reads the code the mock emailed from the same mock's outbox, as the member reads their mail;
    the code is printed nowhere."""
    done = _mirror("--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
                   "--login", "member3:pass-member3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Connected to demo as Patient/demoplan-m3.")
    [message] = requests.get(f"{mock_payer}/_admin/outbox", params={"system_id": "demoplan"}, timeout=10).json()["demoplan"]
    assert message["to"] == "member3@example.org"
    assert message["code"] not in done.stdout + done.stderr


def test_connect_through_the_browser_path_as_a_subprocess(mock_payer, data_dir):
    """CL-3: `--no-browser` prints the address; the member's browser (played here) brings the code back to
    the listener, and the command finishes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror.cli", "connect", "--data-dir", str(data_dir), "demo", "--preset", "demo",
         "--mock-url", mock_payer, "--no-browser", "--timeout", "30", "--auth-method", "client_secret_basic"],
        cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        instructions = [process.stderr.readline(), process.stderr.readline()]
        assert instructions[0].startswith("Open this address in a browser")
        authorize_url = instructions[1].strip()
        redirect_uri = parse_qs(urlsplit(authorize_url).query)["redirect_uri"][0]
        assert redirect_uri.startswith("http://127.0.0.1:")
        redirect = complete_mock_login(requests.Session(), authorize_url, "member2", "pass-member2", mfa_code="246810")
        assert requests.get(redirect, timeout=10).status_code == 200
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "Patient/demoplan-m2" in stdout
    assert json.loads((data_dir / "connections" / "demo.json").read_text())["plan"]["auth_method"] == \
        "client_secret_basic"


def _run(capsys, *arguments) -> tuple[int, str, str]:
    status = cli.main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("arguments, message", [
    (["connect", "p", "--fhir-base", "http://fhir.example.org/r4", "--client-id", "a"],
     "mirror: the FHIR base http://fhir.example.org/r4 uses plain http; only https is allowed except to this "
     "machine (127.0.0.1, ::1, localhost)"),
    (["connect", "p", "--base-url", "1updemohealthplan.com", "--client-id", "a"],
     "mirror: --base-url needs --system-id (the plan's system id, e.g. demoplan)"),
    (["connect", "p", "--client-id", "a"],
     "mirror: say where the plan is: --preset, --base-url with --system-id, or --fhir-base"),
    (["connect", "p", "--base-url", "example.org", "--system-id", "s"], "mirror: a client id is needed (--client-id)"),
    (["connect", "p", "--base-url", "example.org", "--system-id", "s", "--client-id", "a", "--mock-url",
      "http://127.0.0.1:1"], "mirror: --mock-url and --environment apply to presets only"),
    (["connect", "medicare", "--preset", "bluebutton", "--environment", "production"],
     "mirror: production needs your app's own client id and secret, registered with the service: --client-id and "
     "--client-secret"),
    (["connect", "medicare", "--preset", "bluebutton", "--environment", "staging"],
     "mirror: --environment must be sandbox or production, or the URL of a server with the same paths, not 'staging'"),
    (["connect", "medicare", "--preset", "bluebutton", "--environment", "http://bb.example.org", "--client-id", "a"],
     "mirror: the FHIR base http://bb.example.org/v2/fhir uses plain http; only https is allowed except to this "
     "machine (127.0.0.1, ::1, localhost)"),
    (["connect", "medicare", "--preset", "bluebutton", "--environment", "sandbox", "--mock-url", "http://127.0.0.1:1"],
     "mirror: --environment and --mock-url both say where the plan is; give one"),
    (["connect", "demo", "--environment", "sandbox"],
     "mirror: --environment applies to presets of services with environments (bluebutton)"),
    (["connect", "p", "--base-url", "example.org", "--system-id", "s", "--client-id", "a",
      "--auth-method", "client_secret_post"], "mirror: client_secret_post needs the client secret (--client-secret)"),
    (["connect", "demo", "--login", "member1"], "mirror: --login takes USER:PASSWORD"),
])
def test_usage_errors_are_one_line(capsys, data_dir, arguments, message):
    """CL-4 and friends: `mirror: <message>` on stderr, status 1, no traceback."""
    status, out, err = _run(capsys, "--data-dir", str(data_dir), *arguments)
    assert (status, out, err) == (1, "", message + "\n")


def test_flow_errors_are_one_line(capsys, mock_payer, data_dir):
    status, out, err = _run(capsys, "--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
                            "--login", "member1:pass-member1", "--client-secret", "not-the-secret")
    assert status == 1 and out == ""
    assert err.startswith("mirror: the plan's token endpoint refused: the client id or secret was not accepted")
    assert err.count("\n") == 1 and "not-the-secret" not in err
    status, out, err = _run(capsys, "connect", "demo", "--data-dir", str(data_dir), "--mock-url", mock_payer,
                            "--login", "member2:pass-member2")
    assert (status, err) == (1, "mirror: this member needs a one-time code: pass --mfa CODE\n")
    assert not (data_dir / "connections" / "demo.json").exists()


def test_the_preset_secret_goes_with_the_preset_client_only(capsys, mock_payer, data_dir):
    """Another client at a preset plan is public unless given a secret."""
    status, _, err = _run(capsys, "--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
                          "--client-id", "demo-public-app", "--login", "member1:pass-member1")
    assert status == 0, err
    plan = json.loads((data_dir / "connections" / "demo.json").read_text())["plan"]
    assert (plan["client_id"], plan["auth_method"], plan["client_secret"]) == ("demo-public-app", "none", None)


def test_secret_and_data_folder_from_the_environment(capsys, mock_payer, data_dir, monkeypatch):
    """MIRROR_CLIENT_SECRET keeps the secret out of the process list; MIRROR_DATA_DIR picks the folder."""
    monkeypatch.setenv(cli.CLIENT_SECRET_ENV, DEMO_SECRET)
    monkeypatch.setenv("MIRROR_DATA_DIR", str(data_dir))
    status, _, err = _run(capsys, "connect", "smart", "--fhir-base", f"{mock_payer}/smartplan/r4",
                          "--client-id", "smart-confidential-app", "--login", "smart1:pass-smart1")
    assert status == 0, err
    plan = json.loads((data_dir / "connections" / "smart.json").read_text())["plan"]
    assert (plan["auth_method"], plan["endpoints"]["token_url"]) == ("client_secret_post",
                                                                     f"{mock_payer}/smartplan/oauth2/token")


def test_connections_lists_plans_without_tokens(capsys, mock_payer, data_dir):
    assert _run(capsys, "connections", "--data-dir", str(data_dir))[1].startswith("No plans connected yet")
    assert _run(capsys, "connections", "--json", "--data-dir", str(data_dir))[1] == "[]\n"
    _run(capsys, "--data-dir", str(data_dir), "connect", "demo", "--mock-url", mock_payer,
         "--login", "member1:pass-member1")
    status, out, _ = _run(capsys, "--data-dir", str(data_dir), "connections")
    token = json.loads((data_dir / "connections" / "demo.json").read_text())["token"]
    assert status == 0 and out.startswith(f"demo: {mock_payer}/demoplan/r4 patient demoplan-m1, connected ")
    assert token["access_token"] not in out and token["refresh_token"] not in out and DEMO_SECRET not in out


@pytest.mark.parametrize("option", [["--port", "70000"], ["--port", "-1"], ["--timeout", "0"], ["--timeout", "nan"]])
def test_out_of_range_numbers_are_usage_errors(capsys, option):
    with pytest.raises(SystemExit) as usage:
        cli.main(["connect", "demo", *option])
    assert usage.value.code == 2 and "Traceback" not in capsys.readouterr().err
