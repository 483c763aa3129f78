"""Loading plan folders: the bundled plans, and one clear line for each kind of broken plan.json."""

import json

import pytest

from mockpayer.clock import Clock
from mockpayer.plans import PlanError, load_plan, load_plans


def test_bundled_plans():
    plans = load_plans()
    demo, smart = plans["demoplan"], plans["smartplan"]
    assert (demo.mode, demo.base_url, demo.tokens.code_lifetime, demo.tokens.access_token_lifetime) == (
        "1up", "1updemohealthplan.com", 300, 3600)
    assert smart.mode == "smart"
    assert len(demo.members) >= 3 and any(member.mfa for member in demo.members.values())
    assert {client.is_public for client in demo.clients.values()} == {True, False}


def _write(tmp_path, plan: dict | str):
    folder = tmp_path / "p"
    folder.mkdir(exist_ok=True)
    (folder / "plan.json").write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return folder


GOOD = {"system_id": "p", "name": "P", "base_url": "p.example",
        "clients": [{"client_id": "c", "client_secret": None, "redirect_uris": ["http://127.0.0.1/cb"]}],
        "members": [{"username": "u", "password": "pw", "patient": "Patient/-1.a"}]}


def test_minimal_plan_gets_the_default_settings(tmp_path):
    plan = load_plan(_write(tmp_path, GOOD))
    assert plan.mode == "1up" and plan.tokens.refresh and plan.paging.default_count == 10
    assert plan.members["u"].patient_id == "-1.a"


@pytest.mark.parametrize("change, message", [
    ({"system_id": "../x"}, "system_id"),
    ({"mode": "loose"}, "mode must be one of"),
    ({"name": None}, "name must be a non-empty string"),
    ({"tokens": {"code_lifetime": -5}}, "tokens.code_lifetime must be a positive int"),
    ({"tokens": {"nope": 1}}, "tokens.nope is not a known setting"),
    ({"clients": []}, "at least one client"),
    ({"clients": [{"client_id": "c", "redirect_uris": ["javascript:alert(1)"]}]}, "which a browser acts on itself"),
    ({"clients": [{"client_id": "c", "redirect_uris": ["/callback"]}]}, "not an absolute URI (RFC 6749 section 3.1.2)"),
    ({"clients": [{"client_id": "c", "redirect_uris": ["http://127.0.0.1/cb#"]}]}, "has a fragment"),
    ({"clients": [{"client_id": "c", "redirect_uris": ["https:///cb"]}]}, "has no host"),
    ({"members": [{"username": "u", "password": "pw", "patient": "Coverage/1"}]}, "patient must look like"),
])
def test_broken_plan_is_one_clear_line(tmp_path, change, message):
    plan = {**GOOD, **change}
    with pytest.raises(PlanError) as raised:
        load_plan(_write(tmp_path, plan))
    assert message in str(raised.value) and "plan.json" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_plan_json_that_is_not_json(tmp_path):
    with pytest.raises(PlanError, match="not valid JSON"):
        load_plan(_write(tmp_path, "{oops"))


def test_missing_field_is_named(tmp_path):
    plan = dict(GOOD)
    del plan["base_url"]
    with pytest.raises(PlanError, match="missing field 'base_url'"):
        load_plan(_write(tmp_path, plan))


def test_empty_fixtures_folder(tmp_path):
    with pytest.raises(PlanError, match="no plan folders"):
        load_plans(tmp_path)


def test_clock_only_moves_forward():
    clock = Clock()
    before = clock.now()
    clock.advance(100)
    assert clock.now() >= before + 100
    with pytest.raises(ValueError):
        clock.advance(-1)
