"""Running one search job: power ranking, the Optuna search, the final ranking.

State lives in PostgreSQL (evaluations, answers) and in the Optuna study (trials, their
params, user attributes and intermediate scores); this module keeps nothing it cannot rebuild,
so a scheduler that dies is replaced by one that calls :func:`run_job` again:

- a trial left RUNNING is picked up where its last evaluation is (or re-queued from the
  architecture stored on it), never left RUNNING and never counted twice;
- exactly ``trials`` trials finish (completed, pruned, infeasible or failed);
- telling a result twice is harmless (``skip_if_finished``).

Per trial: params -> architecture -> static cost estimate; over budget means *infeasible*, told
to Optuna as score 0 without a single LLM call. Otherwise the architecture is evaluated on
growing subsets of the search questions (the rungs); each rung's score is reported and the
pruner may stop the trial before the next rung is queued.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import text

from models.architecture import architecture_hash, parse_architecture
from models.db import session_scope
from models.endpoints import Registry, load_registry
from models.settings import load_settings
from scheduler import jobs
from scheduler.benchmarks import BenchmarkQuestion, load_questions
from scheduler.evaluations import answered, queue_evaluation, summarize
from scheduler.reconcile import redispatch_stalled
from scheduler.study import make_pruner, make_sampler, open_study

log = logging.getLogger(__name__)

@dataclass
class Inflight:
    """A trial being evaluated: its current rung's evaluation and that rung's size."""

    trial: optuna.trial.Trial
    rung: int
    evaluation_id: int
    questions: int


@dataclass
class SearchContext:
    database_url: str
    job_id: int
    owner: str
    job: Any  # models.search_job.SearchJob
    registry: Registry
    study: optuna.Study
    search_questions: list[BenchmarkQuestion]
    lease_s: float
    poll_s: float
    stale_s: float

    def rung_sizes(self) -> list[int]:
        return rung_sizes(len(self.search_questions), self.job.rungs)

    def rung_questions(self, rung: int) -> list[BenchmarkQuestion]:
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


def run_job(database_url: str, job_id: int, *, owner: str, lease_s: float = 60.0,
            poll_s: float = 0.5, stale_s: float = 300.0,
            on_progress: Callable[[str], None] | None = None) -> str:
    """Run (or resume) a job to its end; returns its final status."""
    from models.search_job import parse_search_job
    from scheduler.search_space import grid_space

    record = jobs.load_job(database_url, job_id)
    # Already checked at submission; LLM names are not looked up again here.
    job, _ = parse_search_job(dict(record.spec), f"job {job_id}", structure_only=True)
    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    questions = load_questions(job.benchmark, data=job.data, split="search",
                               limit=job.questions, search_fraction=job.search_fraction)
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
        ranked = power_ranking(ctx, say)
        search(ctx, ranked, say)
        if jobs.job_status(database_url, job_id) != "cancelled":
            final_ranking(ctx, say)
        jobs.finish_job(database_url, job_id=job_id, status="completed")
    except LeaseLost:
        return "lease lost"
    except Exception as exc:
        # The job fails with its reason (`itas status` shows it) instead of being retried
        # forever; the scheduler goes on with other jobs.
        log.exception("search job %s failed", job_id)
        jobs.finish_job(database_url, job_id=job_id, status="failed",
                        error=f"{type(exc).__name__}: {exc}")
        return "failed"
    return jobs.job_status(database_url, job_id)


def _tick(ctx: SearchContext, evaluation_ids: list[int]) -> None:
    if not jobs.renew_lease(ctx.database_url, job_id=ctx.job_id, owner=ctx.owner,
                            lease_s=ctx.lease_s):
        if jobs.job_status(ctx.database_url, ctx.job_id) != "cancelled":
            raise LeaseLost()
    redispatch_stalled(ctx.database_url, evaluation_ids=evaluation_ids, stale_s=ctx.stale_s)
    time.sleep(ctx.poll_s)


def _queue(ctx: SearchContext, arch: dict[str, Any], *, purpose: str,
           questions: list[BenchmarkQuestion], split: str = "search",
           trial_number: int | None = None, rung: int | None = None) -> int:
    parsed, _ = parse_architecture(arch)
    return queue_evaluation(
        ctx.database_url, architecture=parsed.model_dump(mode="json"),
        arch_hash=architecture_hash(parsed), benchmark=ctx.job.benchmark, split=split,
        questions=questions, job_id=ctx.job_id, trial_number=trial_number, rung=rung,
        purpose=purpose)


def _existing(ctx: SearchContext, purpose: str, **where: Any) -> dict[Any, int]:
    """Evaluations of this job already queued for ``purpose``, keyed for idempotent resume."""
    with session_scope(ctx.database_url) as session:
        rows = session.execute(text(
            "SELECT id, architecture_hash, trial_number, rung FROM evaluations "
            "WHERE job_id = :j AND purpose = :p ORDER BY id"),
            {"j": ctx.job_id, "p": purpose}).all()
    if purpose == "power_ranking":
        return {r[1]: int(r[0]) for r in rows}
    return {(r[2], r[3]): int(r[0]) for r in rows}


def _wait_all(ctx: SearchContext, evaluations: dict[Any, int], sizes: dict[Any, int]) -> None:
    while not all(answered(ctx.database_url, e) >= sizes[k] for k, e in evaluations.items()):
        _tick(ctx, list(evaluations.values()))


def single_llm(llm: str, job: Any, registry: Registry) -> dict[str, Any]:
    from scheduler.search_space import model_type_for

    return {"name": f"{llm} alone", "layers": [[{
        "type": "generator", "model": llm, "model_type": model_type_for(llm, registry),
        "temperature": job.space.temperature[0], "max_tokens": job.space.max_tokens[0],
        "samples": 1}]]}


def power_ranking(ctx: SearchContext, say: Callable[[str], None]) -> list[str]:
    """Each available LLM alone on the search questions, best first (ties: cheaper first)."""
    existing = _existing(ctx, "power_ranking")
    evaluations: dict[str, int] = {}
    for llm in ctx.job.llms:
        arch = single_llm(llm, ctx.job, ctx.registry)
        digest = architecture_hash(parse_architecture(arch)[0])
        evaluations[llm] = existing.get(digest) or _queue(
            ctx, arch, purpose="power_ranking", questions=ctx.search_questions)
    say(f"power ranking: {len(evaluations)} LLMs alone on {len(ctx.search_questions)} "
        "questions")
    _wait_all(ctx, evaluations, {k: len(ctx.search_questions) for k in evaluations})
    scores = {llm: summarize(ctx.database_url, e).score or 0.0 for llm, e in evaluations.items()}
    ranked = sorted(ctx.job.llms, key=lambda llm: (
        -scores[llm], ctx.registry.llms[llm].price_out_per_mtok))
    say("power ranking: " + ", ".join(f"{llm} {scores[llm]:.2f}" for llm in ranked))
    return ranked


def _finished(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))


def search(ctx: SearchContext, ranked: list[str], say: Callable[[str], None]) -> None:

    inflight = _resume(ctx, ranked, say)
    sizes = ctx.rung_sizes()
    while True:
        if jobs.job_status(ctx.database_url, ctx.job_id) == "cancelled":
            for run in inflight.values():  # stop queuing; what runs is settled as failed
                run.trial.set_user_attr("failure", "job cancelled")
                _settle(ctx, run, "failed", 0.0)
            say("cancelled")
            return
        for number, run in list(inflight.items()):
            if answered(ctx.database_url, run.evaluation_id) < run.questions:
                continue
            score = _trial_score(ctx, number)
            # The step is the resource the pruner weighs: questions answered so far.
            run.trial.report(score, step=sizes[run.rung])
            last = run.rung + 1 >= len(sizes)
            if not last and run.trial.should_prune():
                _settle(ctx, run, "pruned", score)
                del inflight[number]
            elif not last:
                arch = run.trial.user_attrs["architecture"]
                run.rung += 1
                added = ctx.rung_questions(run.rung)
                run.questions = len(added)
                run.evaluation_id = _queue(ctx, arch, purpose="trial", questions=added,
                                           trial_number=number, rung=run.rung)
            else:
                _settle(ctx, run, "completed", score)
                del inflight[number]
        finished = _finished(ctx.study)
        while (len(inflight) < ctx.job.parallel_trials
               and finished + len(inflight) < ctx.job.trials):
            started = _start_trial(ctx, ctx.study.ask(), ranked, say)
            if started is None:
                finished += 1
            else:
                inflight[started.trial.number] = started
        if not inflight and finished >= ctx.job.trials:
            return
        _tick(ctx, [r.evaluation_id for r in inflight.values()])


def _start_trial(ctx: SearchContext, trial: optuna.trial.Trial, ranked: list[str],
                 say: Callable[[str], None]) -> Inflight | None:
    """Params -> architecture -> budget check -> rung 0 queued; None when infeasible (told).

    Also used for a trial a dead scheduler left half-started: Optuna hands back the params it
    had already suggested and samples only the missing ones.
    """
    from scheduler.search_space import build_architecture, suggest

    arch = build_architecture(suggest(trial, ctx.job.space), ranked, ctx.job,
                              registry=ctx.registry)
    trial.set_user_attr("architecture", arch)
    trial.set_user_attr("architecture_name", arch["name"])
    reason = _infeasible(ctx, arch)
    if reason:
        trial.set_user_attr("outcome", "infeasible")
        trial.set_user_attr("infeasible_reason", reason)
        ctx.study.tell(trial, _values(ctx, 0.0, arch), skip_if_finished=True)
        say(f"trial {trial.number}: infeasible ({reason})")
        return None
    evaluation_id = _queue(ctx, arch, purpose="trial", questions=ctx.rung_questions(0),
                           trial_number=trial.number, rung=0)
    say(f"trial {trial.number}: {arch['name']}")
    return Inflight(trial, 0, evaluation_id, len(ctx.rung_questions(0)))


def _trial_score(ctx: SearchContext, trial_number: int) -> float:
    """Mean score over every question the trial has answered so far, all rungs together."""
    with session_scope(ctx.database_url) as session:
        value = session.execute(text(
            "SELECT avg(a.score) FROM answers a JOIN evaluations e ON e.id = a.evaluation_id "
            "WHERE e.job_id = :j AND e.purpose = 'trial' AND e.trial_number = :t"),
            {"j": ctx.job_id, "t": trial_number}).scalar_one()
    return float(value or 0.0)


def _estimate(ctx: SearchContext, arch: dict[str, Any]) -> Any:
    from scheduler.cost_estimate import estimate_cost

    return estimate_cost(arch, ctx.registry, prompt_tokens=ctx.job.estimate.prompt_tokens,
                         answer_tokens=ctx.job.estimate.answer_tokens)


def _values(ctx: SearchContext, score: float, arch: dict[str, Any]) -> list[float]:
    if ctx.job.sampler == "nsga2":
        return [score, float(_estimate(ctx, arch).usd)]
    return [score]


def _infeasible(ctx: SearchContext, arch: dict[str, Any]) -> str | None:
    """Why an architecture must not run: over a per-question limit, or over what is left of
    a total once the job's spending so far is counted. Decided before any call is made."""
    from scheduler.cost_estimate import over_budget

    return over_budget(_estimate(ctx, arch), ctx.job.budget, len(ctx.search_questions),
                       spent=_job_spent(ctx))


