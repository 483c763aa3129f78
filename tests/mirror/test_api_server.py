"""`mirror serve` as a real server on a loopback port: it serves what a sync writes while it runs, without a
restart and without blocking the sync (ST-4: readers never take the writer lock); the command line prints its
bases and example URLs, warns before serving beyond this machine, and requires the token it is given (BR-1).
"""

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
import requests

from mirror import cli
from mirror.api import create_app
from mirror.http.wsgi_server import start_in_thread
from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, mock_endpoints
from mirror.store import Store
from tests.mirror.stores import MEMBER1, fill, member_records, observations
from tests.store.damage import damage_under_a_matching_crc

REPOSITORY = Path(__file__).resolve().parents[2]
DEMO_SECRET = "mock-secret-not-for-production"  # the mock's published test secret


def eventually(check, seconds=10.0):
    """The API notices a new store file at its next read; poll briefly rather than guess a sleep."""
    deadline = time.monotonic() + seconds
    while True:
        outcome = check()
        if outcome or time.monotonic() > deadline:
            return outcome
        time.sleep(0.05)


def test_the_api_serves_what_another_writer_commits_without_a_restart(tmp_path):
    fill(tmp_path, "demo", observations(3))
    server = start_in_thread(create_app(tmp_path))
    try:
        base = f"{server.url}/fhir"
        assert requests.get(f"{base}/Observation", timeout=10).json()["total"] == 3
        assert requests.get(f"{base}/Observation/late-0", timeout=10).status_code == 404
        with Store(tmp_path, commit_interval=0) as writer:  # the API holds no lock to wait for
            run_id = writer.begin_run("demo")
            writer.commit_page("demo", observations(2, prefix="late"), run_id=run_id)
            assert eventually(lambda: requests.get(f"{base}/Observation/late-0", timeout=10).status_code == 200)
            assert requests.get(f"{base}/Observation", timeout=10).json()["total"] == 5
            writer.mark_removed("demo", "Observation", ["obs-0"], run_id=run_id)
            writer.finish_run(run_id)
        assert eventually(lambda: requests.get(f"{base}/Observation/obs-0", timeout=10).status_code == 410)
        fill(tmp_path, "second", observations(1))
        assert eventually(lambda: requests.get(f"{base}/Observation", timeout=10).status_code == 404)
        assert requests.get(f"{base}/second/Observation/obs-0", timeout=10).status_code == 200
    finally:
        server.stop()


def test_paged_answers_follow_what_a_writer_commits(tmp_path):
    """The API keeps what a query worked out (a patient's `$everything` records, a sorted search's matches)
    between its pages, for one store generation only: what a sync commits shows on the next page asked for,
    and `_since` reads the new lastUpdated."""
    fill(tmp_path, "demo", [{"resourceType": "Patient", "id": "p1"}, *observations(3)])
    server = start_in_thread(create_app(tmp_path))
    try:
        everything = f"{server.url}/fhir/Patient/p1/$everything"
        newest_first = f"{server.url}/fhir/Observation?_sort=-_lastUpdated&_count=2"
        first = requests.get(everything, params={"_count": 2}, timeout=10).json()
        assert first["total"] == 4
        assert requests.get(next(link["url"] for link in first["link"] if link["relation"] == "next"),
                            timeout=10).json()["total"] == 4  # the second page, from the kept records
        assert [entry["resource"]["id"] for entry in requests.get(newest_first, timeout=10).json()["entry"]] == [
            "obs-2", "obs-1"]
        with Store(tmp_path, commit_interval=0) as writer:
            run_id = writer.begin_run("demo")
            late = orjson.loads(observations(1, prefix="late")[0])
            writer.commit_page("demo", [{**late, "meta": {"lastUpdated": "2030-01-01T00:00:00Z"}}], run_id=run_id)
            writer.finish_run(run_id)
        assert eventually(lambda: requests.get(everything, timeout=10).json()["total"] == 5)
        since = requests.get(everything, params={"_since": "2029-01-01T00:00:00Z"}, timeout=10).json()
        assert [entry["resource"]["id"] for entry in since["entry"]] == ["late-0"]
        assert [entry["resource"]["id"] for entry in requests.get(newest_first, timeout=10).json()["entry"]] == [
            "late-0", "obs-2"]
    finally:
        server.stop()


