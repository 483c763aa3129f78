"""The element memo says "valid" exactly when fhir.resources' whole-resource validation does (issue 5).

It may say "not shown" for a valid resource (the whole validation then decides), but never "valid" for one
the models reject. Checked over the IG examples and over broken variants of it, with one memo for many
resources, as a sync's validation worker keeps it, and for new values in elements of a shape seen before.
"""

import copy
import importlib
import pkgutil
import random

import fhir.resources.R4B
import pytest
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from mirror.fhir.element_memo import ElementMemo, _RecentlyUsed
from mirror.fhir.validation import _resource_model, validation_findings

IG_FOLDERS = ["carin-bb-2.0.0", "us-core-6.1.0", "plan-net-1.1.0", "formulary-1.0.1", "formulary-2.0.1"]
ODD_VALUES = [None, 7, 7.5, -1, True, "", "x y", "2024-13-45", [], {}, [None], {"bogus": 1}, ["a"]]


def models_accept(resource: dict) -> bool:
    try:
        _resource_model(resource["resourceType"]).model_validate(resource)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def memo_accepts(memo: ElementMemo, resource: dict) -> bool:
    return memo.accepts(_resource_model(resource["resourceType"]), resource)


@pytest.fixture(scope="module")
def examples(corpus) -> list[dict]:
    return [resource for folder in IG_FOLDERS for _, resource in corpus(folder)]


def test_the_memo_accepts_only_what_the_models_accept_across_the_corpus(examples):
    memo = ElementMemo()
    valid = [models_accept(resource) for resource in examples]
    for _ in range(2):  # the second round answers from what the first one built
        accepted = [memo_accepts(memo, resource) for resource in examples]
        assert not any(ours and not theirs for ours, theirs in zip(accepted, valid, strict=True))
        assert sum(accepted) >= 0.95 * sum(valid)  # a shortcut that is rarely taken would be no shortcut


def test_the_known_invalid_example_is_not_accepted(corpus):
    resource = dict(corpus("us-core-6.1.0"))["DiagnosticReport-cbc.json"]
    memo = ElementMemo()
    assert not memo_accepts(memo, resource) and not models_accept(resource)


def _places(value):
    """Every (container, key) in a parsed resource, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield value, key
        yield from _places(inner)


def _broken(resource: dict, randomly: random.Random) -> dict:
    variant = copy.deepcopy(resource)
    places = [place for place in _places(variant) if place[1] not in ("resourceType",)]
    container, key = randomly.choice(places)
    action = randomly.randrange(4)
    if action == 0:
        container[key] = copy.deepcopy(randomly.choice(ODD_VALUES))
    elif action == 1 and isinstance(container, dict):
        container["notAnElement"] = "x"
    elif action == 2 and isinstance(container, list):
        container.insert(randomly.randrange(len(container) + 1), None)
    else:
        del container[key]
    return variant


def test_broken_variants_are_never_accepted_when_the_models_reject_them(examples):
    """One memo sees each valid example first, so that a broken variant's unchanged elements come from it."""
    randomly = random.Random(20261129)
    memo = ElementMemo()
    sample = [resource for resource in examples if models_accept(resource) and memo_accepts(memo, resource)]
    rejected = 0
    for resource in randomly.sample(sample, 60):
        for _ in range(6):
            variant = _broken(resource, randomly)
            expected = models_accept(variant)
            assert memo_accepts(memo, variant) <= expected, (resource["id"], variant)
            rejected += not expected
    assert rejected > 150  # most variants are really broken, so the comparison has teeth


def test_an_element_valid_in_one_place_is_checked_again_in_another():
    memo = ElementMemo()
    coverage = {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": "Patient/p"},
                "payor": [{"reference": "Organization/o"}], "class": [{"type": {"text": "group"}, "value": "G-1"}]}
    assert memo_accepts(memo, coverage)
    # {"reference": ...} was built as a Reference; as a CodeableConcept it has no such element
    wrong = dict(coverage, type={"reference": "Patient/p"})
    assert not memo_accepts(memo, wrong) and not models_accept(wrong)


@pytest.mark.parametrize("with_null, path", [
    ({"resourceType": "Observation", "status": "final", "code": {"text": "t"}, "valueQuantity": {"value": None}},
     ("valueQuantity", "value")),
    ({"resourceType": "Patient", "maritalStatus": None}, ("maritalStatus",)),  # an element given as a null
    ({"resourceType": "Patient", "maritalStatus": {"text": "x", "resourceType": None}},  # a key that is no field
     ("maritalStatus", "resourceType")),
    ({"resourceType": "Patient", "maritalStatus": {"coding": ['{"code":"a"}', {"code": None}]}},  # not all objects
     ("maritalStatus", "coding", 1, "code")),
], ids=["in-a-value", "element-as-null", "no-field", "mixed-list"])
def test_a_nan_is_never_taken_for_a_null_seen_before(with_null, path):
    """orjson writes None, NaN and infinity alike as null, so nothing written with a null keys an element or
    stands for a shape: a NaN would pass for a null that the models accept."""
    for bad_value in (float("nan"), float("inf"), float("-inf")):
        with_bad = copy.deepcopy(with_null)
        place = with_bad
        for step in path[:-1]:
            place = place[step]
        place[path[-1]] = bad_value
        memo = ElementMemo()
        assert memo_accepts(memo, with_null) in (models_accept(with_null), False)
        assert not memo_accepts(memo, with_bad) and not models_accept(with_bad)
        assert validation_findings(with_bad)


