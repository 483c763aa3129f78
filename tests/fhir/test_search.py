import pytest

from mirror.fhir.dates import date_range
from mirror.fhir.search import (
    PAGE_TOKEN, DateValue, ReferenceValue, SearchError, StringValue, TokenValue, fold, parse_search,
)


def parse(resource_type, *pairs, strict=False, default_count=10, max_count=50):
    return parse_search(resource_type, pairs, default_count=default_count, max_count=max_count, strict=strict)


@pytest.mark.parametrize(
    "value",
    ["123", "Patient/123", "https://payer.example/r4/Patient/123", "Patient/123/_history/4"],
)
def test_patient_accepts_every_reference_form(value):
    (criterion,) = parse("ExplanationOfBenefit", ("patient", value)).criteria
    assert criterion.values == (ReferenceValue("Patient", "123"),)


def test_patient_ids_may_start_with_a_hyphen():
    (criterion,) = parse("Coverage", ("patient", "-19990000000001")).criteria
    assert criterion.values == (ReferenceValue("Patient", "-19990000000001"),)


@pytest.mark.parametrize(
    "pairs",
    [
        [("patient", "Group/1")],
        [("patient", "../x")],
        [("patient", "#contained")],
        [("patient", "urn:uuid:9d1ebcf3-6f87-4d4a-8bd4-0c8b3a9f6b2e")],
        [("patient:Group", "1")],
        [("provider:Practitioner", "Organization/1")],
        [("patient", "1,,2")],
    ],
)
def test_bad_references_are_search_errors(pairs):
    with pytest.raises(SearchError):
        parse("ExplanationOfBenefit", *pairs)


def test_reference_type_modifier_sets_the_type_of_bare_ids():
    (criterion,) = parse("ExplanationOfBenefit", ("provider:Organization", "o1")).criteria
    assert criterion.values == (ReferenceValue("Organization", "o1"),)
    (criterion,) = parse("ExplanationOfBenefit", ("provider", "o1")).criteria
    assert criterion.values == (ReferenceValue(None, "o1"),)  # several target types: any of them


@pytest.mark.parametrize(
    "value, expected",
    [
        ("http://hl7.org/fhir/sid/us-mbi|1EG4", TokenValue("http://hl7.org/fhir/sid/us-mbi", "1EG4")),
        ("1EG4", TokenValue(None, "1EG4")),
        ("http://hl7.org/fhir/sid/us-mbi|", TokenValue("http://hl7.org/fhir/sid/us-mbi", None)),
        ("|1EG4", TokenValue("", "1EG4")),
        (r"urn:x|a\|b", TokenValue("urn:x", "a|b")),
    ],
)
def test_identifier_token_forms(value, expected):
    (criterion,) = parse("ExplanationOfBenefit", ("identifier", value)).criteria
    assert criterion.values == (expected,)


@pytest.mark.parametrize("value", ["|", "a|b|c"])
def test_bad_tokens_are_refused(value):
    with pytest.raises(SearchError):
        parse("ExplanationOfBenefit", ("identifier", value))


def test_comma_is_or_and_an_escaped_comma_is_not():
    (criterion,) = parse("Organization", ("name", r"Acme\, Inc,Burr")).criteria
    assert [value.text for value in criterion.values] == ["Acme, Inc", "Burr"]


def test_repeated_parameters_are_separate_and_criteria():
    search = parse("ExplanationOfBenefit", ("_lastUpdated", "ge2020"), ("_lastUpdated", "lt2021"))
    assert [criterion.values for criterion in search.criteria] == [
        (DateValue("ge", date_range("2020")),),
        (DateValue("lt", date_range("2021")),),
    ]


@pytest.mark.parametrize("value", ["2020-13", "zz2020", "ge", "2020/01/01", "ge2020,lt"])
def test_bad_dates_and_prefixes_are_refused(value):
    with pytest.raises(SearchError, match="invalid date"):
        parse("ExplanationOfBenefit", ("service-date", value))


def test_string_values_are_folded_once_at_parse_time():
    (criterion,) = parse("Practitioner", ("name", "Núñez")).criteria
    assert criterion.values == (StringValue("Núñez", "nunez"),)
    assert fold("ÆSTRÖM straße") == fold("æström STRASSE")


@pytest.mark.parametrize(
    "name, value",
    [("name:below", "x"), ("identifier:text", "x"), ("_lastUpdated:exact", "2020"), ("status:missing", "maybe")],
)
def test_unsupported_modifiers_are_refused(name, value):
    with pytest.raises(SearchError):
        parse("Organization" if name.startswith("name") else "ExplanationOfBenefit", (name, value))


def test_missing_modifier_takes_a_boolean():
    (criterion,) = parse("ExplanationOfBenefit", ("provider:missing", "true")).criteria
    assert criterion.modifier == "missing" and criterion.values == (True,)


