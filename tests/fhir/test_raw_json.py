"""Cutting resources out of Bundle text without re-serialising them."""

import gc
import json

import pytest

from mirror.fhir.raw_json import (
    RawJsonError,
    entry_texts_by_line,
    parse_compact_entry_texts,
    parse_keeping_entry_texts,
    resolve_urns,
)

PARSERS = pytest.mark.parametrize("parse", [parse_keeping_entry_texts, parse_compact_entry_texts],
                                  ids=["scanner", "compact"])

BUNDLE = """{ "resourceType" : "Bundle", "type":"collection",
  "entry": [
    {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "-a.1", "x": 100.50,
       "name": [{"text": "Ángela \\u200b \\"Q\\""}]}},
    {"fullUrl": "urn:uuid:2"},
    {"resource" :{"resourceType":"Coverage","id":"c","beneficiary":{"reference":"urn:uuid:1"},
       "period": {"start": "2020-01-01T10:00:00.0314215+00:00"}}}
  ]}"""


def test_entry_texts_are_cut_verbatim_while_parsing_once():
    parsed = parse_keeping_entry_texts(BUNDLE)
    assert parsed.document == json.loads(BUNDLE)
    texts = parsed.entry_texts
    assert texts[1] is None
    assert '"x": 100.50' in texts[0] and "\\u200b" in texts[0]
    assert json.loads(texts[0])["name"][0]["text"] == 'Ángela \u200b "Q"'
    assert texts[2].startswith('{"resourceType":"Coverage"') and "2020-01-01T10:00:00.0314215+00:00" in texts[2]
    parsed = json.loads(BUNDLE)
    assert [json.loads(t) if t else None for t in texts] == [e.get("resource") for e in parsed["entry"]]


COMPACT = ('{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"p",'
           '"name":[{"text":"Ángela"}],"x":2.5}},{"fullUrl":"urn:x"},7,{"resource":{"resourceType":"Coverage","id":"c"}}]}')


@pytest.mark.parametrize("text", [
    COMPACT,
    COMPACT.replace('"x":2.5', '"x":2.50'),  # a number orjson would write otherwise
    COMPACT.replace("Á", "\\u00c1"),  # an escape orjson would not write
    COMPACT.replace('"id":"p",', '"id":"p", '),  # a space
    COMPACT.replace('"id":"c"', '"id":"x","id":"c"'),  # a repeated key: the last one counts, as in any parser
    COMPACT.replace('"x":2.5', '"x":123456789012345678901234567890'),  # beyond what orjson reads
], ids=["compact", "trailing-zero", "escape", "space", "repeated-key", "big-integer"])
@PARSERS
def test_each_entry_text_is_exactly_its_resource_in_the_document(text, parse):
    """Compact or not, with numbers, escapes or keys orjson would write otherwise: each entry's text is its
    resource's exact text in the document, the whole object and no more."""
    parsed = parse(text)
    assert parsed.document == json.loads(text)
    assert parsed.entry_texts[1:3] == [None, None]
    patient, coverage = parsed.entry_texts[0], parsed.entry_texts[3]
    assert text.index(patient) == text.index('{"resourceType":"Patient"')
    assert text[text.index(patient) + len(patient):].startswith("},{")  # the whole object, no more
    assert coverage == text[text.index('{"resourceType":"Coverage"'):-3]


@pytest.mark.parametrize("text, entry_texts", [
    ('{"resourceType":"Bundle"}', []), ('{"entry":3}', []), ('{"entry":[]}', []), ('{"entry":[[],null]}', [None, None]),
    ('{"entry":[{"resource":[1]},{"resource":{},"search":{"mode":"match"}}],"total":2}', [None, "{}"])])
@PARSERS
def test_odd_entries_are_read_as_any_parser_reads_them(text, entry_texts, parse):
    """No entry, an entry that is no list, entries that are no objects, a resource that is no object."""
    for written in (text, text.replace("{", "{ ", 1)):
        parsed = parse(written)
        assert (parsed.document, parsed.entry_texts) == (json.loads(text), entry_texts)


