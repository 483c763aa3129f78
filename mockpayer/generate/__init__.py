"""Deterministic synthetic health-plan data: the plan folders the mock payer serves (issue 3, "The generator").

A plan folder is `plan.json` (clients, token and paging settings, who can log in), `data/` (each member's
CARIN Blue Button 2.0.0 claims with their Patient, Coverage, providers, Da Vinci PDex prior authorizations
and, with `clinical`, US Core 6.1.0 records) and `directory/` (the public Da Vinci Plan-Net 1.1.0 directory and US
Drug Formulary 2.0.1). With
`days` > 1 it also holds later days of the records as mockpayer/scenarios.py reads them: `days/<n>/data/`
(each member's new and changed claims that day) and `days/<n>/removed.json` (the claims gone that day).
With the `bluebutton` profile it is a Medicare plan shaped as CMS Blue Button 2.0 serves one: `data/` holds each
beneficiary's Patient (with an MBI), Coverage for Parts A to D and claims of Blue Button's eight types, coded
with the CMS variables, and nothing else.

Why it is built this way:
- Same seed, same bytes. Every choice comes from a `random.Random` seeded with a string made of the seed
  and what is being made (the provider roster, member n), never from the global generator or the clock;
  "today" is REFERENCE_TODAY. A member depends only on the seed and its number, so adding members never
  changes the ones already written, and any member can be rebuilt alone.
- Any size in bounded memory: members are written one at a time, each resource as soon as it is made.
- The loader must cope with every file shape a plan folder may hold, so the output mixes them: single
  resources, a `searchset` Bundle (the provider roster), one `collection` Bundle per member and a
  `transaction` Bundle with `urn:uuid` references (the formulary).
- Byte layout: Bundles hold one entry per line (compact, streamable, readable in a diff); the small files
  (plan.json, single resources) are indented by two spaces. Every dateTime with a time has an offset.
- Money adds up, on every claim and on later days too (adjudication.py, days.py).

The modules, one job each: command.py (the options of `mockpayer generate`) runs plan_folder.py (checks the
options, keeps an earlier plan.json's settings, writes the new one), which has carin_folder.py write the files
through plan_files.py (which counts them) from roster.py (the plan and its providers), members.py (Patient,
Coverage), claims.py (CARIN BB EOBs, priced by adjudication.py), prior_auths.py (PDex prior authorizations),
clinical.py (US Core), directory.py (Plan-Net), formulary.py (US Drug Formulary), days.py (later days) and
settings.py (plan.json), laid out by bundles.py; bluebutton_folder.py writes the bluebutton profile's from
beneficiaries.py (Patient, Coverage), medicare_claims.py (the eight claim types), priced by medicare_costs.py
and written in cms.py's CMS shapes. They draw on tables.py (the reference data), codes.py (code systems and
profiles) and dates.py (the fixed "today").

The bundled plans are made with these commands (run from the repository root; `mockpayer generate` and
`python -m mockpayer.generate` take the same options), and tests/test_generate.py checks that the
committed folders equal their output:

    mockpayer generate --out fixtures/plans/demoplan --settings-from fixtures/plans/demoplan/plan.json \\
        --system-id demoplan --name "Demo Health Plan" --base-url 1updemohealthplan.com --mode 1up \\
        --members 3 --claims-per-member 20 --clinical --seed 1 --days 3
    mockpayer generate --out fixtures/plans/smartplan --settings-from fixtures/plans/smartplan/plan.json \\
        --system-id smartplan --name "Strict SMART Health Plan" --base-url smarthealthplan.example \\
        --mode smart --members 2 --claims-per-member 10 --seed 2
    mockpayer generate --profile bluebutton --out fixtures/plans/bluebutton \\
        --settings-from fixtures/plans/bluebutton/plan.json --system-id bluebutton \\
        --name "Medicare (Blue Button 2.0)" --base-url bluebutton.example --members 5 \\
        --claims-per-member 40,1,14,25,9 --seed 7
"""

from mockpayer.generate.command import add_arguments, run
from mockpayer.generate.plan_folder import Summary, write_plan

__all__ = ["Summary", "add_arguments", "run", "write_plan"]
