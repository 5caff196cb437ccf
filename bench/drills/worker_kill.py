"""SIGKILL a worker process 20 times during a 2,000-call evaluation.

Kills alternate between a pool process of a prefork worker (Celery's parent sees it die and,
with ``task_reject_on_worker_lost``, puts its message back at once) and a whole worker with its
pool (a machine that died: its unacknowledged messages come back after the visibility timeout,
set to drill size in :class:`~bench.drills.stack.StackOptions`); a killed worker is replaced
at once. Kills are spread over the run by progress, one every ~4% of the calls.
"""

from __future__ import annotations

import random
import subprocess
import time

from bench.drills.harness import (
    CALLS_PER_QUESTION,
    Context,
    DrillResult,
    Events,
    clean_run,
    evaluation_args,
    judge,
    run_job,
    stack,
    wait_calls,
)
from bench.drills.services import PrivateServices
from bench.drills.stack import Stack, StackOptions

NAME = "worker-kill"
FAULT = "SIGKILL a worker process 20 times during a ~2,000-call evaluation"
KILLS = 20
QUESTIONS = 170  # x ~12 calls = ~2,000
WORKERS = 3
OPTIONS = StackOptions(latency_scale=0.02, task_time_limit_s=20, visibility_timeout_s=25)


def _workers(run: Stack) -> None:
    for _ in range(WORKERS):
        run.start_worker(concurrency=2, pool="prefork")


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    args = evaluation_args(QUESTIONS)
    with PrivateServices() as services:
        clean = clean_run(ctx, services, f"pipeline-{QUESTIONS}",
                          lambda r: run_job(r, "itas-run", args), OPTIONS, _workers)
        total = clean.calls["rows"] or QUESTIONS * CALLS_PER_QUESTION
        events = Events()
        rng = random.Random(10)

        def kill(process: subprocess.Popen[bytes], faulted: Stack) -> None:
            events.start = time.monotonic()
            for i in range(KILLS):
                # Spread over the first ~85% of the clean run's calls: questions failed by a
                # kill make fewer calls, so the faulted run may record fewer than the clean.
                if not wait_calls(faulted, int(total * 0.85 * (i + 1) / KILLS), process):
                    events.note(f"the run ended before kill {i + 1}")
                    break
                # Only a worker at work is worth killing: one still starting holds nothing.
                deadline = time.monotonic() + 60
                while not (ready := [w for w in faulted.workers
                                     if w.ready() and w.pool_children()]):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                if not ready:
                    events.note(f"no worker ready for kill {i + 1} in 60 s")
                    break
                victim = rng.choice(ready)
                children = victim.pool_children()
                if i % 2 == 0:
                    child = rng.choice(children)
                    child.kill()
                    events.note(f"kill {i + 1}: SIGKILL pool process {child.pid} of {victim.name}")
                else:
                    victim.kill_group()
                    replacement = faulted.start_worker(concurrency=2, pool="prefork",
                                                       wait=False)
                    events.note(f"kill {i + 1}: SIGKILL worker {victim.name} with its pool; "
                                f"started {replacement.name}")
            result.events = events.lines

        with stack(services, ctx, NAME, OPTIONS) as faulted:
            _workers(faulted)
            outcome = run_job(faulted, "itas-run", args,
                              during=lambda p: kill(p, faulted), settle_s=90)
    kills = sum("SIGKILL" in line for line in result.events)
    if kills < KILLS:
        result.reasons.append(f"only {kills} of {KILLS} kills happened before the run ended")
    return judge(result, clean, outcome)
