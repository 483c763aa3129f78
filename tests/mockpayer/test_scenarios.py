"""Days of a plan's records (mockpayer/scenarios.py) and their /_admin controls, through Flask's test client:
the folder layout and its refusals, what an advance serves, and who may ask for one; and, over HTTP, a member's
pages across an advance."""

import json
import shutil

import pytest
import requests

from mockpayer.app import create_app
from mockpayer.clock import Clock
from mockpayer.plans import BUNDLED_PLANS_DIR, PlanError
from mockpayer.scenarios import day_count, fhir_instant


@pytest.fixture
def plans(tmp_path):
    """The bundled demoplan (three days) alone, in a folder the test may change."""
    shutil.copytree(BUNDLED_PLANS_DIR / "demoplan", tmp_path / "demoplan")
    return tmp_path


def served(app, key: tuple[str, str]):
    return app.extensions["mockpayer"].resources["demoplan"].data.get(*key)


def test_day_folders_are_counted_and_must_run_without_gaps(plans):
    folder = plans / "demoplan"
    assert day_count(folder) == 3
    assert day_count(BUNDLED_PLANS_DIR / "smartplan") == 1
    (folder / "days" / "5").mkdir()
    with pytest.raises(PlanError, match="without gaps"):
        create_app(plans)
    (folder / "days" / "5").rename(folder / "days" / "04")
    with pytest.raises(PlanError, match="without gaps"):
        day_count(folder)


def test_advance_serves_the_next_day_with_new_and_changed_resources_stamped_now(plans):
    clock = Clock()
    app = create_app(plans, clock=clock)
    client = app.test_client()
    assert client.get("/_admin/days").get_json() == {"demoplan": {"day": 1, "days": 3}}
    clock.advance(1000)
    earliest = fhir_instant(clock.now())
    answer = client.post("/_admin/advance")
    latest = fhir_instant(clock.now())
    assert answer.status_code == 200
    changes = answer.get_json()["demoplan"]
    assert changes["day"] == 2 and len(changes["removed"]) == 3 and len(changes["changed"]) == 3
    day_two = json.loads((plans / "demoplan" / "days" / "2" / "data" / "member-1.json").read_text())["entry"]
    in_file = {f"{entry['resource']['resourceType']}/{entry['resource']['id']}": entry["resource"] for entry in day_two}
    for reference in changes["new"] + changes["changed"]:
        resource = served(app, tuple(reference.split("/")))
        assert earliest <= resource.resource["meta"]["lastUpdated"] <= latest
        assert json.loads(resource.text) == resource.resource
        if reference in in_file:  # everything but the stamp is as the file says
            assert {**in_file[reference], "meta": {**in_file[reference]["meta"], "lastUpdated": "-"}} == \
                {**resource.resource, "meta": {**resource.resource["meta"], "lastUpdated": "-"}}
    assert all(served(app, tuple(reference.split("/"))) is None for reference in changes["removed"])
    assert client.post("/_admin/advance", json={"system_id": "demoplan"}).get_json()["demoplan"]["day"] == 3
    last = client.post("/_admin/advance")
    assert last.status_code == 409 and "last day" in last.get_json()["error"]


def test_unchanged_resources_keep_their_exact_text(plans):
    app = create_app(plans)
    before = dict(app.extensions["mockpayer"].resources["demoplan"].data.resources)
    changes = app.test_client().post("/_admin/advance").get_json()["demoplan"]
    touched = {tuple(reference.split("/")) for kind in ("new", "changed", "removed") for reference in changes[kind]}
    after = app.extensions["mockpayer"].resources["demoplan"].data.resources
    assert all(after[key].text == stored.text for key, stored in before.items() if key not in touched)


@pytest.mark.parametrize("removed, message", [
    ('{"not": "a list"}', "JSON array"),
    ('["ExplanationOfBenefit/../x"]', "Type/id"),
    ('["Patient/nobody"]', "does not hold"),
    ("[", "cannot read"),
])
def test_a_bad_removed_list_refuses_the_advance_and_moves_nothing(plans, removed, message):
    (plans / "demoplan" / "days" / "2" / "removed.json").write_text(removed)
    app = create_app(plans)
    answer = app.test_client().post("/_admin/advance")
    assert answer.status_code == 500 and message in answer.get_json()["error"]
    assert app.test_client().get("/_admin/days").get_json()["demoplan"]["day"] == 1


@pytest.mark.parametrize("method, path", [("get", "/_admin/days"), ("post", "/_admin/advance")])
def test_days_answer_loopback_only(plans, method, path):
    app = create_app(plans)
    elsewhere = getattr(app.test_client(), method)(path, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert elsewhere.status_code == 403
    assert app.test_client().get("/_admin/days").get_json()["demoplan"]["day"] == 1


def test_an_unknown_plan_is_404(plans):
    answer = create_app(plans).test_client().post("/_admin/advance", json={"system_id": "nope"})
    assert answer.status_code == 404


def test_mockpayer_check_reports_each_later_day(plans, capsys):
    from mockpayer.cli import main

    assert main(["check", str(plans / "demoplan")]) == 0
    report = capsys.readouterr().out
    assert "  day 2: 7 new, 3 changed, 3 removed, 0 errors" in report and "  day 3: " in report
    (plans / "demoplan" / "days" / "3" / "data" / "broken.json").write_text("{not json")
    assert main(["check", str(plans / "demoplan")]) == 1
    assert "error: days/3/data/broken.json: not a JSON object" in capsys.readouterr().out
    (plans / "demoplan" / "days" / "2" / "removed.json").write_text('["Patient/nobody"]')
    assert main(["check", str(plans / "demoplan")]) == 2
    assert "removes Patient/nobody" in capsys.readouterr().err


def _walk(url: str, headers: dict) -> list[dict]:
    """Every resource of a paged searchset, in the order served, following `next` links."""
    resources = []
    while url:
        body = requests.get(url, headers=headers, timeout=10).json()
        resources += [entry["resource"] for entry in body.get("entry", [])]
        url = next((link["url"] for link in body["link"] if link["relation"] == "next"), None)
    return resources


def test_a_members_pages_after_an_advance_are_the_new_days_though_the_old_days_were_served(mock_payer):
    """The mock keeps each member's records ordered between requests (resources.ResourceSet): an advance must
    leave none of yesterday's behind, in `$everything` (with or without `_since`) or in a search."""
    tokens = mock_payer.login("member1")
    base = mock_payer.plans["demoplan"].fhir_base
    everything = f"{base}/Patient/{tokens.patient}/$everything?_count=7"

    def served_now(url):
        return [(resource["resourceType"], resource["id"], resource) for resource in _walk(url, tokens.headers)]

    def expected():
        return [(*key.split("/"), json.loads(text)) for key, text in mock_payer.records("member1").items()]

    def claims(records):
        return [record for record in records if record[0] == "ExplanationOfBenefit"]

    for _ in range(2):  # day 1, then day 2 after pages of day 1 were served
        assert served_now(everything) == expected()
        assert served_now(f"{base}/ExplanationOfBenefit?_count=3") == claims(expected())
        moved_at = fhir_instant(mock_payer.clock.now())
        changes = mock_payer.advance_day("demoplan")["demoplan"]
    touched = {tuple(reference.split("/")) for reference in changes["new"] + changes["changed"]}
    since_day_three = {(record[0], record[1]) for record in served_now(f"{everything}&_since={moved_at}")}
    assert since_day_three and since_day_three == touched & {(record[0], record[1]) for record in expected()}
