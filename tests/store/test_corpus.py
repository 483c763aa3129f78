"""Round trip of real FHIR data: every resource of the real examples goes in and comes back as it was sent.

DESIGN: raw JSON is the truth. A resource stored as text comes back byte for byte (through a cold reopen of
the file), which keeps what a model round trip or a float parse would rewrite: non-ASCII names, 7-digit
fractional seconds, trailing-zero decimals, leading-hyphen ids. The Synthea Bundles have no id, so their
entries are stored one by one, each cut from the Bundle's own text. A resource given as a dict parsed with
Decimal keeps its numbers' digits too.

The examples (tests/example_data.py) have no trailing-zero decimal and no leading-hyphen id, so one resource
with both is made by editing a CARIN example's text.
"""

import json
import re
from decimal import Decimal

import pytest

from mirror.fhir.raw_json import parse_keeping_entry_texts
from mirror.store import ParsedText, Store
from tests.example_data import example_files, example_folder

SEVEN_DIGIT_FRACTION = re.compile(r"T\d\d:\d\d:\d\d\.\d{7}(Z|[+-]\d\d:\d\d)")
PAGE_SIZE = 100


def corpus_resources() -> dict[tuple[str, str, str], bytes | str]:
    """{(source, type, id): what a server sent} for every resource: each file's bytes, each Synthea Bundle
    entry's text, and the one edited copy."""
    resources: dict[tuple[str, str, str], bytes | str] = {}
    for path in example_files():
        sent = path.read_bytes()
        parsed = json.loads(sent)
        if "id" in parsed:
            resources[(path.parent.name, parsed["resourceType"], parsed["id"])] = sent
            continue
        assert parsed["resourceType"] == "Bundle", f"{path.name} has no id and is not a Bundle"
        source = f"{path.parent.name}/{path.stem}"  # Organization and Practitioner ids repeat across bundles
        for entry_text in parse_keeping_entry_texts(sent.decode("utf-8")).entry_texts:
            entry = json.loads(entry_text)
            resources[(source, entry["resourceType"], entry["id"])] = entry_text
    edited = (example_folder("carin-bb-2.0.0") / "ExplanationOfBenefit-EOBInpatient1.json").read_text(encoding="utf-8")
    edited = edited.replace('"id":"EOBInpatient1"', '"id":"-EOBInpatient1"', 1)
    edited = edited.replace('"amount":{"value":620,', '"amount":{"value":620.50,', 1)
    resources[("edited", "ExplanationOfBenefit", "-EOBInpatient1")] = edited
    return resources


def as_bytes(sent: bytes | str) -> bytes:
    return sent if isinstance(sent, bytes) else sent.encode("utf-8")


def store_all(store: Store, resources: dict[tuple[str, str, str], object]) -> None:
    by_source: dict[str, list] = {}
    for (source, _, _), resource in resources.items():
        by_source.setdefault(source, []).append(resource)
    for source, items in by_source.items():
        run = store.begin_run(source)
        for start in range(0, len(items), PAGE_SIZE):
            store.commit_page(source, items[start:start + PAGE_SIZE], run_id=run)
        store.finish_run(run)


def as_a_sync_gives_it(sent: bytes | str) -> ParsedText:
    """The text with the parse a sync made of it while reading its page (Python's json, as raw_json)."""
    text = as_bytes(sent).decode("utf-8")
    return ParsedText(text, json.loads(text))


@pytest.mark.parametrize("given", [as_bytes, as_a_sync_gives_it], ids=["text", "text-with-its-parse"])
def test_every_corpus_resource_comes_back_byte_for_byte_after_a_cold_reopen(tmp_path, given):
    resources = corpus_resources()
    texts = [as_bytes(sent).decode("utf-8") for sent in resources.values()]
    # the cases this test exists for are really in the data
    assert any(SEVEN_DIGIT_FRACTION.search(text) for text in texts)
    assert any(not text.isascii() for text in texts)
    assert any(resource_id.startswith("-") for _, _, resource_id in resources)
    assert any('"value":620.50,' in text for text in texts)
    # a file with an id is one resource, a Bundle without one (Synthea's) one per entry, plus the edited copy
    documents = [json.loads(path.read_bytes()) for path in example_files()]
    entries = sum(len(document["entry"]) for document in documents if "id" not in document)
    assert entries and len(resources) == sum("id" in document for document in documents) + entries + 1

    with Store(tmp_path, commit_interval=60) as store:
        store_all(store, {key: given(sent) for key, sent in resources.items()})
    reopened = Store(tmp_path, read_only=True)
    for (source, resource_type, resource_id), sent in resources.items():
        stored = reopened.get(source, resource_type, resource_id)
        assert stored is not None, (source, resource_type, resource_id)
        assert stored.text.encode("utf-8") == as_bytes(sent), (source, resource_type, resource_id)
    assert sum(reopened.counts().values()) == len(resources)


def test_corpus_resources_given_as_decimal_dicts_keep_every_number_as_written(tmp_path):
    """The path for a sync engine that parses pages itself: json.loads(..., parse_float=Decimal)."""
    resources = {key: as_bytes(sent) for key, sent in corpus_resources().items() if "/" not in key[0]}
    parsed = {key: json.loads(sent, parse_float=Decimal) for key, sent in resources.items()}
    with Store(tmp_path, commit_interval=60) as store:
        store_all(store, parsed)
        for (source, resource_type, resource_id), sent in resources.items():
            stored = store.get(source, resource_type, resource_id).text
            # numbers compared as the strings they were written as: 620.50 must not come back as 620.5
            assert json.loads(stored, parse_float=str) == json.loads(sent, parse_float=str), resource_id
