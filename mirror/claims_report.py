"""So that a member can take the claims they hold to taxes, HSA paperwork or a program.

What `mirror claims` prints: one row per claim held, with the amounts the claim pages show (both come from
`mirror.web.claims.held_claims`), as JSON, CSV for taxes and HSA paperwork, or a table to read."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from mirror.plans import PlanError
from mirror.web.claims import KIND_LABELS, claim_record, held_claims
from mirror.web.money import AMOUNT_NAMES, dollars

COLUMNS = ("source", "id", "kind", "start", "end", "provider", *AMOUNT_NAMES, "network", "status", "outcome")
TABLE_COLUMNS = (("start", "Date"), ("source", "Plan"), ("kind", "Kind"), ("provider", "Provider"),
                 ("billed", "Billed"), ("allowed", "Allowed"), ("plan_paid", "Plan paid"), ("you_owe", "You owe"))


def claim_rows(store, name: str | None = None, year: int | None = None) -> list[dict]:
    """The claims of plan `name` (every plan when None) whose service started in `year` (any when None)."""
    sources = store.sources()
    if name is not None and name not in sources:
        known = ", ".join(sources) or "none yet"
        raise PlanError(f"no records from a plan named {name!r} (plans held: {known})")
    return [claim_record(source, claim) for source, claim in held_claims(store, [name] if name else sources)
            if year is None or claim.year == year]


def render_claims(rows: list[dict], shape: str, year: int | None = None) -> str:
    """So that one set of claim rows reads well to a program or a person, as the reader asked.

    The rows as the reader asked (`shape`: json or csv for a program, else a table to read, which says when
    `year` had no claims rather than that none are held)."""
    if shape == "json":
        return json.dumps(rows, indent=2) + "\n"
    if shape == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
        return out.getvalue()
    return _table(rows, year)


def _table(rows: list[dict], year: int | None) -> str:
    if not rows:
        return f"No claims in {year}.\n" if year is not None else "No claims held.\n"
    cells = [[label for _, label in TABLE_COLUMNS]]
    cells += [[_cell(row[key], key) for key, _ in TABLE_COLUMNS] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(TABLE_COLUMNS))]
    amounts = {index for index, (key, _) in enumerate(TABLE_COLUMNS) if key in AMOUNT_NAMES}
    lines = ["  ".join(cell.rjust(widths[i]) if i in amounts else cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
             for line in cells]
    return "\n".join(lines) + f"\n{len(rows)} claim{'' if len(rows) == 1 else 's'}; '-' means the claim does not say.\n"


def _cell(value: object, key: str) -> str:
    if value is None:
        return "-"
    if key in AMOUNT_NAMES:
        return dollars(Decimal(str(value)))
    if key == "kind":
        return KIND_LABELS.get(str(value), str(value))
    return str(value)
