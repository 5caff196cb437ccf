"""Restart the broker Redis mid-job.

The broker is a private redis-server of the drill (never the machine's 6379) with an
append-only file, as the compose broker has, so queued and unacknowledged messages survive
the restart; for 2 s nothing answers, and workers must reconnect and hand on every layer.
"""

from __future__ import annotations

import subprocess
import time

from bench.drills.harness import (
    SMALL_QUESTIONS,
    Context,
    DrillResult,
    Events,
    evaluation_drill,
    wait_calls,
)
from bench.drills.services import PrivateServices
from bench.drills.stack import Stack

NAME = "broker-redis-restart"
FAULT = "restart the broker Redis (append-only) at ~40% of the calls, down 2 s"
DOWN_S = 2.0


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    with PrivateServices() as services:

        def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
            if not wait_calls(run, int(SMALL_QUESTIONS * 12 * 0.4), process):
                events.note("the run ended before the fault")
                return
            services.broker.stop()
            events.note("broker Redis stopped")
            time.sleep(DOWN_S)
            services.broker.start()
            events.note("broker Redis started (append-only file kept)")

        evaluation_drill(ctx, result, inject, services=services)
    if not any("started" in e for e in result.events):
        result.reasons.append("the fault was not injected before the run ended")
        result.passed = False
    return result
