"""Benchmark of the mock's plans at load-test scale against a plain parse of their files, in the same run (issue 27).

A QA team load-tests against a plan of many members with years of claims, and restarts the mock between runs:
how soon it answers, how much memory it holds, how fast it moves to the next day and how long `mockpayer check`
takes decide whether that is practical. For a generated plan (`mockpayer.generate.write_plan`, default 50
members x 200 claims: about 10k resources, 100 MB) it measures, each in a fresh process so that the memory is
that process's own (VmRSS and VmHWM from /proc/self/status, the peak reset first through /proc/self/clear_refs):

- parse (the baseline): every file of the plan's `data/` and `directory/` read and parsed with orjson.loads
  (each line of an NDJSON file), nothing kept;
- ready: the plans loaded as `mockpayer serve` loads them (`create_app`, the load report it prints), up to the
  answer to a first request (`metadata`); the modules are imported first and not counted, as their cost does
  not grow with the plan (printed apart). Memory: RSS growth from before the load to after that answer, and
  the peak, against the plan's size on disk (its `data/` and `directory/` files);
- advance_day: `POST /_admin/advance` to day 2 (the generator's days: each member loses a claim, has one
  reprocessed and gains a few), on this plan and on one with the same members and a tenth of the claims, so
  the same size of day against a tenth of the records: proportionate means about the same time for both
  (the quickest of ADVANCES in the process, each rewound to day 1);
- check: `mockpayer check` of the plan folder (load, every structural check, R4 validation with fhir.resources of
  a sample covering every type, profile and file, the later day), time and memory growth against the parse and
  the plan's size; and, for reference, without a target, `mockpayer check --validate all` (every resource).

Times are CPU seconds of the measuring process: the machine these run on is
shared, and wall time swings with whatever else runs; wall times are printed beside them. Each figure is the
median of `--repeat` rounds. Targets (issue 27): ready within 1.5x the parse, memory within
3x the plan's size, advance_day proportionate to the day, check within 3x the parse and 3x the size; the same
ratios for 500 x 200 (`--members 500`, about 1.2 GB of files, several minutes). Everything is written to a
temporary folder that is deleted afterwards.

    .venv/bin/python bench/mock.py [--members 50] [--claims 200] [--repeat 3] [--no-check] [--no-validate-all]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

MB = 1024 * 1024
SYSTEM_ID = "benchplan"
LOADED_FOLDERS = ("data", "directory")  # what the mock loads at start; days/ is read when a plan advances
ADVANCES = 3  # to day 2 and back, in each process: the quickest counts


# ---- in the measuring process ---------------------------------------------------------------------------


def generate(folder: Path, members: int, claims: int) -> Path:
    from mockpayer.generate import write_plan

    plan = folder / f"{members}x{claims}" / SYSTEM_ID
    write_plan(plan, system_id=SYSTEM_ID, name="Bench Plan", base_url="benchplan.example", members=members,
               claims_per_member=claims, seed=27, days=2)
    return plan


def plan_files(plan: Path) -> list[Path]:
    return sorted(path for folder in LOADED_FOLDERS for path in (plan / folder).rglob("*") if path.is_file())


def measured(what: str, plan: Path) -> dict:
    """One measurement in a fresh process: its figures, as the child prints them."""
    done = subprocess.run([sys.executable, __file__, "--child", what, str(plan)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/mock.py: measuring {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(rounds: list[dict], name: str) -> float:
    return statistics.median(round_[name] for round_ in rounds)


def line(label: str, value: str, baseline: str, ratio: float | None, target: str = "", wall: str = "") -> str:
    shown = f"{ratio:.2f}x" if ratio is not None else ""
    return f"{label:<32}{value:>14}{baseline:>26}{shown:>8}  {target:<16}{wall}"


def walls(rounds: list[dict], name: str, baselines: list[dict]) -> str:
    """Wall seconds, mock / baseline, and their ratio."""
    mock, base = median(rounds, f"{name}_wall"), median(baselines, "seconds_wall")
    return f"{mock:.2f} / {base:.2f} = {mock / base:.2f}x"


def run(members: int, claims: int, repeat: int, check: bool, check_all: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as temporary:
        folder = Path(temporary)
        started = time.perf_counter()
        plan = generate(folder, members, claims)
        smaller = generate(folder, members, max(1, claims // 10))
        size = sum(path.stat().st_size for path in plan_files(plan))
        print(f"plans generated in {time.perf_counter() - started:.1f} s; {members} members x {claims} claims: "
              f"{len(plan_files(plan))} files, {size / MB:.1f} MB in {', '.join(LOADED_FOLDERS)}")
        parse, ready, small, checks, checks_all = [], [], [], [], []
        for _ in range(repeat):
            parse.append(measured("parse", plan))
            ready.append(measured("ready", plan))
            small.append(measured("ready", smaller))
            if check:
                checks.append(measured("check", plan))
            if check and check_all:
                checks_all.append(measured("check_all", plan))
        parsed = median(parse, "seconds")
        print(f"{ready[0]['resources']:,} resources; median of {repeat} rounds, each in a fresh process; "
              f"imports before loading (not counted): {median(ready, 'import_seconds'):.2f} s")
        print(line("", "mock", "baseline", None, "target", "wall s: mock / baseline"))
        print(line("ready (load + first answer), s", f"{median(ready, 'seconds'):.2f}", f"parse {parsed:.2f}",
                   median(ready, "seconds") / parsed, "<= 1.5x", walls(ready, "seconds", parse)))
        print(line("  of which loading, s", f"{median(ready, 'load_seconds'):.2f}", "", None))
        print(line("memory when ready, MB", f"{median(ready, 'rss_growth') / MB:.0f}", f"plan on disk {size / MB:.0f}",
                   median(ready, "rss_growth") / size, "<= 3x"))
        print(line("  peak while loading, MB", f"{median(ready, 'peak_growth') / MB:.0f}", "",
                   median(ready, "peak_growth") / size))
        print(line("  parse's own peak, MB", f"{median(parse, 'peak_growth') / MB:.0f}", "",
                   median(parse, "peak_growth") / size))
        day, small_day = median(ready, "advance_seconds"), median(small, "advance_seconds")
        print(line("advance_day, s", f"{day:.3f}", f"1/10 the claims {small_day:.3f}", day / small_day,
                   "<= 2x", "(same day, 10x the records)"))
        print(line("  changes (big / small plan)", f"{ready[0]['changes']} / {small[0]['changes']}", "", None))
        print(line("  per changed resource, ms", f"{1000 * day / ready[0]['changes']:.2f}",
                   f"{1000 * small_day / small[0]['changes']:.2f}", None))
        print(line("  rewind to day 1, s", f"{median(ready, 'rewind_seconds'):.4f}", "", None))
        if check:
            print(line("mockpayer check, s", f"{median(checks, 'seconds'):.2f}", f"parse {parsed:.2f}",
                       median(checks, "seconds") / parsed, "<= 3x", walls(checks, "seconds", parse)))
            print(line("  memory (peak), MB", f"{median(checks, 'peak_growth') / MB:.0f}",
                       f"plan on disk {size / MB:.0f}", median(checks, "peak_growth") / size, "<= 3x"))
            print(line("  exit status", str(checks[0]["status"]), "", None))
            print(line("  R4-validated", checks[0]["validated"], "", None))
        if checks_all:
            print(line("check --validate all, s", f"{median(checks_all, 'seconds'):.2f}", f"parse {parsed:.2f}",
                       median(checks_all, "seconds") / parsed, "(reference)", walls(checks_all, "seconds", parse)))


# ---- in a fresh process ---------------------------------------------------------------------------------


def memory() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    found = {}
    for text in Path("/proc/self/status").read_text().splitlines():
        name, _, value = text.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def cpu() -> float:
    """CPU seconds of this process and of the worker processes it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Timer:
    """CPU and wall seconds since it was made."""

    def __init__(self):
        self.cpu, self.wall = cpu(), time.perf_counter()

    def read(self, name: str) -> dict[str, float]:
        return {name: cpu() - self.cpu, f"{name}_wall": time.perf_counter() - self.wall}


