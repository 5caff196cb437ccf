"""Simulator faults at 20% of the requests: 4% each of 429, 500, a hang past the endpoint's
timeout, malformed JSON and a truncated body (simulator/README.md, "Fault kinds").

The faulted run's endpoints registry has a 2 s timeout and the simulator hangs for 6 s, so a
hang is a client timeout. Faults are drawn at random per request, as real ones are: a retry
of the same request may succeed.
"""

from __future__ import annotations

import subprocess

from bench.drills.harness import (
    Context,
    DrillResult,
    Events,
    StackOptions,
    evaluation_drill,
)
from bench.drills.stack import Stack

NAME = "simulator-faults"
FAULTS = {"429": 0.04, "500": 0.04, "hang": 0.04, "malformed": 0.04, "truncated": 0.04}
FAULT = "20% of provider requests fail: " + ", ".join(f"{k} {v:.0%}" for k, v in FAULTS.items())
OPTIONS = StackOptions(latency_scale=0.05, faults=FAULTS, hang_seconds=6,
                       endpoint_timeout_s=2, task_time_limit_s=120, visibility_timeout_s=150)


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)

    def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
        events.note(f"simulator fault rates {FAULTS} for the whole run")

    evaluation_drill(ctx, result, inject, options=OPTIONS, settle_s=120)
    if result.faulted:
        provider = result.faulted["provider"]
        result.events.append(f"simulator replies by status: {provider}")
    return result