def _job_spent(ctx: SearchContext) -> Any:
    """What the job's provider calls have used so far (cache hits are free)."""
    from scheduler.cost_estimate import CostEstimate

    with session_scope(ctx.database_url) as session:
        row = session.execute(text(
            "SELECT count(*), coalesce(sum(c.tokens_in), 0), coalesce(sum(c.tokens_out), 0), "
            "coalesce(sum(c.cost_usd), 0) FROM llm_calls c JOIN evaluations e "
            "ON e.id = c.evaluation_id WHERE e.job_id = :j AND NOT c.cache_hit"),
            {"j": ctx.job_id}).one()
    return CostEstimate(calls=int(row[0]), tokens_in=int(row[1]), tokens_out=int(row[2]),
                        usd=float(row[3]))


def _settle(ctx: SearchContext, run: Inflight, outcome: str, score: float) -> None:
    """Record a trial's figures and tell Optuna once (a repeat is skipped)."""
    with session_scope(ctx.database_url) as session:
        ids = [int(r[0]) for r in session.execute(text(
            "SELECT id FROM evaluations WHERE job_id = :j AND purpose = 'trial' "
            "AND trial_number = :t"), {"j": ctx.job_id, "t": run.trial.number})]
    totals = {"llm_calls": 0, "cache_hits": 0, "provider_calls": 0, "tokens_in": 0,
              "tokens_out": 0, "cost_usd": 0.0}
    for evaluation_id in ids:
        summary = summarize(ctx.database_url, evaluation_id).as_dict()
        for key in totals:
            totals[key] += summary[key]
    arch = run.trial.user_attrs["architecture"]
    for key, value in totals.items():
        run.trial.set_user_attr(key, value)
    run.trial.set_user_attr("questions", ctx.rung_sizes()[run.rung])
    run.trial.set_user_attr("cost_per_question_usd", float(_estimate(ctx, arch).usd))
    run.trial.set_user_attr("outcome", outcome)
    if outcome == "completed":
        ctx.study.tell(run.trial, _values(ctx, score, arch), skip_if_finished=True)
    elif outcome == "pruned":
        ctx.study.tell(run.trial, state=TrialState.PRUNED, skip_if_finished=True)
    else:
        ctx.study.tell(run.trial, state=TrialState.FAIL, skip_if_finished=True)


