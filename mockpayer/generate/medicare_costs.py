"""Original Medicare's cost sharing, so a beneficiary's claims add up as Medicare's do.

Part B (carrier, DME, outpatient lines): an annual deductible, then 20% coinsurance of the allowed amount; Medicare
pays the rest; preventive visits, flu shots, clinical labs and screening mammograms cost nothing. Part A: the
inpatient deductible once per benefit period (which ends after 60 days without hospital or SNF care), SNF
coinsurance per day from day 21 of a benefit period, nothing for home health or hospice. Part D: a copay per
generic fill, a share of a brand fill's cost. Claims are priced in the order they were served, each year's
deductible against the claims before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mockpayer.generate.tables import (
    BENEFIT_PERIOD_GAP_DAYS,
    PART_A_DEDUCTIBLE,
    PART_B_COINSURANCE_PERCENT,
    PART_B_DEDUCTIBLE,
    PART_D_BRAND_COINSURANCE_PERCENT,
    PART_D_GENERIC_COPAY,
    SNF_DAY_COINSURANCE,
    SNF_DAYS_WITHOUT_COINSURANCE,
)


def for_year(table: dict[int, int], year: int) -> int:
    """The year's figure; years before or after the table take its first or last."""
    return table[min(max(year, min(table)), max(table))]


@dataclass(frozen=True)
class PartB:
    """One Part B line: allowed = deductible + coinsurance + paid."""
    allowed: int
    deductible: int
    coinsurance: int
    paid: int


@dataclass
class MedicareCosts:
    """So that each generated claim sees what the beneficiary's earlier claims used.

    What a beneficiary's claims so far used: each year's Part B deductible, and the current Part A benefit
    period (its last day of hospital or SNF care and the SNF days it has used)."""
    part_b_deductible_used: dict[int, int] = field(default_factory=dict)
    last_facility_day: date | None = None
    snf_days_used: int = 0

    def part_b(self, year: int, allowed: int, cost_sharing: bool = True) -> PartB:
        if not cost_sharing:
            return PartB(allowed, 0, 0, allowed)
        used = self.part_b_deductible_used.get(year, 0)
        deductible = min(allowed, for_year(PART_B_DEDUCTIBLE, year) - used)
        self.part_b_deductible_used[year] = used + deductible
        coinsurance = (allowed - deductible) * PART_B_COINSURANCE_PERCENT // 100
        return PartB(allowed, deductible, coinsurance, allowed - deductible - coinsurance)

    def _benefit_period(self, start: date, end: date) -> bool:
        """Whether care from `start` opens a new benefit period; the period then runs to `end`."""
        new = self.last_facility_day is None or (start - self.last_facility_day).days > BENEFIT_PERIOD_GAP_DAYS
        if new:
            self.snf_days_used = 0
        self.last_facility_day = max(end, self.last_facility_day or end)
        return new

    def inpatient(self, admission: date, discharge: date) -> int:
        """The Part A deductible this stay owes: all of it on the first admission of a benefit period."""
        return for_year(PART_A_DEDUCTIBLE, admission.year) if self._benefit_period(admission, discharge) else 0

    def snf(self, admission: date, discharge: date) -> tuple[int, int]:
        """The stay's coinsurance days and coinsurance: each day past the period's first 20 SNF days."""
        self._benefit_period(admission, discharge)
        days = (discharge - admission).days
        free = max(SNF_DAYS_WITHOUT_COINSURANCE - self.snf_days_used, 0)
        self.snf_days_used += days
        coinsurance_days = max(days - free, 0)
        return coinsurance_days, coinsurance_days * for_year(SNF_DAY_COINSURANCE, admission.year)


def part_d(cost: int, generic: bool) -> tuple[int, int]:
    """What the beneficiary pays and what the plan pays for a fill of `cost`."""
    patient = min(cost, PART_D_GENERIC_COPAY) if generic else cost * PART_D_BRAND_COINSURANCE_PERCENT // 100
    return patient, cost - patient
