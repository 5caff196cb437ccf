"""`python -m bench.drills [--only NAME ...] [--json-out FILE] [--report FILE]`: run the fault
drills, print a table, write the figures. Exit 1 if a drill failed, 2 on bad arguments."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
import traceback
from types import ModuleType

from bench.drills import (
    broker_restart,
    network_hosts,
    postgres_restart,
    preflight,
    redis_restart,
    scheduler_restart,
    simulator_faults,
    worker_kill,
)
from bench.drills.harness import Context, DrillResult
from bench.drills.report import print_table, write_json, write_markdown

#: In the order they run: the quick preflight first, the longest last.
DRILLS: list[ModuleType] = [preflight, redis_restart, broker_restart, postgres_restart,
                            simulator_faults, network_hosts, scheduler_restart, worker_kill]


def main(argv: list[str] | None = None) -> int:
    names = [d.NAME for d in DRILLS]
    parser = argparse.ArgumentParser(prog="python -m bench.drills", description=__doc__)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only this drill (repeatable): {', '.join(names)}")
    parser.add_argument("--json-out", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--report", metavar="FILE",
                        help="write the results as Markdown (RELIABILITY.md)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--budget-s", type=float, default=1200, metavar="S",
                        help="start no drill after S seconds (default 1200: 20 minutes); "
                        "the ones left are reported failed, not run")
    args = parser.parse_args(argv)
    unknown = [n for n in args.only or [] if n not in names]
    if unknown:
        print(f"--only: unknown drill {', '.join(unknown)}; known: {', '.join(names)}",
              file=sys.stderr)
        return 2
    chosen = [d for d in DRILLS if not args.only or d.NAME in args.only]
    ctx = Context()
    print(f"drills: {', '.join(d.NAME for d in chosen)}; logs under {ctx.work}", flush=True)
    started = time.monotonic()
    results: list[DrillResult] = []
    # A SIGTERM (a timeout around us) unwinds like Ctrl-C: the drills' finally blocks stop
    # their servers and delete their network namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for drill in chosen:
        print(f"\n== {drill.NAME}: {drill.FAULT}", flush=True)
        t0 = time.monotonic()
        if t0 - started > args.budget_s:
            results.append(DrillResult(drill.NAME, drill.FAULT, reasons=[
                f"not run: the {args.budget_s:.0f} s budget was spent"]))
            continue
        try:
            result = drill.run(ctx)
        except Exception as exc:  # noqa: BLE001 - a broken drill is a failed drill, reported
            traceback.print_exc()
            result = DrillResult(drill.NAME, drill.FAULT,
                                 reasons=[f"the drill itself crashed: {type(exc).__name__}: "
                                          f"{exc}"])
        result.duration_s = round(time.monotonic() - t0, 1)
        results.append(result)
        verdict = "PASS" if result.passed else "FAIL"
        print(f"== {drill.NAME}: {verdict} in {result.duration_s}s", flush=True)
        for reason in result.reasons:
            print(f"   - {reason}", flush=True)
    total = round(time.monotonic() - started, 1)
    print_table(results, total)
    command = "python -m bench.drills " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.json_out:
        write_json(args.json_out, results, total, command)
    if args.report:
        write_markdown(args.report, results, total, command)
    if not args.keep:
        shutil.rmtree(ctx.work, ignore_errors=True)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