def test_st6_a_store_found_damaged_while_serving_is_a_503_and_the_terminal_gets_the_advice(tmp_path, caplog):
    """The API reads the file again when it changes, here after something replaced it with a damaged copy: the
    client is told briefly, without this machine's paths; the server's log says what to do; nothing is written."""
    fill(tmp_path, "demo", observations(3))
    fill(tmp_path, "demo", observations(1, prefix="late"))  # a second generation, so the first is the backup
    server = start_in_thread(create_app(tmp_path))
    try:
        base = f"{server.url}/fhir"
        assert requests.get(f"{base}/Observation", timeout=10).json()["total"] == 4
        live = tmp_path / "mirror.jsonl.zst"
        edited = tmp_path / "edited.json"
        edited.write_bytes(live.read_bytes())
        damage_under_a_matching_crc(edited, lambda content: content.replace(b'"demo"', b'"demo"}', 1))
        os.replace(edited, live)
        damaged = live.read_bytes()
        assert eventually(lambda: requests.get(f"{base}/Observation", timeout=10).status_code == 503)
        api = requests.get(f"{base}/Observation", timeout=10)
        outcome = api.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert "store cannot be read" in outcome["issue"][0]["diagnostics"] and str(tmp_path) not in api.text
        page = requests.get(f"{server.url}/claims", timeout=10)
        assert page.status_code == 503 and "store cannot be read" in page.text
    finally:
        server.stop()
    assert live.read_bytes() == damaged
    logged = [record.getMessage() for record in caplog.records if record.name == "mirror.api"]
    assert logged and all("a line is not valid JSON" in message and "mirror restore" in message
                          for message in logged)


class ServeProcess:
    """`mirror serve` in its own process; the URL comes from the first line it prints."""

    def __init__(self, data_dir: Path, *arguments: str, env: dict | None = None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), "serve", "--port", "0", *arguments],
            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self._printed: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        first = self._line(30.0)
        if first is None:
            self.stop()
            pytest.fail(f"mirror serve printed nothing: {self.process.stderr.read()}")
        self.lines = [first]
        assert self.lines[0].startswith("Read your records in a browser: http://127.0.0.1:"), self.lines
        self.root = self.lines[0].split(": ", 1)[1].split()[0].rstrip("/")

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self._printed.put(line.rstrip("\n"))

    def _line(self, seconds: float) -> str | None:
        try:
            return self._printed.get(timeout=seconds)
        except queue.Empty:
            return None

    def read_tour(self) -> list[str]:
        """Everything it printed at start (the bases and example URLs): what arrives before a pause."""
        while (line := self._line(0.5)) is not None:
            self.lines.append(line)
        return self.lines

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_mirror_serve_serves_a_sync_that_runs_after_it_started(mock_payer, tmp_path):
    """The API starts on an empty data folder, `mirror sync` fills it from the mock, and the running API
    serves the member at once: the same resources the store holds, through $everything."""
    data_dir = tmp_path / "data"
    plan = PlanConfig("demo", mock_endpoints(mock_payer, "demoplan"), "demo-confidential-app",
                      auth_method="client_secret_post", client_secret=DEMO_SECRET)
    connect(plan, data_dir, mock_login=MockLogin("member1", "pass-member1"), show=lambda line: None)
    served = ServeProcess(data_dir)
    try:
        assert "mirror sync" in requests.get(f"{served.root}/fhir/metadata", timeout=10).text
        synced = subprocess.run([sys.executable, "-m", "mirror.cli", "--data-dir", str(data_dir), "sync"],
                                cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
        assert synced.returncode == 0, synced.stderr
        everything = eventually(lambda: requests.get(
            f"{served.root}/fhir/Patient/{MEMBER1}/$everything?_count=1000", timeout=10).json().get("entry"))
        served_texts = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in everything}
        assert served_texts == set(member_records())
        eob = requests.get(f"{served.root}/fhir/demo/ExplanationOfBenefit?_count=1", timeout=10).json()
        eob_id = eob["entry"][0]["resource"]["id"]
        with Store(data_dir, read_only=True) as store:
            stored = store.get("demo", "ExplanationOfBenefit", eob_id)
        read = requests.get(f"{served.root}/fhir/ExplanationOfBenefit/{eob_id}", timeout=10)
        assert read.content == stored.text.encode() and read.headers["ETag"] == f'"{stored.content_hash}"'
    finally:
        served.stop()


