"""FHIR R4 `id` datatype (https://hl7.org/fhir/R4/datatypes.html#id): the one rule for every id we accept.

Ids arrive in URLs and in payer output; anything outside `[A-Za-z0-9\\-\\.]{1,64}` is refused before it
reaches a store, a path or a page, so `../x`, `%00` and back-slashes never go further.
"""

import re
from typing import TypeGuard

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
RESOURCE_TYPE_PATTERN = re.compile(r"[A-Z][A-Za-z]{1,63}")


def is_valid_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def is_resource_type_name(value: object) -> TypeGuard[str]:
    """True for a string shaped like a FHIR resource type name (`ExplanationOfBenefit`)."""
    return isinstance(value, str) and RESOURCE_TYPE_PATTERN.fullmatch(value) is not None