def test_count_defaults_clamps_and_rejects_junk():
    assert parse("Patient").count == 10
    assert parse("Patient", ("_count", "0")).count == 0
    assert parse("Patient", ("_count", "7")).count == 7
    assert parse("Patient", ("_count", "100000")).count == 50
    assert parse("Patient", default_count=500).count == 50
    for junk in ["abc", "-1", "1.5", "٣", "9" * 5000, " 5"]:
        with pytest.raises(SearchError, match="_count"):
            parse("Patient", ("_count", junk))


def test_single_valued_result_parameters_may_not_repeat():
    with pytest.raises(SearchError, match="more than once"):
        parse("Patient", ("_count", "1"), ("_count", "2"))


def test_eob_includes():
    search = parse(
        "ExplanationOfBenefit",
        ("_include", "ExplanationOfBenefit:patient"),
        ("_include", "ExplanationOfBenefit:care-team:Practitioner"),
        ("_include", "ExplanationOfBenefit:*"),
    )
    first, second, everything = search.includes
    assert [p.name for p in first.parameters] == ["patient"] and first.target_type is None
    assert [p.name for p in second.parameters] == ["care-team"] and second.target_type == "Practitioner"
    assert {p.name for p in everything.parameters} == {
        "patient", "provider", "coverage", "insurer", "care-team", "payee",
    }


@pytest.mark.parametrize(
    "value",
    [
        "ExplanationOfBenefit:nope", "Coverage:payor", "ExplanationOfBenefit", "*",
        "ExplanationOfBenefit:patient:Group", "ExplanationOfBenefit:status", "ExplanationOfBenefit:patient:x:y",
    ],
)
def test_unknown_includes_are_refused(value):
    with pytest.raises(SearchError, match="_include"):
        parse("ExplanationOfBenefit", ("_include", value))


def test_iterate_and_revinclude_are_unknown_not_errors():
    search = parse("ExplanationOfBenefit", ("_include:iterate", "X:y"), ("_revinclude", "Provenance:target"))
    assert search.includes == ()
    assert search.unknown == (("_include:iterate", "X:y"), ("_revinclude", "Provenance:target"))


def test_unknown_parameters_are_ignored_or_refused_when_strict():
    search = parse("Patient", ("foo", "1"), ("name.given", "x"), ("_format", "json"))
    assert search.unknown == (("foo", "1"), ("name.given", "x"))
    assert search.criteria == ()
    with pytest.raises(SearchError, match="unknown search parameter: 'foo'"):
        parse("Patient", ("foo", "1"), strict=True)
    parse("Patient", ("_format", "json"), ("_pretty", "true"), strict=True)  # hints, not unknown


def test_empty_values_are_ignored():
    search = parse("ExplanationOfBenefit", ("patient", ""), ("_count", ""))
    assert search.criteria == () and search.count == 10


def test_sort_elements_summary_total():
    search = parse(
        "ExplanationOfBenefit",
        ("_sort", "-date,_lastUpdated"),
        ("_elements", "patient, type,patient"),
        ("_summary", "count"),
        ("_total", "accurate"),
    )
    assert [(field.parameter.name, field.descending) for field in search.sort] == [
        ("service-date", True), ("_lastUpdated", False),
    ]
    assert search.elements == ("patient", "type")
    assert search.summary_count and search.total == "accurate"


@pytest.mark.parametrize(
    "resource_type, name, value",
    [
        ("ExplanationOfBenefit", "_sort", "status"),
        ("ExplanationOfBenefit", "_sort", "date;drop"),
        ("ExplanationOfBenefit", "_sort", ","),
        ("Coverage", "_sort", "date"),  # Coverage has no date to sort by
        ("ExplanationOfBenefit", "_elements", "a.b"),
        ("ExplanationOfBenefit", "_elements", "../x"),
        ("ExplanationOfBenefit", "_summary", "true"),
        ("ExplanationOfBenefit", "_total", "all"),
    ],
)
def test_bad_result_parameters_are_refused(resource_type, name, value):
    with pytest.raises(SearchError):
        parse(resource_type, (name, value))


def test_self_params_are_canonical_and_list_only_what_was_applied():
    one = parse(
        "ExplanationOfBenefit",
        ("type", "pharmacy"), ("foo", "1"), ("_count", "500"), ("patient", "Patient/1"),
        ("_lastUpdated", "ge2020"), ("_lastUpdated", "lt2021"), ("_format", "json"), (PAGE_TOKEN, "abc"),
    )
    other = parse(
        "ExplanationOfBenefit",
        ("_lastUpdated", "ge2020"), ("patient", "Patient/1"), ("_count", "50"), ("_lastUpdated", "lt2021"),
        ("type", "pharmacy"),
    )
    assert one.self_params == other.self_params == (
        ("_lastUpdated", "ge2020"), ("_lastUpdated", "lt2021"), ("patient", "Patient/1"), ("type", "pharmacy"),
        ("_count", "50"),
    )
    assert one.page_token == "abc" and other.page_token is None


def test_error_messages_are_short_and_quote_user_text():
    with pytest.raises(SearchError) as raised:
        parse("Patient", ("x" * 5000 + "\n", "1"), strict=True)
    assert len(str(raised.value)) < 120 and "\n" not in str(raised.value)