def test_mirror_serve_prints_its_bases_and_example_urls(tmp_path):
    """The pages' URL comes first (a person opens it), then the API's bases and example URLs."""
    fill(tmp_path, "demo", member_records().values())
    served = ServeProcess(tmp_path)
    try:
        tour = "\n".join(served.read_tour())
        first, second = tour.splitlines()[:2]
        assert first == f"Read your records in a browser: {served.root}/  (Ctrl-C stops it)"
        assert "<h1>Your plans</h1>" in requests.get(f"{served.root}/", timeout=10).text
        assert second == f"Serving your records read-only as a FHIR API at {served.root}/fhir"
        for url in (f"{served.root}/fhir/metadata", f"{served.root}/fhir/Patient/{MEMBER1}",
                    f"{served.root}/fhir/Patient/{MEMBER1}/$everything",
                    f"{served.root}/fhir/ExplanationOfBenefit?patient={MEMBER1}&_count=10"):
            assert url in tour
            assert requests.get(url, timeout=10).status_code == 200
        assert f"{served.root}/fhir/demo" in tour
    finally:
        served.stop()
    assert "warning" not in served.process.stderr.read()  # loopback: nothing to warn about


def test_mirror_serve_with_a_token_from_the_environment(tmp_path):
    """BR-1 over real HTTP; the token can stay out of the process list."""
    fill(tmp_path, "demo", observations(1))
    served = ServeProcess(tmp_path, env={cli.API_TOKEN_ENV: "env-token-123"})
    try:
        assert served.lines[0].endswith("; it asks for the token once") and "env-token-123" not in served.lines[0]
        missing = requests.get(f"{served.root}/fhir/Observation", timeout=10)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="payer-mirror"'
        allowed = requests.get(f"{served.root}/fhir/Observation", headers={"Authorization": "Bearer env-token-123"},
                               timeout=10)
        assert allowed.status_code == 200
    finally:
        served.stop()


@pytest.fixture
def no_listening(monkeypatch):
    """`mirror serve` up to the point of listening: what it would serve, and with which app."""
    calls = []
    monkeypatch.setattr(cli, "serve_forever", lambda app, host, port, announce: calls.append((app, host, port)))
    return calls


def test_beyond_loopback_without_a_token_it_warns(tmp_path, capsys, no_listening):
    assert cli.main(["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0"]) == 0
    error = capsys.readouterr().err
    assert "WITHOUT authentication" in error and "--token" in error
    app, host, port = no_listening[0]
    assert (host, port) == ("0.0.0.0", 8080) and app.extensions["mirror.api_token"] is None


def test_beyond_loopback_with_a_token_it_warns_of_plain_http(tmp_path, capsys, no_listening):
    assert cli.main(["--data-dir", str(tmp_path), "serve", "--host", "192.0.2.10", "--token", "t0ken"]) == 0
    error = capsys.readouterr().err
    assert "unencrypted" in error and "WITHOUT" not in error and "t0ken" not in error
    assert no_listening[0][0].extensions["mirror.api_token"] == "t0ken"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_warning(tmp_path, capsys, no_listening, host):
    assert cli.main(["--data-dir", str(tmp_path), "serve", "--host", host]) == 0
    assert capsys.readouterr().err == ""
