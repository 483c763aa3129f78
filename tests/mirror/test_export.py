"""`mirror export` (issue 6): FHIR Bulk Data NDJSON or one collection Bundle, written safely.

NDJSON is one `<Type>.ndjson` per type with each line the stored text; `--source`, `--since`, `--include-removed`;
files created 0600 and replaced atomically (DR-1, ST-1: a failed export leaves the previous file whole); one-line
errors on the command line.

The store holds demoplan's member1 as a sync stores it (see stores.py).
"""

import json
import os
import stat
import time
from decimal import Decimal

import orjson
import pytest

import mirror.export
from mirror.cli import main
from mirror.export import ExportError, export
from mirror.store import Store
from mirror.store.records import utc_now
from tests.mirror.stores import MEMBER1, fill, member_records, observations, remove


@pytest.fixture(scope="module")
def records():
    return member_records()


@pytest.fixture
def data_dir(tmp_path, records):
    folder = tmp_path / "data"
    fill(folder, "demo", records.values())
    return folder


def exact(text: str | bytes):
    """A resource as its JSON values, decimals digit for digit."""
    return json.loads(text, parse_float=Decimal)


def ndjson_lines(folder):
    return {path.name: path.read_text(encoding="utf-8").split("\n") for path in sorted(folder.glob("*.ndjson"))}


def test_ndjson_has_one_file_per_type_and_each_line_is_the_stored_text(data_dir, records, tmp_path):
    out = tmp_path / "export"
    with Store(data_dir, read_only=True) as store:
        result = export(store, out, format="ndjson")
    types = sorted({resource_type for resource_type, _ in records})
    assert sorted(path.name for path in out.iterdir()) == [f"{t}.ndjson" for t in types]
    assert result.counts == {t: sum(1 for k in records if k[0] == t) for t in types} and result.total == len(records)
    exported = {}
    for name, lines in ndjson_lines(out).items():
        assert lines[-1] == ""  # every line ends with a newline, as NDJSON requires
        for line in lines[:-1]:
            resource = json.loads(line)
            assert name == f"{resource['resourceType']}.ndjson"
            exported[(resource["resourceType"], resource["id"])] = line
    assert set(exported) == set(records)
    for key, text in records.items():
        if "\n" in text:  # a pretty-printed resource: on one line, every token as it was
            assert exported[key] == text.replace("\n", "") and exact(exported[key]) == exact(text)
        else:
            assert exported[key] == text
    assert any("\n" in text for text in records.values())  # the case above is exercised


def test_ndjson_keeps_numbers_and_unusual_characters(tmp_path):
    data_dir = tmp_path / "data"
    text = ('{\r\n  "resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "a\\nb\\u2028c'
            '\u2028d\u00e9"},\n  "valueQuantity": {"value": 100.50, "unit": "mg"}}')
    fill(data_dir, "demo", [text])
    with Store(data_dir, read_only=True) as store:
        export(store, tmp_path / "out", format="ndjson")
    [line, end] = (tmp_path / "out" / "Observation.ndjson").read_text(encoding="utf-8").split("\n")
    assert end == "" and '"value": 100.50' in line and exact(line) == exact(text)


def test_bundle_is_one_collection_of_the_stored_texts(data_dir, records, tmp_path):
    out = tmp_path / "member.json"
    with Store(data_dir, read_only=True) as store:
        result = export(store, out, format="bundle")
    raw = out.read_bytes()
    bundle = exact(raw)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection" and "timestamp" in bundle
    assert result.files == (out,) and result.total == len(bundle["entry"]) == len(records)
    by_key = {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]}
    assert by_key == {key: exact(text) for key, text in records.items()}
    assert all(text.encode() in raw for text in records.values())  # spliced in, not re-serialised


