"""SMART App Launch 2.x scopes (scopes-and-launch-context): what a read-only patient API grants of a scope asked,
and what a granted scope lets its token see, v1 and v2, granular scopes included."""

import pytest

from mirror.fhir.scopes import (
    READ,
    SEARCH,
    ScopeAccess,
    allows_read,
    allows_search,
    grantable_scope,
    readable_types,
    scope_query,
    within_grant,
)

PHARMACY = "type=http://terminology.hl7.org/CodeSystem/claim-type|pharmacy"
ORAL = "type=http://terminology.hl7.org/CodeSystem/claim-type|oral"


def eob(claim_type: str, system="http://terminology.hl7.org/CodeSystem/claim-type") -> dict:
    return {"resourceType": "ExplanationOfBenefit", "id": claim_type,
            "type": {"coding": [{"system": system, "code": claim_type}]}}


@pytest.mark.parametrize("asked, granted", [
    ("patient/*.read", "patient/*.read"),
    ("patient/*.rs", "patient/*.rs"),
    ("patient/Coverage.r", "patient/Coverage.r"),
    ("patient/Coverage.s", "patient/Coverage.s"),
    ("user/*.*", "user/*.read"),  # v1 wildcard: its read half, in v1 grammar
    ("patient/*.cruds", "patient/*.rs"),  # v2: the read half, in v2 grammar
    ("patient/Observation.crs", "patient/Observation.rs"),
    ("patient/*.write", None),
    ("patient/Observation.cud", None),
    ("patient/Observation.c", None),
    ("system/*.read", None),  # backend services: no member behind the token
    ("system/Coverage.rs", None),
    (f"patient/ExplanationOfBenefit.cruds?{PHARMACY}", f"patient/ExplanationOfBenefit.rs?{PHARMACY}"),
    ("openid", "openid"),
    ("launch/patient", "launch/patient"),
    ("offline_access", "offline_access"),
    ("patient/*.rd", "patient/*.r"),
    ("patient/*.sr", None),  # not in v2 order (c, r, u, d, s)
    ("patient/Coverage", None),
    ("email", None),
])
def test_only_the_read_half_of_a_patient_or_user_scope_is_granted(asked, granted):
    """SMART v2 permissions c/r/u/d/s and v1 read/write/*: writes and system/ scopes are never granted here."""
    assert grantable_scope(asked) == granted


@pytest.mark.parametrize("asked", [
    "patient/Observation.rs?nonsense=1",  # a parameter the plan does not support
    "patient/Observation.rs?category=",  # empty: a search would ignore it, widening the scope
    "patient/Observation.rs?",
    "patient/Observation.rs?category=laboratory&_count=5",  # result parameters restrict nothing
    "patient/ExplanationOfBenefit.rs?_include=ExplanationOfBenefit:patient",
    "patient/ExplanationOfBenefit.rs?created=notadate",
    "patient/*.rs?category=laboratory",  # a query needs one type to be read by its parameters
])
def test_a_granular_scope_the_server_cannot_apply_is_not_granted(asked):
    """SMART v2 granular scopes: a restriction that cannot be enforced must not become a wider grant."""
    assert grantable_scope(asked) is None


def test_a_granular_query_reads_like_a_search():
    """SMART v2: `?param=value` uses FHIR search semantics: `system|code` tokens, comma as OR, & as AND."""
    search = scope_query("Observation", "category=laboratory,vital-signs&date=ge2020-01-01")
    assert [criterion.name for criterion in search.criteria] == ["category", "date"]
    assert len(search.criteria[0].values) == 2
    encoded = scope_query("ExplanationOfBenefit",
                          "type=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fclaim-type%7Cpharmacy")
    assert encoded == scope_query("ExplanationOfBenefit", PHARMACY)


def test_granular_scope_matches_only_its_resources():
    access = ScopeAccess(f"patient/ExplanationOfBenefit.rs?{PHARMACY} launch/patient")
    assert access.permits(READ, eob("pharmacy")) and access.permits(SEARCH, eob("pharmacy"))
    assert not access.permits(READ, eob("professional"))
    assert not access.permits(READ, eob("pharmacy", system="http://example.org/other-system"))
    assert access.allows(SEARCH, "ExplanationOfBenefit")
    assert not access.allows_whole_type(SEARCH, "ExplanationOfBenefit")
    assert not access.allows(READ, "Coverage")
    assert not access.permits(READ, {"resourceType": "Coverage", "id": "c"})


def test_scopes_on_one_type_are_additive():
    """SMART v2: "scopes ... are additive": a resource any of them matches is visible."""
    access = ScopeAccess(f"patient/ExplanationOfBenefit.rs?{PHARMACY} patient/ExplanationOfBenefit.rs?{ORAL}")
    assert access.permits(SEARCH, eob("pharmacy")) and access.permits(SEARCH, eob("oral"))
    assert not access.permits(SEARCH, eob("professional"))
    wider = ScopeAccess(f"patient/ExplanationOfBenefit.rs?{PHARMACY} patient/*.read")
    assert wider.permits(SEARCH, eob("professional")) and wider.allows_whole_type(SEARCH, "ExplanationOfBenefit")


