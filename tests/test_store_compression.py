"""The store file is one zstd frame with its checksum: smaller to write, and damage to it is refused (ST-6)."""

import orjson
import pytest

from mirror.store import Store, StoreCorrupt
from mirror.store.compression import ZSTD_MAGIC, DamagedFrame, compressed, decompressed
from mirror.store.file_format import file_lines


def claim(number: int) -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": f"eob-{number}", "status": "active",
            "patient": {"reference": "Patient/p1"}, "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
            "total": [{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": number * 1.5}}]}


def stored(folder, resources: list[dict]) -> None:
    with Store(folder, commit_interval=0) as store:
        run = store.begin_run("plan")
        store.commit_page("plan", resources, run_id=run)
        store.finish_run(run)


def test_the_store_file_is_a_compressed_frame_of_the_json_layout(tmp_path):
    stored(tmp_path, [claim(number) for number in range(200)])
    raw = (tmp_path / "mirror.json").read_bytes()
    content = decompressed(raw)
    assert raw.startswith(ZSTD_MAGIC) and len(raw) * 5 < len(content)
    envelope = orjson.loads(content)
    assert envelope["format"] == "payer-mirror-store" and len(envelope["tables"]["resources"]) == 200


def test_chunks_survive_the_round_trip_whole_and_in_order():
    chunks = list(file_lines({"format": "x"}, {"t": {str(n): {"n": n, "text": "é" * n} for n in range(500)}}))
    assert decompressed(b"".join(compressed(chunks))) == b"".join(chunks)
    assert decompressed(b"".join(compressed([]))) == b""


def test_a_plain_json_store_from_before_compression_opens_and_is_compressed_at_its_next_commit(tmp_path):
    stored(tmp_path, [claim(1)])
    live = tmp_path / "mirror.json"
    live.write_bytes(decompressed(live.read_bytes()))
    with Store(tmp_path, commit_interval=0) as store:
        assert store.get("plan", "ExplanationOfBenefit", "eob-1") is not None
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(2)], run_id=run)
    assert live.read_bytes().startswith(ZSTD_MAGIC)
    reader = Store(tmp_path, read_only=True)
    assert {record.id for record in reader.search("ExplanationOfBenefit")} == {"eob-1", "eob-2"}


@pytest.mark.parametrize("damage, reason", [
    (lambda raw: raw[:len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 0x01]) + raw[len(raw) // 2 + 1:],
     "compressed data is damaged"),
    (lambda raw: raw[:-1], "ends before its compressed data does"),
    (lambda raw: raw + b"{}", "data after its compressed data"),
], ids=["flipped-bit", "cut-short", "trailing-data"])
def test_st6_a_damaged_frame_is_refused_naming_the_backup_and_left_untouched(tmp_path, damage, reason):
    stored(tmp_path, [claim(number) for number in range(50)])
    stored(tmp_path, [claim(50)])  # a second commit, so the first generation is the backup
    live = tmp_path / "mirror.json"
    damaged = damage(live.read_bytes())
    live.write_bytes(damaged)
    with pytest.raises(DamagedFrame, match=reason):
        decompressed(damaged)
    for read_only in (False, True):
        with pytest.raises(StoreCorrupt, match=reason) as refused:
            Store(tmp_path, read_only=read_only)
        assert refused.value.backup == str(tmp_path / "mirror.json.1")
    assert live.read_bytes() == damaged