def test_files_are_private_and_folders_created_private(data_dir, tmp_path):
    with Store(data_dir, read_only=True) as store:
        export(store, tmp_path / "new" / "folder", format="ndjson")
        export(store, tmp_path / "bundle.json", format="bundle")
    assert stat.S_IMODE((tmp_path / "new" / "folder").stat().st_mode) == 0o700
    for path in [*(tmp_path / "new" / "folder").iterdir(), tmp_path / "bundle.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_export_replaces_the_previous_file_atomically(data_dir, tmp_path, monkeypatch):
    """ST-1: a new file arrives by rename; an export that fails half way leaves the old file whole and no
    temporary file behind."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "Patient.ndjson").write_text("previous export\n")
    before = (out / "Patient.ndjson").stat().st_ino
    with Store(data_dir, read_only=True) as store:
        export(store, out, format="ndjson")
        assert (out / "Patient.ndjson").stat().st_ino != before
        good = {path.name: path.read_bytes() for path in out.iterdir()}

        written = []

        def failing(text):
            written.append(text)
            if len(written) == 3:
                raise OSError(28, "No space left on device")
            return text

        monkeypatch.setattr(mirror.export, "_one_line", failing)
        with pytest.raises(ExportError, match="could not write .*ndjson: No space left.*unchanged"):
            export(store, out, format="ndjson")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == good
    assert not [path for path in out.iterdir() if path.name.startswith(".")]


def test_since_keeps_what_changed_after_it(data_dir, records, tmp_path):
    time.sleep(0.01)
    since = utc_now()
    patient = json.loads(records[("Patient", MEMBER1)])
    patient["gender"] = "unknown" if patient.get("gender") != "unknown" else "other"
    fill(data_dir, "demo", [patient, *observations(2, patient=MEMBER1, prefix="new")])
    with Store(data_dir, read_only=True) as store:
        result = export(store, tmp_path / "out", format="ndjson", since=since)
        assert result.counts == {"Observation": 2, "Patient": 1}
        assert export(store, tmp_path / "none", format="ndjson", since="2999-01-01").total == 0
        assert export(store, tmp_path / "all", format="ndjson", since="2000").total == len(records) + 2
    assert json.loads((tmp_path / "out" / "Patient.ndjson").read_text())["gender"] == patient["gender"]


def test_removed_resources_only_with_include_removed(data_dir, records, tmp_path):
    eob = sorted(i for t, i in records if t == "ExplanationOfBenefit")[0]
    remove(data_dir, "demo", "ExplanationOfBenefit", eob)
    with Store(data_dir, read_only=True) as store:
        without = export(store, tmp_path / "without", format="ndjson")
        with_removed = export(store, tmp_path / "with", format="bundle", include_removed=True)
    assert without.total == len(records) - 1
    assert f'"id":"{eob}"' not in (tmp_path / "without" / "ExplanationOfBenefit.ndjson").read_text()
    assert with_removed.total == len(records)
    assert f'"id":"{eob}"' in (tmp_path / "with").read_text()


def test_one_source_at_a_time(data_dir, tmp_path):
    fill(data_dir, "other", observations(4))
    with Store(data_dir, read_only=True) as store:
        with pytest.raises(ExportError, match="several plans .*demo, other.*--source"):
            export(store, tmp_path / "out", format="ndjson")
        result = export(store, tmp_path / "other", format="ndjson", source="other")
        assert result.source == "other" and result.counts == {"Observation": 4}
        with pytest.raises(ExportError, match="no plan named 'nope'"):
            export(store, tmp_path / "out", format="ndjson", source="nope")
    assert [line for line in (tmp_path / "other" / "Observation.ndjson").read_text().split("\n") if line] == [
        text.decode() for text in observations(4)]


def test_the_command_line(data_dir, records, tmp_path, capsys):
    out = tmp_path / "member.json"
    assert main(["--data-dir", str(data_dir), "export", "--format", "bundle", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"Exported {len(records)} resources of {len({t for t, _ in records})} types from demo to {out}")
    assert len(orjson.loads(out.read_bytes())["entry"]) == len(records)
    folder = tmp_path / "ndjson"
    assert main(["export", "--data-dir", str(data_dir), "--format", "ndjson", "--out", str(folder),
                 "--source", "demo", "--since", "2000-01-01", "--include-removed"]) == 0
    assert (folder / "Patient.ndjson").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--since", "yesterday"], "--since must be a FHIR date"),
    (["--source", "nope"], "no plan named 'nope'"),
])
def test_command_line_errors_are_one_line(data_dir, tmp_path, capsys, arguments, message):
    status = main(["--data-dir", str(data_dir), "export", "--format", "ndjson", "--out", str(tmp_path / "o"),
                   *arguments])
    error = capsys.readouterr().err
    assert status == 1 and error.startswith("mirror: ") and message in error and error.count("\n") == 1


def test_an_empty_store_has_nothing_to_export(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "empty"), "export", "--format", "bundle", "--out",
                 str(tmp_path / "b.json")]) == 1
    assert "mirror sync" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists() and not os.path.exists(tmp_path / "empty" / "mirror.jsonl.zst")
