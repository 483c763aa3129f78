"""So that a file the mock does not serve is never skipped without a word.

What loading a plan folder served and what it refused, in the lines both `mockpayer serve` and `mockpayer check`
print, so a file the mock does not serve is never skipped without a word."""

from __future__ import annotations

from mockpayer.plans import Plan
from mockpayer.resources import PlanResources, Problem


def plan_problems(plan: Plan, resources: PlanResources) -> list[Problem]:
    """The load's problems, and members whose Patient no file holds."""
    return resources.problems + [
        Problem("plan.json", f"member {member.username}'s Patient/{member.patient_id} is not in data/", "warning")
        for member in plan.members.values() if resources.data.get("Patient", member.patient_id) is None
    ]


def count(problems: list[Problem], severity: str) -> int:
    return sum(problem.severity == severity for problem in problems)


def report_lines(plan: Plan, resources: PlanResources, problems: list[Problem]) -> list[str]:
    """One summary line for the plan, then one line per problem: errors and notes were not served."""
    summary = (f"{plan.system_id}: {len(resources.data.resources)} member resources, "
               f"{len(resources.directory.resources)} directory resources, {count(problems, 'error')} errors, "
               f"{count(problems, 'warning')} warnings, {count(problems, 'note')} notes")
    return [summary] + [f"  {problem}" for problem in problems]
