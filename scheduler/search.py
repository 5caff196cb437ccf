"""Running one search job: power ranking, the Optuna search, the final ranking.

State lives in PostgreSQL (evaluations, answers) and in the Optuna study (trials, their
params, user attributes and intermediate scores); this module keeps nothing it cannot rebuild,
so a scheduler that dies is replaced by one that calls :func:`run_job` again:

- a trial left RUNNING is picked up where its last evaluation is (or re-queued from the
  architecture stored on it), never left RUNNING and never counted twice;
- exactly ``trials`` trials finish (completed, pruned, infeasible or failed);
- telling a result twice is harmless (``skip_if_finished``).

The steps: :mod:`scheduler.power_ranking`, :mod:`scheduler.trials` (the Optuna search),
:mod:`scheduler.final_ranking`; what they share is :mod:`scheduler.search_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from benchmarks.registry import load_questions
from models.endpoints import load_registry
from models.errors import InfrastructureFailure, UserError
from models.service_errors import is_service_down
from models.settings import load_settings
from scheduler import jobs
from scheduler.evaluations import STALE_S
from scheduler.final_ranking import final_ranking
from scheduler.judges import benchmark_judge
from scheduler.power_ranking import power_ranking
from scheduler.search_context import LeaseLost, SearchContext, rung_sizes
from scheduler.study import make_pruner, make_sampler, open_study
from scheduler.trials import search

log = logging.getLogger(__name__)


def run_job(database_url: str, job_id: int, *, owner: str, lease_s: float = 60.0,
            poll_s: float = 0.5, stale_s: float = STALE_S,
            on_progress: Callable[[str], None] | None = None) -> str:
    """Run (or resume) a job to its end; returns its final status."""
    from models.search_job_reader import parse_search_job
    from scheduler.search_space import grid_space

    record = jobs.load_job(database_url, job_id)
    # Already checked at submission; LLM names are not looked up again here.
    job, _ = parse_search_job(dict(record.spec), f"job {job_id}", structure_only=True)
    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    questions = load_questions(job.benchmark, data=job.data, split="search",
                               limit=job.questions, search_fraction=job.search_fraction,
                               options=job.benchmark_options)
    sampler = make_sampler(job.sampler, seed=job.seed,
                           grid=grid_space(job.space) if job.sampler == "grid" else None)
    study = open_study(database_url, study_name=record.study_name, sampler=sampler,
                       pruner=make_pruner(job.pruner,
                                          rung_sizes=rung_sizes(len(questions), job.rungs),
                                          reduction_factor=job.reduction_factor),
                       sampler_name=job.sampler)
    ctx = SearchContext(database_url, job_id, owner, job, registry, study, questions,
                        lease_s, poll_s, stale_s)
    say = on_progress or (lambda _m: None)
    try:
        from scheduler.baselines import prepare_job_baseline
        from scheduler.preflight import llms_of_job, needs_sandbox, preflight, probes_of_job

        ctx.judge = benchmark_judge(job.benchmark, job.benchmark_judge, data=job.data,
                                    options=job.benchmark_options, where="benchmark_judge")
        # a job the workers cannot run fails before any call
        preflight(llms_of_job(job), probes_of_job(job),
                  sandbox=needs_sandbox(str(job.benchmark), job.unsafe_no_sandbox))
        prepare_job_baseline(ctx, say)  # a baseline architecture's answers, made once
        ranked = power_ranking(ctx, say)
        search(ctx, ranked, say)
        if jobs.job_status(database_url, job_id) != "cancelled":
            final_ranking(ctx, say)
        jobs.finish_job(database_url, job_id=job_id, status="completed")
    except LeaseLost:
        return "lease lost"
    except Exception as exc:
        # The job ends with its reason (`itas status` shows it) instead of being retried
        # forever; the scheduler goes on with other jobs. A user error fails it for good; a
        # service down past every retry interrupts it, and the next scheduler start resumes
        # it. A service down right now (PostgreSQL itself, say) cannot even be written down:
        # that goes up to the scheduler's loop, which waits and claims the job again.
        if isinstance(exc, InfrastructureFailure):
            status = "interrupted"
        elif is_service_down(exc) and not isinstance(exc, UserError):
            raise
        else:
            status = "failed"  # the user's error, or a bug: shown loudly, not retried
        if isinstance(exc, UserError | InfrastructureFailure):  # its message says it all
            log.error("search job %s %s: %s", job_id, status, exc)
        else:  # a bug: the traceback is what a maintainer needs
            log.exception("search job %s %s", job_id, status)
        jobs.finish_job(database_url, job_id=job_id, status=status,
                        error=f"{type(exc).__name__}: {exc}")
        return status
    return jobs.job_status(database_url, job_id)
