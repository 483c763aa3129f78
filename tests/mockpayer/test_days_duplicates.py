"""plan.json's `duplicates` choice governs a later day's files as it does day 1's (issue 23, item 5;
mockpayer/scenarios.py): two files of days/<n>/data with different copies of one type and id are settled the
same way, both when the mock advances to that day and in `mockpayer check`."""

import json

import pytest
import requests

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from tests.mockpayer.test_loading import CARIN_COVERAGE, OTHER_PATIENT, PATIENT, PDEX_COVERAGE, Member, _check, write_plan

DAY_TWO = "days/2/data/b-pdex.json: Coverage/cov-1 differs from the copy in days/2/data/a-carin.json"


def plan_with_a_day_of_duplicates(root, **settings):
    """Day 1: the two Patients. Day 2: Coverage/cov-1 new, in two files with different plan names."""
    folder = write_plan(root, {"patient.json": PATIENT, "patient2.json": OTHER_PATIENT}, **settings)
    day = folder / "days" / "2" / "data"
    day.mkdir(parents=True)
    (day / "a-carin.json").write_text(json.dumps(CARIN_COVERAGE))
    (day / "b-pdex.json").write_text(json.dumps(PDEX_COVERAGE))
    return folder


def plan_name(coverage: dict) -> str:
    return coverage["class"][0]["value"]


@pytest.mark.parametrize("choice, served", [("first", CARIN_COVERAGE), ("last", PDEX_COVERAGE), (None, PDEX_COVERAGE)])
def test_the_day_a_plan_advances_to_serves_the_copy_plan_json_chooses(tmp_path, choice, served):
    """`"duplicates": "first"` serves the first file's copy on day 2 as on day 1; "last", or nothing chosen
    (serve's default), the last file's."""
    plan_with_a_day_of_duplicates(tmp_path, **({"duplicates": choice} if choice else {}))
    server = start_in_thread(create_app(tmp_path))
    try:
        member = Member(server.url, "m1")
        assert member.get("Coverage/cov-1").status_code == 404
        advanced = requests.post(f"{server.url}/_admin/advance", json={"system_id": "pdex"}, timeout=10)
        assert advanced.json()["pdex"]["new"] == ["Coverage/cov-1"]
        assert plan_name(member.get("Coverage/cov-1").json()) == plan_name(served)
    finally:
        server.stop()


@pytest.mark.parametrize("choice, severity, exit_status", [(None, "error", 1), ("error", "error", 1),
                                                           ("first", "warning", 0), ("last", "warning", 0)])
def test_check_settles_a_later_day_s_duplicates_as_plan_json_says(tmp_path, choice, severity, exit_status):
    """`mockpayer check` on day 2: an error when nothing is chosen (check's default) or "error" is; a warning
    naming both files and the copy served when "first" or "last" is."""
    folder = plan_with_a_day_of_duplicates(tmp_path, **({"duplicates": choice} if choice else {}))
    check = _check(folder)
    assert check.returncode == exit_status, check.stdout
    winner = "a-carin.json" if choice == "first" else "b-pdex.json"
    assert f"{severity}: {DAY_TWO}; days/2/data/{winner}'s copy is served (duplicates: {choice or 'error'})" \
        in check.stdout
