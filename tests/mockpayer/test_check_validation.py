"""`mockpayer check` R4-validates every resource of a small load, and of a big one a sample covering every kind and file."""

import json

import pytest

from mockpayer import cli, validation

PROFILE = "http://example.org/StructureDefinition/special-observation"


def _observation(number: int, **extra) -> dict:
    return {"resourceType": "Observation", "id": f"o{number}", "status": "final", "code": {"text": "weight"}, **extra}


@pytest.fixture
def plan(tmp_path):
    """42 resources in three files: a bad Observation late in the first, a bad Coverage (the one) last in the second."""
    folder = tmp_path / "plan"
    (folder / "data").mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps({
        "system_id": "sampled", "name": "Sampled", "base_url": "sampled.example",
        "clients": [{"client_id": "c", "client_secret": None, "redirect_uris": ["http://127.0.0.1/cb"]}]}))
    common = [_observation(number) for number in range(30)]
    common[24]["status"] = 7
    profiled = [_observation(number, meta={"profile": [f"{PROFILE}|1.0"]}) for number in range(30, 40)]
    rare = {"resourceType": "Coverage", "id": "cov1", "status": 7}
    (folder / "data" / "a.ndjson").write_text("\n".join(map(json.dumps, common)))
    (folder / "data" / "b.ndjson").write_text("\n".join(map(json.dumps, [*profiled, rare])))
    (folder / "data" / "c.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
    return folder


@pytest.fixture
def validated(monkeypatch):
    """Each resource validated, as (type, id), in order."""
    seen = []
    findings = validation.validation_findings

    def recorded(resource):
        seen.append((resource["resourceType"], resource["id"]))
        return findings(resource)

    monkeypatch.setattr(validation, "validation_findings", recorded)
    return seen


def _check(capsys, *args) -> tuple[int, str]:
    status = cli.main(["check", *args])
    return status, capsys.readouterr().out


def test_a_small_load_is_validated_whole(plan, validated, capsys):
    status, report = _check(capsys, str(plan))
    assert status == 0
    assert "  R4 validation: every resource (42)" in report.splitlines()
    assert "warning: data/a.ndjson:25: Observation/o24 fails R4 validation" in report
    assert "Coverage/cov1 fails R4 validation" in report
    assert len(validated) == 42


def test_a_load_within_budget_is_validated_whole_though_a_file_holds_more_than_its_share(plan, validated, capsys,
                                                                                         monkeypatch):
    monkeypatch.setitem(cli.VALIDATED, "sample", 50)  # 17 a file: a.ndjson's 30 go past it
    _, report = _check(capsys, str(plan))
    assert "  R4 validation: every resource (42)" in report.splitlines()
    assert "Observation/o24 fails R4 validation" in report
    assert len(validated) == len(set(validated)) == 42


def test_a_big_load_is_validated_in_a_sample_of_every_kind_and_file(plan, validated, capsys, monkeypatch):
    monkeypatch.setitem(cli.VALIDATED, "sample", 20)  # 7 a file
    status, report = _check(capsys, str(plan))
    assert status == 0
    assert ("  R4 validation: 16 of 42 resources (a sample covering every type and profile; --validate all checks "
            "each one)") in report.splitlines()
    assert validated == [*(("Observation", f"o{n}") for n in range(7)), *(("Observation", f"o{n}") for n in range(30, 37)),
                         ("Coverage", "cov1"), ("Patient", "p1")]
    assert "warning: data/b.ndjson:11: Coverage/cov1 fails R4 validation" in report  # the first of its kind
    assert "Observation/o24" not in report  # the sample passed it by


def test_validate_all_finds_what_the_sample_passed_by(plan, validated, capsys, monkeypatch):
    monkeypatch.setitem(cli.VALIDATED, "sample", 20)
    status, report = _check(capsys, "--validate", "all", str(plan))
    assert status == 0
    assert "  R4 validation: every resource (42)" in report.splitlines()
    assert "warning: data/a.ndjson:25: Observation/o24 fails R4 validation" in report
    assert len(validated) == 42


def test_validate_none_validates_nothing(plan, validated, capsys):
    status, report = _check(capsys, "--validate", "none", str(plan))
    assert status == 0
    assert "  R4 validation: none (--validate none)" in report.splitlines()
    assert "fails R4 validation" not in report and validated == []
    assert "sampled: 42 member resources, 0 directory resources, 0 errors, 0 warnings" in report


def test_the_same_files_give_the_same_sample(plan, validated, capsys, monkeypatch):
    monkeypatch.setitem(cli.VALIDATED, "sample", 20)
    first = _check(capsys, str(plan))
    chosen = list(validated)
    assert _check(capsys, str(plan)) == first and validated == chosen * 2