def test_a_full_memo_still_answers(corpus):
    memo = ElementMemo(most_kept=40)
    resources = [resource for _, resource in corpus("carin-bb-2.0.0")]
    for resource in resources + resources:
        assert memo_accepts(memo, resource) <= models_accept(resource)
        assert len(memo) <= 3 * 40  # elements, values and shapes, up to most_kept each
    for number in range(100):  # a key no field has, new each time: a new shape each time, never built
        memo_accepts(memo, dict(COVERAGE, **{f"notAnElement{number}": 1}))
        assert len(memo) <= 3 * 40


def test_the_memo_keeps_the_entries_in_use_and_drops_the_others():
    kept = _RecentlyUsed(10)
    kept.put("hot", 1)
    for number in range(1000):
        kept.put(number, number)
        assert kept.get("hot") == 1 and len(kept) <= 20
    assert kept.get(0) is None and kept.get(999) == 999


def test_findings_for_an_element_broken_after_being_seen_are_the_models_own(corpus):
    """validation_findings asks the memo first; a resource it cannot accept gets the whole validation's words."""
    _, eob = next((name, resource) for name, resource in corpus("carin-bb-2.0.0")
                  if resource["resourceType"] == "ExplanationOfBenefit")
    assert validation_findings(eob) == []
    broken = copy.deepcopy(eob)
    broken["item"][0]["productOrService"]["coding"][0]["system"] = 12
    findings = validation_findings(broken)
    assert findings and findings[0].startswith("item.0.productOrService.coding.0.system")


COVERAGE = {"resourceType": "Coverage", "id": "c1", "status": "active", "beneficiary": {"reference": "Patient/p"},
            "payor": [{"reference": "Organization/o"}], "period": {"start": "2024-01-01", "end": "2024-12-31"},
            "identifier": [{"system": "https://plan.example/member", "value": "M-1"}], "order": 1}


@pytest.mark.parametrize("place, value", [
    (("period", "start"), "2024-13-45"),
    (("period", "end"), "2024-01-01 "),
    (("identifier", 0, "value"), ""),
    (("order",), 0),
    (("status",), " active"),
    (("id",), "c 1"),
])
def test_a_new_value_in_an_element_of_a_known_shape_is_checked_by_its_field(place, value):
    """The memo built this shape once; the variant differs only in one string, so it is the field's own
    validator, not a model build, that must refuse it."""
    memo = ElementMemo()
    assert memo_accepts(memo, COVERAGE) and memo_accepts(memo, dict(COVERAGE, id="c2"))
    variant = copy.deepcopy(COVERAGE)
    container = variant
    for step in place[:-1]:
        container = container[step]
    container[place[-1]] = value
    assert not models_accept(variant)
    assert not memo_accepts(memo, variant)


def test_a_value_valid_in_one_field_is_checked_again_in_another():
    """New values are checked once per field: "active" is a code, not a date."""
    memo = ElementMemo()
    assert memo_accepts(memo, COVERAGE) and memo_accepts(memo, dict(COVERAGE, id="c2"))  # status checked alone
    variant = dict(COVERAGE, id="c5", period={"start": "active", "end": "2024-12-31"})
    assert not models_accept(variant) and not memo_accepts(memo, variant)


def test_resource_type_is_part_of_the_shape():
    memo = ElementMemo()
    assert memo_accepts(memo, COVERAGE)
    assert not memo.accepts(_resource_model("Coverage"), dict(COVERAGE, resourceType="Patient", id="c3"))


def test_nulls_in_a_list_of_elements_are_part_of_the_shape():
    """The models read an element given as JSON text, and refuse a null in a list of elements: a list with
    an item that is not an object is checked by its field's validator, which lets the null through."""
    memo = ElementMemo()
    as_text = dict(COVERAGE, payor=['{"reference": "Organization/o"}'])
    assert models_accept(as_text) and memo_accepts(memo, as_text)
    with_null = dict(COVERAGE, id="c4", payor=[None])
    assert not models_accept(with_null) and not memo_accepts(memo, with_null)


def test_an_element_given_as_json_text_is_part_of_the_shape():
    """The models read an element given as JSON text, and a required value missing is valid only when its
    `_value` extension has extensions: what the text holds decides, so the text is part of the shape."""
    memo = ElementMemo()
    absent = '{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}'
    observation = {"resourceType": "Observation", "id": "o1", "code": {"text": "t"}, "_status": absent}
    assert models_accept(observation) and memo_accepts(memo, observation)
    empty = dict(observation, id="o2", _status='{"extension": []}')
    assert not models_accept(empty) and not memo_accepts(memo, empty)
    by_python_name = {**observation, "id": "o3", "status__ext": absent}  # the models take both names
    del by_python_name["_status"]
    assert models_accept(by_python_name) and memo_accepts(memo, by_python_name)
    empty = dict(by_python_name, id="o4", status__ext='{"extension": []}')
    assert not models_accept(empty) and not memo_accepts(memo, empty)


def test_no_r4b_field_is_constrained_beyond_its_type():
    """The memo checks a new value with a validator of its field's type alone, which is only the models' own
    check while no field carries constraints or a discriminator of its own."""
    constrained = []
    for module_info in pkgutil.iter_modules(fhir.resources.R4B.__path__):
        module = importlib.import_module(f"fhir.resources.R4B.{module_info.name}")
        for model in vars(module).values():
            if isinstance(model, type) and issubclass(model, FHIRAbstractModel) and model.__module__ == module.__name__:
                constrained += [(model.__name__, name) for name, field in model.model_fields.items()
                                if field.metadata or field.discriminator is not None]
    assert constrained == []
