"""What the steps of a search job share: the job's context and the scheduler's small moves.

:class:`SearchContext` holds one job's settings, study and search questions; the functions
here queue an evaluation, find what a previous scheduler queued (so a restart does not queue
it twice), and wait while keeping the job's lease and re-dispatching stalled work. The steps
themselves are :mod:`scheduler.power_ranking`, :mod:`scheduler.trials` and
:mod:`scheduler.final_ranking`; :mod:`scheduler.search` runs them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import optuna
from sqlalchemy import text

from benchmarks.base import Item
from models.architecture import architecture_hash, parse_architecture
from models.db import session_scope
from models.endpoints import Registry
from models.errors import InfrastructureFailure
from scheduler import jobs
from scheduler.evaluations import answered, failure_of, queue_evaluation, raise_if_stopped
from scheduler.judges import BenchmarkJudge
from scheduler.reconcile import redispatch_stalled


@dataclass
class SearchContext:
    """One job as a scheduler runs it; rebuilt from PostgreSQL on every (re)start."""

    database_url: str
    job_id: int
    owner: str
    job: Any  # models.search_job.SearchJob
    registry: Registry
    study: optuna.Study
    search_questions: list[Item]
    lease_s: float
    poll_s: float
    stale_s: float
    #: A judged benchmark's judge (scheduler/judges.py), stored with every evaluation.
    judge: BenchmarkJudge | None = None
    #: A baseline architecture's answers, by question (scheduler/baselines.py): they stand in
    #: the references of the search and held-out questions.
    baseline: dict[str, Any] | None = None

    def reseed_sampler(self) -> None:
        """Seed the sampler from the job's seed and the number of trials asked so far, before
        each ask: the search then asks the same trials whether or not its scheduler was
        restarted in between (a sampler seeded once per process would start its sequence
        over after a restart, and propose trial 0's parameters again).

        Not the grid sampler: its seed shuffles the grid once and trial n takes the n-th point
        of that order, which is already the same after a restart; a seed per ask would shuffle
        the grid anew each time, so trials would repeat points and leave others out."""
        from scheduler.search_space import grid_space
        from scheduler.study import ask_seed, make_sampler

        if self.job.sampler == "grid":
            seed = self.job.seed
        else:
            seed = ask_seed(self.job.seed, len(self.study.get_trials(deepcopy=False)))
        self.study.sampler = make_sampler(
            self.job.sampler, seed=seed,
            grid=grid_space(self.job.space) if self.job.sampler == "grid" else None)

    def rung_sizes(self) -> list[int]:
        """Questions a trial has answered by the end of each rung."""
        return rung_sizes(len(self.search_questions), self.job.rungs)

    def rung_questions(self, rung: int) -> list[Item]:
        """Only the questions a rung adds: earlier rungs' answers are not asked again."""
        sizes = self.rung_sizes()
        return self.search_questions[sizes[rung - 1] if rung else 0:sizes[rung]]


def rung_sizes(total: int, rungs: list[float]) -> list[int]:
    """Questions answered by the end of each rung: growing, without repeats."""
    sizes: list[int] = []
    for fraction in rungs:
        size = max(1, min(total, round(total * fraction)))
        if not sizes or size > sizes[-1]:
            sizes.append(size)
    return sizes


class LeaseLost(Exception):
    """Another scheduler holds the job now; stop working on it."""


def tick(ctx: SearchContext, evaluation_ids: list[int]) -> None:
    """One wait of the scheduler: keep the lease (raise LeaseLost when another scheduler has
    the job), stop on an evaluation a worker stopped (a refused key, an unknown model: the
    job fails with the reason), re-dispatch any of ``evaluation_ids`` that stopped making
    progress, sleep."""
    if not jobs.renew_lease(ctx.database_url, job_id=ctx.job_id, owner=ctx.owner,
                            lease_s=ctx.lease_s):
        if jobs.job_status(ctx.database_url, ctx.job_id) != "cancelled":
            raise LeaseLost()
    raise_if_stopped(ctx.database_url, evaluation_ids)
    redispatch_stalled(ctx.database_url, evaluation_ids=evaluation_ids, stale_s=ctx.stale_s)
    time.sleep(ctx.poll_s)


def queue(ctx: SearchContext, arch: dict[str, Any], *, purpose: str,
          questions: list[Item], split: str = "search",
          trial_number: int | None = None, rung: int | None = None,
          judged: bool = True) -> int:
    """Queue an evaluation of ``arch`` for this job; its id. ``judged`` False: without the
    benchmark's judge (a baseline architecture's answers, which are not scored)."""
    parsed, _ = parse_architecture(arch)
    return queue_evaluation(
        ctx.database_url, architecture=parsed.model_dump(mode="json"),
        arch_hash=architecture_hash(parsed), benchmark=ctx.job.benchmark, split=split,
        questions=questions, job_id=ctx.job_id, trial_number=trial_number, rung=rung,
        purpose=purpose, judge=ctx.judge if judged else None,
        unsafe_no_sandbox=ctx.job.unsafe_no_sandbox)


def queued_before(ctx: SearchContext, purpose: str) -> dict[Any, int]:
    """Evaluations of this job already queued for ``purpose``, keyed for idempotent resume:
    by architecture hash for the power ranking, else by (trial number, rung). A failed
    evaluation is left out, so a resumed job queues it again (its answered calls are cache
    hits)."""
    with session_scope(ctx.database_url) as session:
        rows = session.execute(text(
            "SELECT id, architecture_hash, trial_number, rung FROM evaluations "
            "WHERE job_id = :j AND purpose = :p AND status <> 'failed' ORDER BY id"),
            {"j": ctx.job_id, "p": purpose}).all()
    if purpose == "power_ranking":
        return {r[1]: int(r[0]) for r in rows}
    return {(r[2], r[3]): int(r[0]) for r in rows}


def wait_all(ctx: SearchContext, evaluations: dict[Any, int], sizes: dict[Any, int]) -> None:
    """Wait until every evaluation has answered its ``sizes[key]`` questions. Raises
    InfrastructureFailure when one of them failed: it has no score to rank by."""
    while not all(answered(ctx.database_url, e) >= sizes[k] for k, e in evaluations.items()):
        tick(ctx, list(evaluations.values()))
    for evaluation_id in evaluations.values():
        failure = failure_of(ctx.database_url, evaluation_id)
        if failure:
            raise InfrastructureFailure(failure)