def test_read_and_search_are_separate_permissions_in_v2():
    """SMART v2: `r` reads by id, `s` searches; v1 `.read` is both."""
    assert allows_read("patient/Coverage.r", "Coverage") and not allows_search("patient/Coverage.r", "Coverage")
    assert allows_search("patient/Coverage.s", "Coverage") and not allows_read("patient/Coverage.s", "Coverage")
    assert allows_read("patient/Coverage.read", "Coverage") and allows_search("patient/Coverage.read", "Coverage")
    assert allows_search("user/*.rs", "Observation")
    access = ScopeAccess(f"patient/ExplanationOfBenefit.r patient/ExplanationOfBenefit.s?{PHARMACY}")
    assert access.permits(READ, eob("professional")) and not access.permits(SEARCH, eob("professional"))


def test_write_only_and_system_scopes_reach_nothing():
    access = ScopeAccess("patient/*.write patient/Coverage.cud system/*.read openid")
    assert not access.allows(READ) and not access.allows(SEARCH)
    assert readable_types("patient/*.write system/*.read") == (False, frozenset())
    assert readable_types("patient/Coverage.r patient/Observation.s?category=laboratory") == (
        False, frozenset({"Coverage", "Observation"}))


def test_a_type_limited_by_a_query_is_not_seen_whole():
    """What the sync may reconcile: only types no query limits."""
    access = ScopeAccess(f"patient/ExplanationOfBenefit.r patient/ExplanationOfBenefit.s?{PHARMACY} "
                         "patient/Coverage.rs")
    assert not access.sees_whole_type("ExplanationOfBenefit")
    assert access.sees_whole_type("Coverage") and not access.sees_whole_type("Observation")


@pytest.mark.parametrize("granted, asked", [
    ("patient/*.read offline_access", f"patient/ExplanationOfBenefit.rs?{PHARMACY}"),
    ("patient/ExplanationOfBenefit.read", "patient/ExplanationOfBenefit.rs"),  # SMART v2: `.read` is `.rs`
    ("patient/ExplanationOfBenefit.rs", "patient/ExplanationOfBenefit.read"),
    ("patient/*.rs", "patient/Coverage.r patient/Coverage.s"),
    ("patient/ExplanationOfBenefit.r patient/ExplanationOfBenefit.s", "patient/ExplanationOfBenefit.rs"),  # additive
    (f"patient/ExplanationOfBenefit.rs?{PHARMACY}", f"patient/ExplanationOfBenefit.r?{PHARMACY}"),
    (f"patient/ExplanationOfBenefit.rs?{PHARMACY}",  # the same query, percent-encoded
     "patient/ExplanationOfBenefit.rs?type=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2Fclaim-type%7Cpharmacy"),
    ("patient/Observation.rs?category=laboratory&date=ge2020", "patient/Observation.s?date=ge2020&category=laboratory"),
    ("user/*.read openid fhirUser offline_access", "openid fhirUser"),
    ("patient/*.read launch/patient", ""),
])
def test_a_refresh_may_narrow_to_any_subset_of_the_grant_by_meaning(granted, asked):
    """RFC 6749 §6: a refresh asks for no scope not originally granted; SMART scopes are compared by what they
    let a token see, so a granular or v2 scope inside a wider grant is a subset."""
    assert within_grant(asked, granted)


@pytest.mark.parametrize("granted, asked", [
    ("patient/Coverage.read", "patient/*.read"),  # a wider type
    ("patient/Coverage.r", "patient/Coverage.rs"),  # a wider permission
    ("patient/Coverage.s", "patient/Coverage.read"),
    (f"patient/ExplanationOfBenefit.rs?{PHARMACY}", "patient/ExplanationOfBenefit.rs"),  # the query dropped
    (f"patient/ExplanationOfBenefit.rs?{PHARMACY}", f"patient/ExplanationOfBenefit.rs?{ORAL}"),  # another query
    ("patient/*.read", "user/*.read"),  # another context
    ("user/*.read", "patient/Coverage.read"),
    ("patient/*.read", "patient/*.write"),  # never granted here
    ("patient/*.read", "system/Coverage.read"),
    ("patient/*.read", "patient/Observation.rs?nonsense=1"),  # a query this server cannot apply
    ("patient/*.read", "patient/Coverage.read offline_access"),  # a word not granted
    ("patient/*.read openid", "openid fhirUser"),
    ("", "patient/Coverage.read"),
])
def test_a_refresh_asking_beyond_the_grant_is_refused(granted, asked):
    """RFC 6749 §6: "MUST NOT include any scope not originally granted": anything wider is `invalid_scope`."""
    assert not within_grant(asked, granted)