def reset_peak() -> None:
    """VmHWM back to the current RSS (Linux 4.0 and later), so the peak is the measured part's own."""
    Path("/proc/self/clear_refs").write_text("5")


def child_parse(plan: Path) -> dict:
    import orjson

    files = plan_files(plan)
    before = memory()["VmRSS"]
    reset_peak()
    timer = Timer()
    for path in files:
        content = path.read_bytes()
        if path.suffix == ".ndjson":
            for document in content.split(b"\n"):
                if document.strip():
                    orjson.loads(document)
        else:
            orjson.loads(content)
    return {**timer.read("seconds"), "peak_growth": memory()["VmHWM"] - before}


def child_ready(plan: Path) -> dict:
    started = time.perf_counter()
    from mockpayer.app import create_app
    from mockpayer.load_report import plan_problems, report_lines
    from mockpayer.plans import load_plans

    import_seconds = time.perf_counter() - started
    before = memory()["VmRSS"]
    reset_peak()
    timer = Timer()
    app = create_app(plan.parent, plans=load_plans(plan.parent))
    context = app.extensions["mockpayer"]
    for system_id, loaded in context.plans.items():
        report_lines(loaded, context.resources[system_id], plan_problems(loaded, context.resources[system_id]))
    gc.freeze()  # as `mockpayer serve` does once the plans are loaded
    loading = timer.read("load_seconds")
    client = app.test_client()
    answer = client.get(f"/{SYSTEM_ID}/r4/metadata")
    ready = timer.read("seconds")
    assert answer.status_code == 200, answer.status_code
    after = memory()
    resources = len(context.resources[SYSTEM_ID].data.resources) + len(context.resources[SYSTEM_ID].directory.resources)
    advances, rewinds = [], []
    for _ in range(ADVANCES):
        timer = Timer()
        advanced = client.post("/_admin/advance", json={"system_id": SYSTEM_ID})
        advances.append(timer.read("advance_seconds"))
        assert advanced.status_code == 200, (advanced.status_code, advanced.get_data(as_text=True))
        changes = advanced.get_json()[SYSTEM_ID]
        timer = Timer()
        context.scenarios.rewind(context.resources, [SYSTEM_ID])
        rewinds.append(timer.read("rewind_seconds"))
    advance = min(advances, key=lambda measured: measured["advance_seconds"])
    rewind = min(rewinds, key=lambda measured: measured["rewind_seconds"])
    return {**ready, **loading, **advance, **rewind, "import_seconds": import_seconds,
            "rss_growth": after["VmRSS"] - before, "peak_growth": after["VmHWM"] - before, "resources": resources,
            "changes": sum(len(changes[kind]) for kind in ("new", "changed", "removed"))}


