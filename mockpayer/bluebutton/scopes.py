"""Blue Button 2.0's scopes: what it grants, and which requests each scope opens.

Those it grants, what an app gets without asking, and the beneficiary's personal information that the consent page
lets them withhold.

Blue Button grants an app's scopes as asked, all or none: a scope it does not know fails the request
(`invalid_scope`). Without a `scope` the app gets its default set, which is how CMS's SDK asks. Its SMART v2
forms follow its own table rather than SMART's letter: `.r` opens a type's reads and searches (it stands in for
`.read`), `.s` searches only.
"""

from __future__ import annotations

from mirror.fhir.scopes import READ, SEARCH, parse_resource_scope, split_scope

RESOURCE_TYPES = ("Patient", "Coverage", "ExplanationOfBenefit")
# As Blue Button's SMART configuration lists them (it grants the `.r` and `.s` forms too).
SCOPES_SUPPORTED = [
    "openid", "profile", "launch/patient",
    *(f"patient/{resource_type}.read" for resource_type in RESOURCE_TYPES),
    *(f"patient/{resource_type}.rs" for resource_type in RESOURCE_TYPES),
]
GRANTABLE = frozenset({
    *SCOPES_SUPPORTED,
    *(f"patient/{resource_type}.{letters}" for resource_type in RESOURCE_TYPES for letters in ("r", "s")),
})
DEFAULT_SCOPE = "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read profile"
# The consent page's "share demographic info" choice: Patient and the profile behind userinfo.
PERSONAL_INFO = frozenset({"patient/Patient.read", "patient/Patient.r", "patient/Patient.s", "patient/Patient.rs",
                           "profile"})


def granted_scope(scope: str | None) -> str | None:
    """So that the mock grants scopes as Blue Button does.

    What Blue Button grants of the scope asked: all of it when every word is one of its scopes (nothing asked:
    the default set), else None."""
    words = split_scope(scope) or split_scope(DEFAULT_SCOPE)
    return " ".join(words) if all(word in GRANTABLE for word in words) else None


def without_personal_info(scope: str) -> str:
    """The scope less the beneficiary's personal information, when they chose not to share it."""
    return " ".join(word for word in split_scope(scope) if word not in PERSONAL_INFO)


def opens(scope: str, resource_type: str, *, search: bool) -> bool:
    """Whether a token with `scope` opens this read by id (or search, with `search`) of `resource_type`."""
    for word in split_scope(scope):
        parsed = parse_resource_scope(word) if word in GRANTABLE else None
        if parsed is not None and parsed.resource_type == resource_type and (
                READ in parsed.permissions or (search and SEARCH in parsed.permissions)):
            return True
    return False
