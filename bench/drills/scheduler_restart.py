"""Kill (SIGKILL) and restart the scheduler twice during a search (`itas submit` then
`itas scheduler --once`), at ~1/3 and ~2/3 of the clean search's calls.

The search is deterministic (jobs/search.yaml: one trial at a time, a fixed seed), so both runs
evaluate the same architectures on the same questions and must store the same answers. The
restarted scheduler takes the job over once the dead one's lease (5 s here) has expired.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.drills.harness import (
    Context,
    DrillResult,
    Events,
    RunOutcome,
    clean_run,
    judge,
    run_job,
    stack,
    two_workers,
    wait_calls,
)
from bench.drills.services import PrivateServices
from bench.drills.stack import Stack, StackOptions

NAME = "scheduler-restart"
FAULT = "SIGKILL the scheduler at ~1/3 and ~2/3 of a search's calls, restart it 1 s later"
JOB = Path(__file__).with_name("jobs") / "search.yaml"
OPTIONS = StackOptions(latency_scale=0.05)
SCHEDULER = ["scheduler", "--once", "--lease", "5", "--stale", "30", "--poll", "0.5"]


def _search(run: Stack, during: Any = None) -> RunOutcome:
    submitted = run.itas("submit", str(JOB), timeout=120)
    if submitted.returncode != 0:
        raise RuntimeError(f"itas submit failed: {submitted.stderr.strip()[-500:]}")
    outcome = run_job(run, "scheduler-0", SCHEDULER, during=during, timeout_s=600)
    outcome.extra["trials"] = _trials(run.database_url())
    status = run.itas("status", "1", "--json", timeout=60)
    outcome.output_tail = status.stdout.strip().splitlines()[-1] if status.stdout else \
        status.stderr.strip()[-300:]
    return outcome


def _completed(outcome: RunOutcome) -> str | None:
    problems = []
    if outcome.exit_code != 0:
        problems.append(f"the last scheduler exited {outcome.exit_code}")
    if outcome.jobs != {"completed": 1}:
        problems.append(f"job states {outcome.jobs} (expected one completed)")
    try:
        status = json.loads(outcome.output_tail)
        trials = status.get("trials", {})
        if isinstance(trials, dict) and trials.get("failed"):
            problems.append(f"{trials['failed']} trials FAILED: {trials}")
    except ValueError:
        problems.append(f"`itas status --json` gave no JSON: {outcome.output_tail[-200:]!r}")
    return "; ".join(problems) or None


def _trials(url: str) -> list[str]:
    """Each trial as "number:state:architecture hash:rungs evaluated"."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        rows = conn.execute("""
            SELECT t.number, t.state::text, min(left(e.architecture_hash, 8)), count(e.id)
            FROM trials t LEFT JOIN evaluations e
              ON e.trial_number = t.number AND e.purpose = 'trial'
            GROUP BY t.number, t.state ORDER BY t.number""").fetchall()
    return [f"{n}:{state}:{arch}:{rungs}" for n, state, arch, rungs in rows]


def _diverged(result: DrillResult, clean: RunOutcome, faulted: RunOutcome) -> None:
    """A search whose sampler proposed other trials after a restart answers other questions:
    that is not a lost answer, so say it apart (the answers both runs share are still
    compared one by one)."""
    if clean.extra.get("trials") == faulted.extra.get("trials"):
        return
    comparison = result.comparison or {}
    result.reasons = [r for r in result.reasons if "answers of the clean run are missing"
                      not in r]
    result.reasons.append(
        "the search diverged from the clean run after a restart (trials clean "
        f"{clean.extra.get('trials')} vs faulted {faulted.extra.get('trials')}; "
        f"{comparison.get('lost')} answers only in the clean run, {comparison.get('extra')} "
        "only in the faulted one): a seeded search is not reproducible across restarts")
    result.passed = False


def run(ctx: Context) -> DrillResult:
    result = DrillResult(NAME, FAULT)
    with PrivateServices() as services:
        clean = clean_run(ctx, services, "search", _search, OPTIONS, two_workers)
        total = clean.calls["rows"]
        events = Events()

        def during(process: subprocess.Popen[bytes]) -> tuple[subprocess.Popen[bytes], str]:
            events.start = time.monotonic()
            label = "scheduler-0"
            for i in (1, 2):
                if not wait_calls(faulted, total * i // 3, process):
                    events.note(f"the search ended before kill {i}")
                    break
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
                events.note(f"SIGKILL scheduler {i - 1} (pid {process.pid})")
                time.sleep(1)
                label = f"scheduler-{i}"
                process = faulted.start_itas(label, *SCHEDULER)
                events.note(f"started scheduler {i}")
            result.events = events.lines
            return process, label

        with stack(services, ctx, NAME, OPTIONS) as faulted:
            two_workers(faulted)
            outcome = _search(faulted, during)
    if sum("SIGKILL" in e for e in result.events) < 2:
        result.reasons.append("fewer than 2 kills happened before the search ended")
    judge(result, clean, outcome, completed=_completed)
    _diverged(result, clean, outcome)
    return result