def _resume(ctx: SearchContext, ranked: list[str],
            say: Callable[[str], None]) -> dict[int, Inflight]:
    """Trials a previous scheduler left RUNNING: continue each from its last evaluation, or
    start it again if it never got one (it may have died between ask and queue)."""
    existing = _existing(ctx, "trial")
    inflight: dict[int, Inflight] = {}
    for frozen in ctx.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial = optuna.trial.Trial(ctx.study, frozen._trial_id)
        rungs = [r for (t, r) in existing if t == frozen.number]
        say(f"trial {frozen.number}: resumed")
        if rungs and "architecture" in frozen.user_attrs:
            rung = max(rungs)
            inflight[frozen.number] = Inflight(trial, rung, existing[(frozen.number, rung)],
                                               len(ctx.rung_questions(rung)))
        else:
            run = _start_trial(ctx, trial, ranked, say)
            if run is not None:
                inflight[frozen.number] = run
    return inflight


def final_ranking(ctx: SearchContext, say: Callable[[str], None]) -> None:
    """The best ``final_top_k`` distinct architectures on the held-out questions."""
    completed = [t for t in ctx.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.user_attrs.get("outcome") == "completed"]
    completed.sort(key=lambda t: -(t.values[0] if t.values else 0.0))
    chosen, seen = [], set()
    for trial in completed:
        digest = architecture_hash(parse_architecture(trial.user_attrs["architecture"])[0])
        if digest not in seen:
            seen.add(digest)
            chosen.append(trial)
        if len(chosen) >= ctx.job.final_top_k:
            break
    held_out = load_questions(ctx.job.benchmark, data=ctx.job.data, split="test",
                              limit=ctx.job.final_questions,
                              search_fraction=ctx.job.search_fraction)
    existing = _existing(ctx, "final")
    evaluations = {t.number: existing.get((t.number, None)) or _queue(
        ctx, t.user_attrs["architecture"], purpose="final", questions=held_out, split="test",
        trial_number=t.number) for t in chosen}
    say(f"final ranking: top {len(chosen)} on {len(held_out)} held-out questions")
    _wait_all(ctx, evaluations, dict.fromkeys(evaluations, len(held_out)))
