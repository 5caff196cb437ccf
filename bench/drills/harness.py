"""What every drill shares: a context (work folder, clean runs already made), running a job
on a stack while a fault is injected, and the verdict.

A drill passes when the faulted run completes, every answer equals the clean run's (same
``final_text`` and ``score`` per question), no question is lost, and no question was scored
from an error (an answer with status ``failed`` or an ``error``). Duplicate provider calls are
counted and reported (see :mod:`bench.drills.outcome`), not judged.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.drills.outcome import RunOutcome, collect, compare, settle
from bench.drills.services import PrivateServices
from bench.drills.stack import REPO, Stack, StackOptions

__all__ = ["REPO", "Stack", "StackOptions"]  # re-exported for the drills
from scheduler.processes import stop

JOBS = Path(__file__).with_name("jobs")
PIPELINE = JOBS / "pipeline.json"
#: ~12 calls per question (9 generations, a critique, a ranking, a fusion).
CALLS_PER_QUESTION = 12


@dataclass
class DrillResult:
    name: str
    fault: str
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    clean: dict[str, Any] | None = None
    faulted: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None
    #: Both duplicate counts of the faulted run (see outcome.py).
    duplicates: dict[str, int] = field(default_factory=dict)


class Events:
    """Timestamped notes of what a drill did, relative to the faulted run's start."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def note(self, text: str) -> None:
        with self._lock:
            self.lines.append(f"t={time.monotonic() - self.start:6.1f}s {text}")
        print(f"    {self.lines[-1]}", flush=True)


@dataclass
class Context:
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="itas-drills-")))
    #: Clean outcomes by job, so drills that run the same job share one clean run.
    clean: dict[str, RunOutcome] = field(default_factory=dict)


@contextmanager
def stack(services: PrivateServices, ctx: Context, label: str, options: StackOptions,
          sim_host: str = "127.0.0.1") -> Iterator[Stack]:
    run = Stack(services, ctx.work, label, options, sim_host)
    try:
        yield run.start()
    finally:
        run.close()


def progress(run: Stack) -> int:
    """Paid and cached calls recorded so far (-1 when PostgreSQL does not answer)."""
    import psycopg

    try:
        with psycopg.connect(run.database_url(), connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM llm_calls").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return -1


def wait_calls(run: Stack, calls: int, process: subprocess.Popen[bytes],
               timeout_s: float = 300) -> bool:
    """Wait until ``calls`` calls are recorded; False if the command ended first."""
    deadline = time.monotonic() + timeout_s
    while progress(run) < calls:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


During = Callable[[subprocess.Popen[bytes]], "tuple[subprocess.Popen[bytes], str] | None"]


def run_job(run: Stack, label: str, args: list[str], *, during: During | None = None,
            timeout_s: float = 600, settle_s: float = 60) -> RunOutcome:
    """Run an `itas` command (``args``) to its end while ``during`` injects the fault, give the
    workers ``settle_s`` more to finish what the command left, and read the outcome.

    ``during`` may kill the command and start another in its place: it then returns that
    process and its label, and the run waits for that one."""
    started = time.monotonic()
    process = run.start_itas(label, *args)
    replaced = during(process) if during is not None else None
    if replaced is not None:
        process, label = replaced
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        stop(process)
    duration = time.monotonic() - started
    settle(run.database_url(), settle_s)
    log = (run.work / f"{label}.log").read_text(errors="replace").strip().splitlines()
    outcome = RunOutcome(label, round(duration, 1), process.returncode,
                         "\n".join(line for line in log[-3:]))
    collect(run.database_url(), outcome, run.simulator_counts())
    outcome.calls["flight_locks_left"] = flight_locks(run)
    outcome.extra["worker_errors"] = worker_errors(run)
    outcome.extra["resent_steps"] = resent_steps(run)
    return outcome


def resent_steps(run: Stack) -> int:
    """Question steps `itas run` or the scheduler sent again after no progress
    (scheduler/reconcile.py logs each time): work the broker lost, or held by a dead worker."""
    return sum(int(hit.group(1)) for log in run.work.glob("*.log")
               for hit in _RESENT.finditer(log.read_text(errors="replace")))


#: scheduler/reconcile.py's line for a re-send (its wording is what this counts).
_RESENT = re.compile(r"sent the next step of its (\d+) unanswered")


#: Lines of a Celery worker's log that say a task (or its failure handler) broke.
_TASK_ERROR = re.compile(r"(raised unexpected: |Task handler raised error: |Exception raised "
                         r"outside body: )(.*)")


def worker_errors(run: Stack, top: int = 6) -> dict[str, int]:
    """The most frequent task errors in the run's worker logs (timestamps and ids dropped),
    so a failed drill says what broke without anyone opening the logs."""
    counts: dict[str, int] = {}
    for log in run.work.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            found = _TASK_ERROR.search(line)
            if found:
                message = re.sub(r"\b\d+\b", "N", found.group(1).strip() + " " +
                                 found.group(2))[:180]
                counts[message] = counts.get(message, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:top])


def flight_locks(run: Stack) -> int:
    """Single-flight locks still held in the cache Redis after the run: each one is a
    leader that died holding it (worker/cache.py), which identical calls wait out."""
    client = run.services.cache.client()
    try:
        return sum(1 for _ in client.scan_iter(match=f"{run.prefix}flight:*", count=1000))
    except Exception:  # noqa: BLE001 - a diagnostic only; the cache may be down
        return -1
    finally:
        client.close()


