"""Symlinks in a plan folder (issue 23, item 5): followed when they stay inside the plan folder; one leading out
of it, or to nothing, is skipped and named in the load report (`--strict` refuses to start) unless plan.json
says `"follow_symlinks": true`, as the tests that serve the real examples in place do."""

import json
import os
import subprocess
import sys

import pytest

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from tests.mockpayer.test_loading import ENCOUNTER, OTHER_PATIENT, PATIENT, Member, run_serve, write_plan

OTHER_ENCOUNTER = {**ENCOUNTER, "id": "enc-8", "subject": {"reference": "Patient/pdex-2"}}


def linked_plan(tmp_path, **settings):
    """Plan `pdex` with Patient/pdex-1 in data/ and symlinks of every kind: a file and a folder of the plan
    outside data/ (followed), a file and a folder outside the plan folder, a link to nothing, a link to data/."""
    folder = write_plan(tmp_path / "plans", {"patient.json": PATIENT}, **settings)
    (folder / "extra").mkdir()
    (folder / "extra" / "encounter.json").write_text(json.dumps(ENCOUNTER))
    outside = tmp_path / "elsewhere"
    (outside / "folder").mkdir(parents=True)
    (outside / "patient2.json").write_text(json.dumps(OTHER_PATIENT))
    (outside / "folder" / "encounter.json").write_text(json.dumps(OTHER_ENCOUNTER))
    data = folder / "data"
    os.symlink("../extra/encounter.json", data / "a-inside.json")
    os.symlink(folder / "extra", data / "b-inside-folder")
    os.symlink(outside / "patient2.json", data / "c-outside.json")
    os.symlink(outside / "folder", data / "d-outside-folder")
    os.symlink("no-such-file.json", data / "e-broken.json")
    os.symlink(".", data / "f-loop")
    os.symlink(outside / "patient2.json", data / "notes.txt")  # not a data file: never read, nothing to say
    return folder, outside


OUTSIDE = '(plan.json "follow_symlinks": true serves it)'


def test_serve_follows_links_inside_the_plan_and_names_each_one_it_skips(tmp_path):
    """Links that stay in the plan folder are served; each one leading out, to nothing, or back to a folder it
    sits in has its own line with the reason, and the counts say so."""
    _, outside = linked_plan(tmp_path)
    status, output, errors = run_serve(tmp_path / "plans")
    assert status is None, errors
    assert ("pdex: 2 member resources, 0 directory resources, 3 errors, 1 warnings, 2 notes" in output), output
    assert f"error: data/c-outside.json: skipped: a symlink to {outside / 'patient2.json'}, outside the plan " \
           f"folder {OUTSIDE}" in output
    assert f"error: data/d-outside-folder: skipped: a symlink to {outside / 'folder'}, outside the plan folder " \
           f"{OUTSIDE}" in output
    assert "error: data/e-broken.json: skipped: a symlink to no-such-file.json, which does not exist" in output
    assert "note: data/f-loop: skipped: a symlink to ., a folder it is in" in output
    # the Encounter reached twice (a-inside.json, b-inside-folder/) is one record, served once
    assert "note: data/b-inside-folder/encounter.json: Encounter/enc-6 also in data/a-inside.json" in output
    assert "notes.txt" not in output


def test_a_member_reads_what_links_inside_the_plan_hold_and_nothing_from_outside(tmp_path):
    linked_plan(tmp_path)
    server = start_in_thread(create_app(tmp_path / "plans"))
    try:
        member = Member(server.url, "m1")
        assert member.get("Encounter/enc-6").json() == ENCOUNTER
        assert member.get("Patient/pdex-2").status_code == 404
        assert member.get("Encounter/enc-8").status_code == 404
    finally:
        server.stop()