@PARSERS
def test_a_compact_document_nested_deeper_than_orjson_writes_is_still_cut_exactly(parse):
    deep = '{"a":' * 300 + "1" + "}" * 300
    text = '{"resourceType":"Bundle","entry":[{"resource":' + deep + "}]}"
    parsed = parse(text)
    assert parsed.entry_texts == [deep] and parsed.document == json.loads(text)


def test_urn_uuid_references_are_rewritten_as_text_only():
    coverage = parse_keeping_entry_texts(BUNDLE).entry_texts[2]
    rewritten = resolve_urns(coverage, {"urn:uuid:1": "Patient/-a.1"})
    assert rewritten == coverage.replace('"urn:uuid:1"', '"Patient/-a.1"')
    untouched = '{"a":"urn:uuid:10","b":"x urn:uuid:1"}'
    assert resolve_urns(untouched, {"urn:uuid:1": "P/1"}) is untouched


@pytest.mark.parametrize("text", ["[1]", '{"a" 1}', '{"a": 1,}', '{"entry": [{"resource": {]}', "{" * 5000,
                                  '{"a": 1} {"b": 2}', '{"a": "unterminated}', '{"entry": [1 2]}',
                                  '{"entry": [{"resource": {"valueDecimal": NaN}}]}', '{"a": -Infinity}',
                                  '{"entry": [{"resource": {"valueDecimal": 1e400}}]}', '{"a": -1' + '0' * 400 + '}',
                                  '{"a": ' + '9' * 5000 + '}'])
@PARSERS
def test_malformed_text_is_a_clear_error(text, parse):
    with pytest.raises(RawJsonError):
        parse(text)


def test_documents_without_entries():
    assert parse_keeping_entry_texts(" {} ").document == parse_keeping_entry_texts("{}").document == {}
    parsed = parse_keeping_entry_texts('{"resourceType": "List", "entry": [{"item": {"reference": "X/1"}}, 3]}')
    assert parsed.entry_texts == [None, None] and parsed.document["entry"][1] == 3


def test_parsing_touches_no_process_wide_switch(monkeypatch):
    """mirror/fhir keeps no process-wide state: pausing the cycle collector over a page is the sync's to do."""
    switched = []
    monkeypatch.setattr(gc, "disable", lambda: switched.append("disable"))
    monkeypatch.setattr(gc, "enable", lambda: switched.append("enable"))
    parse_keeping_entry_texts('{"entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}')
    with pytest.raises(RawJsonError):
        parse_keeping_entry_texts('{"entry": [{"resource": NaN}]}')
    assert switched == []


BY_LINE = ('{"resourceType":"Bundle","type":"collection","entry":[\n'
           '{"fullUrl":"https://x/Patient/p","resource":{"resourceType":"Patient","id":"p","x":2.50}},\n'
           '{"fullUrl":"https://x/Coverage/c"},\n'
           '{"resource": {"resourceType":"Coverage","id":"c","note":"}"} }\n]}\n')


def test_a_bundle_written_one_entry_per_line_is_cut_without_parsing_its_resources():
    envelope, texts = entry_texts_by_line(BY_LINE)
    assert envelope["entry"] == [{"fullUrl": "https://x/Patient/p", "resource": {}}, {"fullUrl": "https://x/Coverage/c"},
                                 {"resource": {}}]
    assert texts == [(0, '{"resourceType":"Patient","id":"p","x":2.50}'),
                     (2, '{"resourceType":"Coverage","id":"c","note":"}"}')]


@pytest.mark.parametrize("text", [
    BY_LINE.replace('"x":2.50}}', '"x":2.50},"search":{"mode":"match"}}'),  # a member after the resource
    BY_LINE.replace("\n", ""),  # one line
    BY_LINE.replace('"id":"p",', '"id":"p",\n'),  # a resource over two lines
])
def test_any_other_layout_gives_texts_that_do_not_parse_or_none(text):
    """The caller's check: a text that is not its resource's own does not parse as one object."""
    found = entry_texts_by_line(text)
    if found is not None:
        with pytest.raises(json.JSONDecodeError):
            for _, resource_text in found[1]:
                json.loads(resource_text)


def test_a_document_without_entry_resources_is_not_read_by_line():
    assert entry_texts_by_line('{"resourceType":"Patient","id":"p"}') is None
    assert entry_texts_by_line('{"resourceType":"Bundle","entry":[\n{"fullUrl":"x"}\n]}') is None
