"""How much of the year's deductible and out-of-pocket maximum is used, for the claims page's progress bars.

Per year and network, from the `benefitBalance` a plan sends on its claims (CARIN Blue Button; the R4 `benefit-type`
codes and Da Vinci PCT's `out-of-pocket-maximum`). (R4 Coverage has no benefitBalance.)

A balance counts only with both an allowed and a used amount of money: CMS files per-claim amounts in
`benefitBalance` with `usedMoney` alone, which say nothing about a yearly limit. Each claim's balance is the
year to date as of that claim, and year-to-date amounts only grow, so the highest used amount of a year speaks
for it, as of the claim that carries it: the latest-created claim need not be the latest processed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mirror.web.claims import is_counted
from mirror.web.money import money_value
from mirror.web.readable import codes, display, mappings, text

FINANCIAL_TYPES = {"deductible": "Deductible", "out-of-pocket-maximum": "Out-of-pocket maximum",
                   "benefit": "Plan benefit maximum", "copay-maximum": "Copay maximum"}
NETWORKS = {"in": "In network", "out": "Out of network"}


@dataclass
class Progress:
    year: int
    network: str | None
    name: str
    unit: str | None  # "Individual", "Family"
    used: Decimal
    allowed: Decimal
    as_of: str

    @property
    def percent(self) -> int:
        """How full the bar is, 0 to 100 (a limit of zero is full)."""
        if self.allowed <= 0:
            return 100
        return max(0, min(100, int(self.used * 100 / self.allowed)))

    @property
    def left(self) -> Decimal:
        return max(self.allowed - self.used, Decimal(0))


def benefit_progress(store, sources: Iterable[str]) -> list[Progress]:
    """The highest balance of each year, network, unit and kind of limit; newest year first, in network first."""
    highest: dict[tuple, Progress] = {}
    for source in sources:
        for stored in store.search("ExplanationOfBenefit", source=source):
            resource = stored.resource()
            if not is_counted(resource):
                continue
            for progress in balances(resource):
                key = (source, progress.year, progress.network, progress.unit, progress.name)
                held = highest.get(key)
                if held is None or (progress.used, progress.as_of) > (held.used, held.as_of):
                    highest[key] = progress
    return sorted(highest.values(), key=lambda p: (-p.year, p.network != NETWORKS["in"], p.network or "",
                                                   p.unit or "", p.name != FINANCIAL_TYPES["deductible"], p.name))


def shown_bars(progress: list[Progress], year: int | None, out_of_network_years: set[int]) -> list[Progress]:
    """So that the benefit bars show only limits the patient's claims bear on.

    The bars of `year` (the latest year with bars when None); an out-of-network bar with nothing used is
    left out unless a claim of that year was out of network, since it only says a limit exists."""
    if year is None:
        year = max((bar.year for bar in progress), default=None)
    return [bar for bar in progress if bar.year == year
            and (bar.network != NETWORKS["out"] or bar.used > 0 or year in out_of_network_years)]


def balances(resource: Mapping) -> list[Progress]:
    """The yearly limits one claim states, with what was used of them."""
    year, as_of = _year_and_date(resource)
    if year is None:
        return []
    found = []
    for balance in mappings(resource.get("benefitBalance")):
        network = NETWORKS.get(next(iter(codes(balance.get("network"))), ""), display(balance.get("network")) or None)
        unit = display(balance.get("unit")) or None
        for financial in mappings(balance.get("financial")):
            used, allowed = money_value(financial.get("usedMoney")), money_value(financial.get("allowedMoney"))
            if used is None or allowed is None:
                continue
            kind = next(iter(codes(financial.get("type"))), "")
            name = FINANCIAL_TYPES.get(kind) or display(financial.get("type")) or "Limit"
            found.append(Progress(year, network, name, unit, used, allowed, as_of))
    return found


def _year_and_date(resource: Mapping) -> tuple[int | None, str]:
    """So that a benefit balance is placed in its year and dated as of its claim.

    The benefit year (benefitPeriod, else the service period, else created) and the date the balance was as
    of (the claim's processing date)."""
    starts = []
    for name in ("benefitPeriod", "billablePeriod"):
        period = resource.get(name)
        if isinstance(period, Mapping) and text(period.get("start")):
            starts.append(period["start"])
    created = text(resource.get("created")) or ""
    meta = resource.get("meta") if isinstance(resource.get("meta"), Mapping) else {}
    first = (starts or [created])[0]
    year = int(first[:4]) if first[:4].isdigit() else None
    return year, created or text(meta.get("lastUpdated")) or ""
