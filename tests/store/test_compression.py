"""The store file is a sequence of zstd frames with checksums: small to write, damage to it is refused (ST-6),
and the frames of unchanged documents are written again as they are, never stale."""

import random
from itertools import pairwise

import orjson
import pytest
import zstandard
from tinydb.table import Document

from mirror.store import Store, StoreCorrupt, StoreError, file_format, frame_cache
from mirror.store.compression import ZSTD_MAGIC, DamagedFrame, compressed_frame, decompressed, frames_of
from mirror.store.file_format import as_json


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


def test_frames_come_back_whole_and_in_order_however_they_fall_against_the_reading_buffer():
    contents = [b"", b"x\n", bytes(range(256)) * 4000, b"\xc3\xa9\n" * 100_000, b"end\n"]
    frames = [compressed_frame([content[:1000], content[1000:]]) for content in contents]
    assert list(frames_of(b"".join(frames))) == list(zip(frames, contents, strict=True))
    raw = b"".join(frames)
    assert decompressed(raw) == b"".join(contents)


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


# ----- the frames of unchanged runs are reused, and never when anything in them changed


def held_tables(store: Store) -> dict:
    """Every table the store holds in memory, as JSON would give it back; reading each one that was unread."""
    return orjson.loads(as_json({name: store._staging.documents(name) for name in list(store._staging.read())}))


def file_tables(folder) -> dict:
    return orjson.loads(decompressed((folder / "mirror.json").read_bytes()))["tables"]


def test_random_table_operations_always_leave_the_file_equal_to_the_tables(tmp_path):
    """Inserts (some with ids of their own), in-place updates, replacements, removals, truncation and dropped
    tables, committed in random
    batches through TinyDB's own API, with the store reopened now and then so that frames read from the file
    are reused too: after every commit the file holds exactly the tables, as a fresh write would."""
    rng = random.Random(7)
    store = Store(tmp_path, commit_interval=0)
    try:
        for step in range(60):
            db = store._db  # TinyDB's own table API, which the Store's methods stand on
            for _ in range(rng.randint(1, 4)):
                table = db.table(rng.choice(["alpha", "beta", "gamma"]))
                ids = [document.doc_id for document in table.all()]
                action = rng.choice(["insert", "insert", "update", "replace", "remove", "own-id", "truncate", "drop"])
                free = sorted(set(range(1, max(ids, default=0))) - set(ids))
                if action == "insert" or not ids:
                    table.insert_multiple({"n": rng.random(), "text": "é" * rng.randint(0, 40)}
                                          for _ in range(rng.randint(1, 700)))
                elif action == "own-id" and free:  # a document inserted with its own, lower id: keys out of order
                    table.insert(Document({"n": "own id"}, doc_id=rng.choice(free)))
                elif action == "update":
                    table.update({"n": rng.random()}, doc_ids=rng.sample(ids, min(len(ids), 3)))
                elif action == "replace":
                    doc_id = rng.choice(ids)
                    table.update(lambda document, step=step: document.clear() or document.update(swapped=step), doc_ids=[doc_id])
                elif action == "remove":
                    table.remove(doc_ids=rng.sample(ids, min(len(ids), rng.randint(1, 300))))
                elif action == "truncate" and rng.random() < 0.3:
                    table.truncate()
                elif action == "drop" and rng.random() < 0.2:
                    db.drop_table(table.name)
            store.flush()
            expected = held_tables(store)
            assert file_tables(tmp_path) == expected, f"step {step}"
            if rng.random() < 0.25:
                store.close()
                store = Store(tmp_path, commit_interval=0)
    finally:
        store.close()


def test_a_commit_of_one_page_compresses_that_page_and_reuses_every_other_frame(tmp_path, monkeypatch):
    stored(tmp_path, [claim(number) for number in range(2000)])
    compressed_sizes = []
    original = frame_cache.compressed_frame
    monkeypatch.setattr(frame_cache, "compressed_frame",
                        lambda chunks: compressed_sizes.append(sum(map(len, chunks))) or original(chunks))
    with Store(tmp_path, commit_interval=0) as store:  # the frames read from the file are kept
        run = store.begin_run("plan")  # the first write after opening: it reuses the frames read
        store.commit_page("plan", [claim(number) for number in range(2000, 2010)], run_id=run)
        content = len(decompressed((tmp_path / "mirror.json").read_bytes()))
    assert 0 < sum(compressed_sizes) < content / 2  # two writes, each compressing only what it changed
    assert Store(tmp_path, read_only=True).get("plan", "ExplanationOfBenefit", "eob-2009") is not None