#: `itas run --stale` in the drills: above their longest layer (task limits of 20-40 s) and
#: their visibility timeouts (25-50 s), as the defaults are (900 s above 600 s per call); a
#: message the broker lost is sent again after it (reported as re-sent, never hidden).
DRILL_STALE_S = 60


def evaluation_args(limit: int, architecture: Path = PIPELINE) -> list[str]:
    return ["run", str(architecture), "--benchmark", "synth-math", "--split", "all",
            "--limit", str(limit), "--json", "--timeout", "900", "--stale", str(DRILL_STALE_S)]


def judge(result: DrillResult, clean: RunOutcome, faulted: RunOutcome,
          completed: Callable[[RunOutcome], str | None] | None = None) -> DrillResult:
    """Fill ``result`` with the comparison and the verdict."""
    comparison = compare(clean, faulted)
    result.clean, result.faulted = clean.summary(), faulted.summary()
    result.comparison = comparison
    result.duplicates = {k: faulted.calls[k] for k in
                         ("duplicate_paid_rows", "provider_ok_beyond_distinct")}
    reasons = result.reasons
    if clean.exit_code != 0 or comparison["clean_failed"]:
        reasons.append(f"the CLEAN run did not succeed (exit {clean.exit_code}, "
                       f"{comparison['clean_failed']} failed answers): no valid reference")
    problem = completed(faulted) if completed else _run_completed(faulted)
    if problem:
        reasons.append(problem)
    if comparison["unanswered_faulted"]:
        reasons.append(f"{comparison['unanswered_faulted']} questions never got an answer "
                       f"(not even a failed one): {comparison['lost_keys']}")
    if comparison["lost"] and comparison["lost"] != comparison["unanswered_faulted"]:
        reasons.append(f"{comparison['lost']} answers of the clean run are missing: "
                       f"{comparison['lost_keys']}")
    if comparison["failed"]:
        reasons.append(f"{comparison['failed']} questions failed with an error instead of "
                       f"being answered {comparison['failed_errors']}: "
                       f"{comparison['failed_keys']}")
    if comparison["differ"]:
        reasons.append(f"{comparison['differ']} answers differ from the clean run's: "
                       f"{comparison['differ_keys']}")
    result.passed = not reasons
    return result


def _run_completed(outcome: RunOutcome) -> str | None:
    if outcome.exit_code != 0:
        return f"`itas run` exited {outcome.exit_code}: {outcome.output_tail[-300:]!r}"
    return None


def clean_run(ctx: Context, services: PrivateServices, key: str,
              make: Callable[[Stack], RunOutcome], options: StackOptions,
              workers: Callable[[Stack], None]) -> RunOutcome:
    """The clean run of a job, made once per `make drills` and shared by the drills that run
    the same job on the same kind of stack."""
    if key not in ctx.clean:
        print(f"  clean run of {key} ...", flush=True)
        with stack(services, ctx, f"clean-{key}", options) as run:
            workers(run)
            ctx.clean[key] = make(run)
        print(f"  clean run of {key}: {ctx.clean[key].duration_s}s, "
              f"{ctx.clean[key].calls['paid_distinct']} paid calls", flush=True)
    return ctx.clean[key]




#: The job of the drills that need no more: 40 questions, ~480 calls, ~15 s clean.
SMALL_QUESTIONS = 40
SMALL_OPTIONS = StackOptions(latency_scale=0.05)


#: The pool `itas worker` runs by default (worker/concurrency.py), so the drills fault what
#: users deploy; 16 threads each, as the drill's small endpoint limits need no more. Only the
#: worker-kill drill runs prefork: it kills pool processes as well as whole workers.
DEFAULT_POOL = "threads"
DRILL_THREADS = 16


def two_workers(run: Stack) -> None:
    for _ in range(2):
        run.start_worker(concurrency=DRILL_THREADS, pool=DEFAULT_POOL)


Inject = Callable[[subprocess.Popen[bytes], Stack, Events], None]


def evaluation_drill(ctx: Context, result: DrillResult, inject: Inject, *,
                     services: PrivateServices | None = None,
                     options: StackOptions = SMALL_OPTIONS,
                     workers: Callable[[Stack], None] = two_workers,
                     sim_host: str = "127.0.0.1", settle_s: float = 60) -> DrillResult:
    """The small evaluation, clean then under ``inject`` (which returns once its fault is
    over); services of the drill's own unless given."""
    own = services is None
    services = services or PrivateServices().__enter__()
    try:
        args = evaluation_args(SMALL_QUESTIONS)
        clean = clean_run(ctx, services, f"pipeline-{SMALL_QUESTIONS}",
                          lambda r: run_job(r, "itas-run", args), SMALL_OPTIONS, two_workers)
        events = Events()

        def during(process: subprocess.Popen[bytes]) -> None:
            events.start = time.monotonic()
            try:
                inject(process, faulted, events)
            finally:
                result.events = events.lines
            return None

        with stack(services, ctx, result.name, options, sim_host) as faulted:
            workers(faulted)
            outcome = run_job(faulted, "itas-run", args, during=during, settle_s=settle_s)
        return judge(result, clean, outcome)
    finally:
        if own:
            services.close()
