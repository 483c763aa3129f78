from mirror.fhir.paths import values_at

EOB = {
    "resourceType": "ExplanationOfBenefit",
    "billablePeriod": {"start": "2020-01-01"},
    "item": [
        {"sequence": 1, "servicedDate": "2020-01-02"},
        {"sequence": 2, "servicedPeriod": {"start": "2020-01-03", "end": "2020-01-04"}},
        {"sequence": 3, "careTeamSequence": [1, 2]},
    ],
}


def test_lists_are_flattened_at_every_step():
    assert values_at(EOB, "item.servicedDate") == ["2020-01-02"]
    assert values_at(EOB, "item.servicedPeriod.start") == ["2020-01-03"]
    assert values_at(EOB, "item.careTeamSequence") == [1, 2]
    assert values_at(EOB, "item.sequence") == [1, 2, 3]


def test_missing_steps_and_non_objects_give_nothing():
    assert values_at(EOB, "provider.reference") == []
    assert values_at(EOB, "billablePeriod.start.extra") == []
    assert values_at({"a": None}, "a") == []
    assert values_at({"a": "text"}, "a.b") == []


def test_a_single_value_is_returned_in_a_list():
    assert values_at(EOB, "billablePeriod") == [{"start": "2020-01-01"}]
