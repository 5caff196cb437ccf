"""Flush and restart the cache Redis mid-job.

The cache Redis is a private redis-server of the drill (never the machine's 6379) that keeps
nothing across a restart, as a restarted cache would not: the flush empties the hot cache, the
rate limiter's state and the single-flight locks, and for 2 s nothing answers. PostgreSQL's
``llm_calls`` (the durable level) must spare every paid call a second payment.
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

NAME = "cache-redis-restart"
FAULT = "flush the cache Redis and restart it at ~30% of the calls, down 2 s"
DOWN_S = 2.0


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    with PrivateServices() as services:

        def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
            if not wait_calls(run, int(SMALL_QUESTIONS * 12 * 0.3), process):
                events.note("the run ended before the fault")
                return
            services.cache.flush()
            services.cache.stop()
            events.note("cache Redis flushed and stopped")
            time.sleep(DOWN_S)
            services.cache.start()
            events.note("cache Redis started (empty)")

        evaluation_drill(ctx, result, inject, services=services)
    if not any("started" in e for e in result.events):
        result.reasons.append("the fault was not injected before the run ended")
        result.passed = False
    return result