def child_check(plan: Path, *options: str) -> dict:
    from mockpayer.cli import main

    before = memory()["VmRSS"]
    reset_peak()
    timer = Timer()
    with redirect_stdout(io.StringIO()) as report:
        status = main(["check", *options, str(plan)])
    validated = next(text.strip().removeprefix("R4 validation: ").split(" resources")[0]
                     for text in report.getvalue().splitlines() if "R4 validation:" in text)
    return {**timer.read("seconds"), "status": status, "peak_growth": memory()["VmHWM"] - before,
            "validated": validated}


CHILDREN = {"parse": child_parse, "ready": child_ready, "check": child_check,
            "check_all": lambda plan: child_check(plan, "--validate", "all")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--claims", type=int, default=200, help="claims per member")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-check", action="store_true", help="leave out `mockpayer check` (the slowest part)")
    parser.add_argument("--no-validate-all", action="store_true",
                        help="leave out the reference run of `mockpayer check --validate all` (minutes at 100k resources)")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "PLAN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, plan = args.child
        print(json.dumps(CHILDREN[what](Path(plan))))
        return
    print(f"bench/mock.py: {args.members} members x {args.claims} claims, {args.repeat} rounds")
    run(args.members, args.claims, args.repeat, not args.no_check, not args.no_validate_all)
    print("targets: ready <= 1.5x parse; memory <= 3x the plan on disk; advance_day proportionate to the day's "
          "changes; check <= 3x parse and <= 3x the plan on disk")


if __name__ == "__main__":
    main()
