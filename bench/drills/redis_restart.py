"""Flush and restart the cache Redis, then restart the broker Redis, mid-job.

Both are private redis-servers of the drill (never the machine's 6379). The cache Redis keeps
nothing across its restart, as a restarted cache would not; the broker keeps its append-only
file, as the compose broker does, so queued and unacknowledged messages survive it.
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

NAME = "redis-restart"
FAULT = ("flush + restart the cache Redis at ~30% of the calls, restart the broker Redis at "
         "~60%, each down 2 s")
DOWN_S = 2.0


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    total = SMALL_QUESTIONS * 12
    with PrivateServices() as services:

        def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
            if wait_calls(run, int(total * 0.3), process):
                services.cache.flush()
                services.cache.stop()
                events.note("cache Redis flushed and stopped")
                time.sleep(DOWN_S)
                services.cache.start()
                events.note("cache Redis started (empty)")
            else:
                events.note("the run ended before the cache fault")
            if wait_calls(run, int(total * 0.6), process):
                services.broker.stop()
                events.note("broker Redis stopped")
                time.sleep(DOWN_S)
                services.broker.start()
                events.note("broker Redis started (append-only file kept)")
            else:
                events.note("the run ended before the broker fault")

        evaluation_drill(ctx, result, inject, services=services)
    if sum("started" in e for e in result.events) < 2:
        result.reasons.append("the faults were not all injected before the run ended")
        result.passed = False
    return result