def test_a_run_that_stops_or_starts_being_its_tables_last_is_written_again_with_its_commas(tmp_path):
    with Store(tmp_path, commit_interval=0) as store:
        table = store._db.table("alpha")
        first_segment = file_format.SEGMENT_DOCS - 1  # document ids start at 1
        table.insert_multiple({"n": number} for number in range(first_segment))
        store.flush()
        [after] = table.insert_multiple([{"n": "next segment"}])  # the first run is no longer last
        store.flush()
        assert file_tables(tmp_path)["alpha"][str(after)] == {"n": "next segment"}
        table.remove(doc_ids=[after])  # and now it is last again
        store.flush()
        assert len(file_tables(tmp_path)["alpha"]) == first_segment


def test_frames_read_from_a_file_segmented_otherwise_are_not_reused(tmp_path, monkeypatch):
    with Store(tmp_path, commit_interval=0) as store:
        store._db.table("alpha").insert_multiple({"n": number} for number in range(300))
    monkeypatch.setattr(file_format, "SEGMENT_DOCS", 200)  # two runs still, split elsewhere
    with Store(tmp_path, commit_interval=0) as store:
        store._db.table("alpha").update({"n": "changed"}, doc_ids=[100])
        store.flush()
        expected = held_tables(store)
    assert file_tables(tmp_path) == expected


def test_a_file_compressed_elsewhere_with_lines_cut_between_frames_is_read_and_rewritten_whole(tmp_path):
    stored(tmp_path, [claim(number) for number in range(300)])
    live = tmp_path / "mirror.json"
    content = decompressed(live.read_bytes())
    cuts = [0, 5000, 12345, 400_000, len(content)]  # mid-line, as `zstd` of pieces of the file would cut it
    live.write_bytes(b"".join(zstandard.ZstdCompressor().compress(content[start:end]) for start, end in pairwise(cuts)))
    with Store(tmp_path, commit_interval=0) as store:
        assert len(store.search("ExplanationOfBenefit")) == 300
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(1) | {"status": "cancelled"}], run_id=run)
        expected = held_tables(store)
    assert file_tables(tmp_path) == expected


def test_st6_a_frame_missing_the_comma_between_two_runs_is_refused(tmp_path):
    """Each frame checks out on its own and the file is one comma short: refused, never parsed and carried along
    (a frame read is written again as it is)."""
    stored(tmp_path, [claim(number) for number in range(300)])  # two runs of resources
    live = tmp_path / "mirror.json"
    frames = [content for _, content in frames_of(live.read_bytes())]
    first_run = next(number for number, content in enumerate(frames) if content.startswith(b'"1":'))
    assert frames[first_run].endswith(b",\n")
    frames[first_run] = frames[first_run][:-2] + b"\n"
    live.write_bytes(b"".join(map(compressed_frame, ([content] for content in frames))))
    with pytest.raises(StoreCorrupt, match="lacks the comma"):
        Store(tmp_path, commit_interval=0)


# ----- resource texts are decoded when read (file_format.py), and only where a checksum vouches for them


TRICKY_TEXTS = ['"quoted" \\ back\\slash', "line\nbreak\ttab \u2028 é 𝄞", '{"text":"x","content_hash":"y"}']


def tricky_claim(number: int) -> dict:
    return claim(number) | {"text": {"status": "generated", "div": TRICKY_TEXTS[number % len(TRICKY_TEXTS)]}}


def stored_texts(store: Store) -> dict[str, str]:
    return {record.id: record.text for record in store.search("ExplanationOfBenefit")}


