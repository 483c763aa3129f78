"""The mirror syncs Medicare: `mirror connect --preset bluebutton` against the mock's bundled Blue Button 2.0 plan
(among the other plans, and served alone at the root as CMS's SDK expects), then `mirror sync` walks Patient,
Coverage and ExplanationOfBenefit by Blue Button's rules (no `$everything`; `startIndex` paging; incremental by
`_lastUpdated`), and every record equals the mock's, byte for byte."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mirror.api import create_app as create_mirror_app
from mirror.http.wsgi_server import start_in_thread
from mirror.oauth import MockLogin, connect
from mirror.plans import PlanConfig, preset
from mockpayer.app import create_app
from tests.qa.mirror_app import held, mirror, sync

BENEFICIARY = ("BBUser00001", "PW00001!", "-10000010000001")  # several years of claims of every type


def mock_records(app, patient: str) -> dict[str, dict]:
    """What the mock serves the beneficiary: their Patient, Coverage and claims, as `{"Type/id": resource}`."""
    import json

    data = app.extensions["mockpayer"].resources["bluebutton"].data
    return {f"{kind}/{record_id}": json.loads(data.resources[(kind, record_id)].text)
            for kind, record_id in data.readable_by(patient)}


@pytest.fixture(scope="module")
def mock():
    app = create_app()
    server = start_in_thread(app)
    server.app = app
    yield server
    server.stop()


def test_the_preset_syncs_a_beneficiary_and_every_record_equals_the_mocks(mock, tmp_path):
    data_dir = tmp_path / "mirror"
    status, out, err = mirror(data_dir, "connect", "medicare", "--preset", "bluebutton", "--mock-url", mock.url,
                              "--login", f"{BENEFICIARY[0]}:{BENEFICIARY[1]}")
    assert status == 0, err
    assert f"as Patient/{BENEFICIARY[2]}" in out and "patient/ExplanationOfBenefit.read" in out
    status, report = sync(data_dir, "medicare")
    assert status == 0, report["errors"]
    assert "$everything" not in report["streams"]  # Blue Button offers none: a search per type
    assert set(report["streams"]) == {"Patient", "Coverage", "ExplanationOfBenefit"}
    expected = mock_records(mock.app, BENEFICIARY[2])
    assert len([key for key in expected if key.startswith("ExplanationOfBenefit/")]) == 40
    assert held(data_dir) == expected
    status, table, _ = mirror(data_dir, "claims")
    assert status == 0 and "Part D drug fill" in table and "medicare-pde" not in table  # words to read
    status, rows, _ = mirror(data_dir, "claims", "--csv")
    assert status == 0 and ",medicare-pde," in rows  # a stable key for programs
    status, again = sync(data_dir, "medicare")
    assert status == 0 and {walk["mode"] for walk in again["streams"].values()} == {"incremental"}
    assert sum(row["new"] + row["changed"] + row["removed"] for row in again["types"].values()) == 0


def test_a_beneficiary_who_keeps_demographics_back_gets_claims_without_their_patient_record(mock, tmp_path):
    """Blue Button's consent choice: no personal information shared, so no Patient scope is granted and the sync
    skips Patient (said so), still bringing every claim and coverage."""
    known = preset("bluebutton")
    plan = PlanConfig("medicare", known.on_mock(mock.url), known.client_id, known.scope, "client_secret_post",
                      known.client_secret, known.max_page_size)
    login = MockLogin(BENEFICIARY[0], BENEFICIARY[1], choose=(("share_demographic_scopes", "false"),))
    connection = connect(plan, tmp_path / "mirror", mock_login=login, show=lambda line: None)
    assert "patient/Patient.read" not in connection.token.scope.split() and "profile" not in connection.token.scope
    status, report = sync(tmp_path / "mirror", "medicare")
    assert status == 0, report["errors"]
    assert report["types"]["Patient"]["status"] == "skipped"
    assert report["types"]["Patient"]["reason"] == "not in the granted scope"
    expected = {key: value for key, value in mock_records(mock.app, BENEFICIARY[2]).items()
                if not key.startswith("Patient/")}
    assert held(tmp_path / "mirror") == expected
    home = create_mirror_app(tmp_path / "mirror").test_client().get("/").get_data(as_text=True)
    assert "details not shared with this app" in home and "Unknown member" not in home


def test_the_plan_served_alone_is_reached_at_the_root_with_environment(tmp_path):
    """`mockpayer serve --plan bluebutton` answers Blue Button's paths at the root; `--environment URL` takes that
    root, as it takes CMS's sandbox and production hosts."""
    process = subprocess.Popen([sys.executable, "-m", "mockpayer.cli", "serve", "--plan", "bluebutton", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        root = next(found.group(1) for line in process.stdout
                    if (found := re.match(r"mock payer serving at (http://\S+)", line)))
        data_dir = tmp_path / "mirror"
        status, _, err = mirror(data_dir, "connect", "medicare", "--preset", "bluebutton", "--environment",
                                f"{root}/v2/fhir", "--login", "BBUser00002:PW00002!")
        assert status == 1 and err.startswith(f"mirror: no FHIR API at {root}/v2/fhir/v2/fhir (its metadata answered "
                                              "HTTP 404); --environment takes the root URL")
        status, out, err = mirror(data_dir, "connect", "medicare", "--preset", "bluebutton", "--environment", root,
                                  "--login", "BBUser00002:PW00002!", "--mfa", "438007")
        assert status == 0, err
        status, report = sync(data_dir, "medicare")
        assert status == 0, report["errors"]
        assert report["types"]["ExplanationOfBenefit"]["new"] == 1  # the beneficiary with a single claim
        status, out, _ = mirror(data_dir, "connections", "--json")
        assert f'"fhir_base": "{root}/v2/fhir"' in out
    finally:
        process.terminate()
        process.communicate(timeout=20)
