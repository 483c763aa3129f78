"""`mirror sync` and `mirror status`: bring a member's records home, and say how each plan stands.

A sync brings them from each connected plan.

engine.py runs a sync (walks, checkpoints, references, removals) as options.py asks; targets.py decides what to fetch from the
plan's CapabilityStatement; pages.py checks a payer's answers before anything is stored and guards paging;
http.py makes the requests (token refresh, timeouts, retries, caps) with the waits retry.py computes;
report.py is the run report and exit status; progress.py the terminal progress; status.py `mirror status`
and the "re-connect needed" mark.

The package imports nothing itself: importing any of its modules runs this file first, and the engine
brings the HTTP stack, which `mirror status` does not need.
"""
