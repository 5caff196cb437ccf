"""`itas submit` and `itas scheduler`."""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from pathlib import Path

import typer
from rich.console import Console

from models.errors import UserError
from models.service_errors import is_service_down
from models.settings import load_settings, resolve_service_urls
from scheduler import jobs
from scheduler.evaluations import STALE_S

console = Console(stderr=True)


def submit(
    job_file: Path = typer.Argument(..., help="Search job file (YAML)."),
    trials: int | None = typer.Option(None, help="Override the file's number of trials."),
    check: bool = typer.Option(True, "--preflight/--no-preflight",
                               help="Ask the workers first whether they can call every LLM of "
                               "the job (keys, endpoints, models); the scheduler checks again "
                               "when it takes the job."),
) -> None:
    """Queue a search job; prints its id as the last line. A scheduler runs it."""
    from models.endpoints import load_registry
    from models.search_job_reader import load_search_job, parse_search_job

    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    job, warnings = load_search_job(job_file, registry=registry)  # every error, or nothing
    spec = job.model_dump(mode="json")
    if trials is not None:
        if trials < 1:
            raise UserError(f"--trials: expected at least 1, got {trials}")
        spec["trials"] = trials
        job, _ = parse_search_job(spec, str(job_file), registry=registry)
    from scheduler.judges import benchmark_judge

    # A judged benchmark's judge files are read now, so a missing one is an error before
    # anything is queued (the scheduler reads them again when it takes the job).
    judge = benchmark_judge(job.benchmark, job.benchmark_judge, data=job.data,
                            options=job.benchmark_options, where="benchmark_judge")
    if judge is not None:  # a pairwise judge has a baseline: a file's or an architecture's
        from benchmarks.base import BenchmarkError
        from benchmarks.registry import get_judged, load_questions
        from scheduler.baselines import check_baselines

        judged = get_judged(str(job.benchmark))
        assert judged is not None
        try:
            questions = load_questions(job.benchmark, data=job.data, split="search",
                                       limit=job.questions, search_fraction=job.search_fraction,
                                       options=job.benchmark_options)
        except BenchmarkError as exc:
            raise UserError(str(exc)) from exc
        check_baselines(str(job.benchmark), judged, judge.definition, questions,
                        architecture_given=job.baseline_architecture is not None,
                        where="baseline_architecture")
    if check:  # first: a job that cannot run is its one line, not warnings about it too
        from scheduler.preflight import llms_of_job, needs_sandbox, preflight, probes_of_job

        preflight(llms_of_job(job), probes_of_job(job),
                  sandbox=needs_sandbox(str(job.benchmark), job.unsafe_no_sandbox))
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    database_url = resolve_service_urls(settings).database_url
    job_id = jobs.submit_job(database_url, spec=spec, name=job.name)
    console.print(f"queued search job {job_id} ({job.name}, {spec['trials']} trials); "
                  "`itas scheduler` runs it, `itas watch` follows it")
    typer.echo(job_id)


def check_intervals(*, lease: float, stale: float, poll: float) -> None:
    """Refuse intervals the scheduler cannot work with: 0 or less (a lease that is already
    over, a re-dispatch of everything at every check, a busy loop), not a number, or a lease
    shorter than the wait between renewals (it would lapse while its holder sleeps)."""
    for flag, value in (("--lease", lease), ("--stale", stale), ("--poll", poll)):
        if not math.isfinite(value) or value <= 0:
            raise UserError(f"{flag}: expected a number of seconds > 0, got {value:g}")
    if lease <= poll:
        raise UserError(f"--lease: expected more than --poll ({poll:g}s; the lease is renewed "
                        f"once per poll), got {lease:g}")


def run_scheduler(
    once: bool = typer.Option(False, "--once", help="Exit when no job is queued or running "
                              "(a job another scheduler holds counts: its lease may expire)."),
    job: int | None = typer.Option(None, "--job", help="Only this job."),
    lease: float = typer.Option(60.0, help="Seconds a job stays ours without renewal."),
    stale: float = typer.Option(STALE_S, help="Re-send work that made no progress this long "
                                "(above the longest layer to expect)."),
    poll: float = typer.Option(0.5, help="Seconds between checks."),
) -> None:
    """Run queued search jobs (several schedulers may run; each job is held by one).

    Jobs interrupted by an outage are resumed at start; a service down while running is
    waited out (the job is claimed again when it answers)."""
    check_intervals(lease=lease, stale=stale, poll=poll)
    database_url = resolve_service_urls(load_settings()).database_url
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    console.print(f"scheduler {owner} started")
    for job_id in jobs.resume_interrupted(database_url, job_id=job):
        console.print(f"job {job_id}: interrupted earlier; resumed")
    outage = 0  # consecutive passes that found a service down
    while True:
        try:
            status = _one_pass(database_url, owner, once=once, job=job, lease=lease,
                               stale=stale, poll=poll)
        except Exception as exc:
            if not is_service_down(exc):
                raise
            # PostgreSQL, Redis or the broker is down: wait with backoff and claim the job
            # again (the lease is ours, or expires); nothing is lost, and no job is failed.
            outage += 1
            pause = min(30.0, 2.0 ** min(outage, 5))
            console.print(f"[yellow]a service is down ({_first_line(exc)}); trying again in "
                          f"{pause:.0f}s[/]")
            time.sleep(pause)
            continue
        outage = 0
        if status == "done":
            return


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip()
    return f"{type(exc).__name__}: {text_.splitlines()[0] if text_ else ''}"


def _one_pass(database_url: str, owner: str, *, once: bool, job: int | None, lease: float,
              stale: float, poll: float) -> str:
    """Claim and run one job; "done" when ``once`` and nothing is left, else "more"."""
    from scheduler.search import run_job

    job_id = jobs.claim_job(database_url, owner=owner, lease_s=lease, job_id=job)
    if job_id is None:
        if once and jobs.active_jobs(database_url, job_id=job) == 0:
            return "done"
        time.sleep(1.0)
        return "more"
    console.print(f"job {job_id}: claimed")

    def progress(message: str, job_id: int = job_id) -> None:
        console.print(f"job {job_id}: {message}")

    status = run_job(database_url, job_id, owner=owner, lease_s=lease, poll_s=poll,
                     stale_s=stale, on_progress=progress)
    console.print(f"job {job_id}: {status}")
    return "more"
