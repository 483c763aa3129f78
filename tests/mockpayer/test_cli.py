"""The `mockpayer` command as a user runs it: a real process, real output."""

import json
import socket
import subprocess
import sys
import time

import requests


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "mockpayer.cli", *args], capture_output=True, text=True,
                          timeout=60, **kwargs)


def test_plans_json_lists_clients_and_members():
    result = _run("plans", "--json")
    assert result.returncode == 0, result.stderr
    plans = {plan["system_id"]: plan for plan in json.loads(result.stdout)}
    demo = plans["demoplan"]
    assert {"username": "member1", "password": "pass-member1", "patient": "Patient/demoplan-m1", "mfa": None,
            "verification": None, "email": None} in demo["members"]
    assert {"username": "member3", "password": "pass-member3", "patient": "Patient/demoplan-m3", "mfa": None,
            "verification": "email", "email": "member3@example.org"} in demo["members"]
    assert any(client["client_secret"] is None for client in demo["clients"])


def test_plans_says_how_each_member_verifies():
    result = _run("plans")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  member member2 / pass-member2 -> Patient/demoplan-m2, MFA code 246810" in lines
    assert ("  member member3 / pass-member3 -> Patient/demoplan-m3, a code emailed to member3@example.org, "
            "read at GET /_admin/outbox") in lines


def test_bad_fixtures_folder_is_one_line(tmp_path):
    result = _run("plans", "--fixtures", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.startswith("mockpayer: ") and "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_on_loopback_and_prints_how_to_sign_in():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        config = None
        for _ in range(100):
            try:
                config = requests.get(f"http://127.0.0.1:{port}/demoplan/r4/.well-known/smart-configuration", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert config is not None and config.status_code == 200
        assert config.json()["token_endpoint"] == f"http://127.0.0.1:{port}/demoplan/oauth2/token"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/oauth2/authorize/demoplan?client_id=" in output
    assert "member1 / pass-member1" in output


def test_check_reports_problems_and_fails(tmp_path):
    plan = tmp_path / "broken"
    (plan / "data").mkdir(parents=True)
    (plan / "plan.json").write_text(json.dumps({
        "system_id": "broken", "name": "Broken", "base_url": "broken.example",
        "clients": [{"client_id": "c", "client_secret": None, "redirect_uris": ["http://127.0.0.1/cb"]}],
        "members": [{"username": "u", "password": "p", "patient": "Patient/nobody"}]}))
    (plan / "data" / "not-json.json").write_text("{oops")
    (plan / "data" / "bad-id.json").write_text(json.dumps({"resourceType": "Patient", "id": "../x"}))
    (plan / "data" / "invalid.json").write_text(json.dumps({"resourceType": "Coverage", "id": "c1", "status": "active",
                                                            "beneficiary": {"reference": "Patient/gone"}}))
    result = _run("check", str(plan))
    assert result.returncode == 1
    assert "broken: 1 member resources" in result.stdout
    assert "error: data/not-json.json: not a JSON object" in result.stdout
    assert "error: data/bad-id.json: Patient id '../x' is not a valid FHIR id" in result.stdout
    assert "warning: data/invalid.json: Coverage/c1 fails R4 validation" in result.stdout
    assert "refers to missing Patient/gone" in result.stdout
    assert "member u's Patient/nobody is not in data/" in result.stdout


def test_bundled_plans_check_clean():
    result = _run("check")
    assert result.returncode == 0, result.stdout
    assert "0 errors, 0 warnings" in result.stdout
    assert "  R4 validation: every resource (405)" in result.stdout.splitlines()


def test_generate_writes_a_plan_that_checks_clean(tmp_path):
    result = _run("generate", "--out", str(tmp_path / "gen"), "--members", "2", "--claims-per-member", "5",
                  "--system-id", "genplan", "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert _run("check", str(tmp_path / "gen")).returncode == 0