def test_serve_strict_refuses_a_link_out_of_the_plan_folder(tmp_path):
    """`--strict` refuses to start on a skipped link as on any file it cannot serve."""
    folder = write_plan(tmp_path / "plans", {"patient.json": PATIENT})
    (tmp_path / "patient2.json").write_text(json.dumps(OTHER_PATIENT))
    os.symlink(tmp_path / "patient2.json", folder / "data" / "patient2.json")
    status, output, errors = run_serve(tmp_path / "plans", "--strict")
    assert status == 2
    assert f"error: data/patient2.json: skipped: a symlink to {tmp_path / 'patient2.json'}" in output
    assert errors.startswith("mockpayer: --strict: 1 files or entries cannot be served")


def test_plan_json_follow_symlinks_serves_links_out_of_the_plan_folder(tmp_path):
    """plan.json `"follow_symlinks": true`: links out of the folder are read as if their files were in it (the
    real examples served in place); a link to nothing or to a folder it is in is still reported."""
    linked_plan(tmp_path, follow_symlinks=True)
    server = start_in_thread(create_app(tmp_path / "plans"))
    try:
        other = Member(server.url, "m2")
        assert other.get("Patient/pdex-2").json() == OTHER_PATIENT
        assert other.get("Encounter/enc-8").json() == OTHER_ENCOUNTER
    finally:
        server.stop()
    check = subprocess.run([sys.executable, "-m", "mockpayer.cli", "check", str(tmp_path / "plans" / "pdex")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 1
    assert "outside the plan folder" not in check.stdout
    assert "error: data/e-broken.json: skipped: a symlink to no-such-file.json" in check.stdout
    assert "pdex: 4 member resources" in check.stdout


def test_a_data_folder_that_is_a_link_out_of_the_plan_folder_is_skipped_whole(tmp_path):
    folder = tmp_path / "plans" / "pdex"
    write_plan(tmp_path / "plans", {"patient.json": PATIENT})
    (folder / "data").rename(tmp_path / "real-data")
    os.symlink(tmp_path / "real-data", folder / "data")
    status, output, errors = run_serve(tmp_path / "plans")
    assert status is None, errors
    assert "pdex: 0 member resources" in output
    assert f"error: data: skipped: a symlink to {tmp_path / 'real-data'}, outside the plan folder" in output


@pytest.mark.parametrize("value", ["yes", 1])
def test_plan_json_refuses_a_follow_symlinks_that_is_not_true_or_false(tmp_path, value):
    write_plan(tmp_path / "plans", {"patient.json": PATIENT}, follow_symlinks=value)
    status, output, errors = run_serve(tmp_path / "plans")
    assert status == 2
    assert f"follow_symlinks must be true or false, not {value!r}" in errors and "Traceback" not in errors


@pytest.mark.parametrize("follow", [False, True])
def test_a_later_day_judges_its_links_by_the_same_plan_json(tmp_path, follow):
    """days/<n>/data follows plan.json's `follow_symlinks` as data/ does: `check` names the link out of the
    folder on the day it appears, or, followed, counts its record as new that day."""
    folder = write_plan(tmp_path / "plans", {"patient.json": PATIENT}, follow_symlinks=follow)
    (folder / "days" / "2" / "data").mkdir(parents=True)
    (tmp_path / "encounter.json").write_text(json.dumps(ENCOUNTER))
    os.symlink(tmp_path / "encounter.json", folder / "days" / "2" / "data" / "encounter.json")
    check = subprocess.run([sys.executable, "-m", "mockpayer.cli", "check", str(folder)],
                           capture_output=True, text=True, timeout=60)
    outside = (f"error: days/2/data/encounter.json: skipped: a symlink to {tmp_path / 'encounter.json'}, outside "
               f"the plan folder")
    if follow:
        assert "day 2: 1 new, 0 changed, 0 removed, 0 errors" in check.stdout and outside not in check.stdout
    else:
        assert "day 2: 0 new, 0 changed, 0 removed, 1 errors" in check.stdout and outside in check.stdout
        assert check.returncode == 1