def test_texts_left_encoded_at_open_read_back_exactly_and_are_written_back_as_they_were(tmp_path):
    resources = [tricky_claim(number) for number in range(300)]  # two segments of documents
    stored(tmp_path, resources)
    with Store(tmp_path, read_only=True) as reader:
        expected = stored_texts(reader)
        assert all(type(document["text"]) is bytes for document in reader._documents("resources").values())
    assert {eob_id: orjson.loads(text) for eob_id, text in expected.items()} == {
        resource["id"]: resource for resource in resources}
    with Store(tmp_path, commit_interval=0) as store:  # a change rewrites its segment, texts left encoded in it
        run = store.begin_run("plan")
        store.commit_page("plan", [tricky_claim(1) | {"status": "cancelled"}], run_id=run)
        expected["eob-1"] = store.get("plan", "ExplanationOfBenefit", "eob-1").text
    with Store(tmp_path, read_only=True) as reader:
        assert stored_texts(reader) == expected
    assert orjson.loads(decompressed((tmp_path / "mirror.json").read_bytes()))["tables"]["resources"]["3"]["text"] == expected["eob-2"]


def damage_a_text(content: bytes) -> bytes:
    """An escape no JSON string may hold, inside the first resource's text: the line's JSON is then invalid."""
    start = content.index(b'"text":"') + len(b'"text":"')
    return content[:start] + b"\\q" + content[start:]


@pytest.mark.parametrize("recompress", [
    lambda content: content,
    lambda content: zstandard.ZstdCompressor().compress(content),  # another tool, without checksums
], ids=["decompressed", "recompressed-without-checksum"])
def test_st6_a_text_damaged_by_hand_is_refused_at_open_when_no_checksum_vouches_for_it(tmp_path, recompress):
    stored(tmp_path, [claim(number) for number in range(3)])
    live = tmp_path / "mirror.json"
    live.write_bytes(recompress(damage_a_text(decompressed(live.read_bytes()))))
    for read_only in (True, False):
        with pytest.raises(StoreCorrupt, match="line 3 is not valid JSON"):
            Store(tmp_path, read_only=read_only)


def test_a_text_edited_into_a_checksummed_file_is_reported_when_read_and_kept_as_it_is(tmp_path):
    """Damage under a valid checksum was written on purpose (decompressed, edited, compressed again): the other
    resources read as ever, the edited one gives a short error, and writing keeps its bytes as they are."""
    stored(tmp_path, [claim(number) for number in range(3)])
    live = tmp_path / "mirror.json"
    content = damage_a_text(decompressed(live.read_bytes()))
    live.write_bytes(zstandard.ZstdCompressor(write_checksum=True).compress(content))
    with Store(tmp_path, commit_interval=0) as store:
        with pytest.raises(StoreError, match=r"copy of ExplanationOfBenefit/eob-0 is damaged: .*mirror restore.*mirror sync"):
            store.get("plan", "ExplanationOfBenefit", "eob-0").resource()
        assert store.get("plan", "ExplanationOfBenefit", "eob-1").resource() == claim(1)
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(1) | {"status": "cancelled"}], run_id=run)
    with Store(tmp_path, read_only=True) as reader:  # the segment was written again, the edit kept in it
        assert reader.get("plan", "ExplanationOfBenefit", "eob-1").resource()["status"] == "cancelled"
        assert reader._documents("resources")["1"]["text"].startswith(b'"\\q{')


def test_a_frame_without_its_checksum_is_not_kept_so_the_next_write_gives_every_frame_one(tmp_path):
    stored(tmp_path, [claim(number) for number in range(700)])  # three runs of documents, a frame each
    live = tmp_path / "mirror.json"
    frames = list(frames_of(live.read_bytes()))
    live.write_bytes(b"".join(zstandard.ZstdCompressor().compress(content) if number == 2 else frame
                              for number, (frame, content) in enumerate(frames)))
    with Store(tmp_path, commit_interval=0) as store:
        assert all(type(document["text"]) is str for document in store._documents("resources").values())
        run = store.begin_run("plan")
        store.commit_page("plan", [claim(1) | {"status": "cancelled"}], run_id=run)  # in the first run only
    assert all(zstandard.get_frame_parameters(frame).has_checksum for frame, _ in frames_of(live.read_bytes()))
    with Store(tmp_path, read_only=True) as reader:
        assert all(type(document["text"]) is bytes for document in reader._documents("resources").values())
        assert reader.get("plan", "ExplanationOfBenefit", "eob-600").resource() == claim(600)
