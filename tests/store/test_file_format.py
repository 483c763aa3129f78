"""The store file is plain JSON (ST-5, ST-8: any parser reads it, its format is on record), laid out one
document per line so it can be parsed with bounded memory; damage is reported by line (ST-6)."""

import json

import pytest

from mirror.store import Store, StoreCorrupt
from mirror.store.compression import decompressed
from mirror.store.file_format import LayoutError, file_lines, parse_file


def written(header: dict, tables: dict) -> bytes:
    return b"".join(file_lines(header, tables))


@pytest.mark.parametrize("tables", [
    {},
    {"empty": {}},
    {"resources": {"1": {"text": '{"a":"line\\nbreak é"}'}, "2": {"n": 1}}, "history": {}, "runs": {"7": {}}},
])
def test_the_file_is_json_that_any_parser_reads_the_same(tables):
    raw = written({"format": "x", "version": 1}, tables)
    assert json.loads(raw) == parse_file(raw) == {"format": "x", "version": 1, "tables": tables}
    assert raw.count(b"\n") == 2 + sum(len(documents) + 2 for documents in tables.values())


def test_a_file_in_another_layout_is_still_read():
    envelope = {"format": "x", "tables": {"resources": {"1": {"id": "a"}}}}
    assert parse_file(json.dumps(envelope, indent=2).encode()) == envelope


@pytest.mark.parametrize("damage, reason", [
    (lambda raw: raw[: len(raw) // 2], "line|ends before"),
    (lambda raw: raw.replace(b'"n":1', b'"n":NaN'), "line 4 is not valid JSON"),
    (lambda raw: raw.replace(b'"history":{', b'"history"'), "line 6 should open a table"),
    (lambda raw: raw + b"{}\n", "data after its end"),
    (lambda raw: raw.replace(b'"a":1},\n', b'"a":1}\n'), "line 3 lacks the comma"),
    (lambda raw: raw.replace(b'"n":1}\n', b'"n":1},\n'), "line 4 ends with a comma"),
])
def test_damage_is_reported_with_its_line(damage, reason):
    raw = written({"format": "x"}, {"resources": {"1": {"a": 1}, "2": {"n": 1}}, "history": {}})
    with pytest.raises(LayoutError, match=reason):
        parse_file(damage(raw))


def test_st6_a_damaged_line_in_a_store_names_the_line_and_the_backup(tmp_path):
    with Store(tmp_path, commit_interval=0) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", [{"resourceType": "Patient", "id": "p1"}], run_id=run)
    live = tmp_path / "mirror.json"
    lines = decompressed(live.read_bytes()).split(b"\n")
    lines[2] = lines[2][:-10]  # the first resource's line, cut short
    live.write_bytes(b"\n".join(lines))
    with pytest.raises(StoreCorrupt, match=r"line 3 is not valid JSON.*mirror\.json\.1"):
        Store(tmp_path, read_only=True)
