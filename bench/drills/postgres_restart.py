"""Restart PostgreSQL mid-job: the drill's private cluster (``pg_ctl stop -m fast``, 3 s
down, start), never the machine's shared server."""

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

NAME = "postgres-restart"
FAULT = "restart PostgreSQL at ~40% of the calls, down 3 s"
DOWN_S = 3.0


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    total = SMALL_QUESTIONS * 12
    with PrivateServices() as services:

        def inject(process: subprocess.Popen[bytes], run: Stack, events: Events) -> None:
            if not wait_calls(run, int(total * 0.4), process):
                events.note("the run ended before the fault")
                return
            services.postgres.stop("fast")
            events.note("PostgreSQL stopped (fast: sessions cut)")
            time.sleep(DOWN_S)
            services.postgres.start()
            events.note("PostgreSQL started")

        evaluation_drill(ctx, result, inject, services=services)
    if not any("started" in e for e in result.events):
        result.reasons.append("the fault was not injected before the run ended")
        result.passed = False
    return result
