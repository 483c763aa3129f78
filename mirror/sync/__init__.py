"""`mirror sync` and `mirror status`: bring a member's records home from each connected plan, and say how
each plan stands.

engine.py runs a sync (walks, checkpoints, references, removals); targets.py decides what to fetch from the
plan's CapabilityStatement; pages.py checks a payer's answers before anything is stored and guards paging;
http.py makes the requests (token refresh, timeouts, retries, caps) with the waits retry.py computes;
report.py is the run report and exit status; progress.py the terminal progress; status.py `mirror status`
and the "re-connect needed" mark.
"""

from mirror.sync.engine import SyncOptions, sync_plan, sync_plans
from mirror.sync.report import EXIT_CODES, PlanReport, SyncReport
from mirror.sync.status import plan_statuses, render_status

__all__ = ["EXIT_CODES", "PlanReport", "SyncOptions", "SyncReport", "plan_statuses", "render_status", "sync_plan",
           "sync_plans"]
