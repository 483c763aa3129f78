"""Which records a patient's pages leave out, and where undated ones sort: one rule for every health page.

A record whose status is `entered-in-error` is left out: in every FHIR R4 status value set that has it
(Observation, Encounter, Procedure, MedicationRequest, MedicationDispense, ExplanationOfBenefit) it means the
record should never have existed. `cancelled` is kept and shown as said, since it means a different true thing
on each: a test not done, a visit called off, a prescription withdrawn, a prior authorization request withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from mirror.web.readable import text

LEFT_OUT_STATUSES = frozenset({"entered-in-error"})
EARLIEST = datetime.min.replace(tzinfo=timezone.utc)  # the sort key of an undated record: last, newest first


def left_out(resource: Mapping) -> bool:
    """Whether the pages leave this record out (its plan marked it entered in error)."""
    return text(resource.get("status")) in LEFT_OUT_STATUSES
