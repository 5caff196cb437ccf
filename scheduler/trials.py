"""Step 2 of a search job: the Optuna search, trial by trial, rung by rung.

Per trial: params -> architecture -> static cost estimate; over budget means *infeasible*, told
to Optuna as score 0 without a single LLM call. Otherwise the architecture is evaluated on
growing subsets of the search questions (the rungs); after each rung its score so far is
reported with step = questions answered, and the pruner may stop the trial before the next
rung is queued. Several trials are in flight at once (``parallel_trials``).

A scheduler that dies leaves trials RUNNING in the study; :func:`search` resumes each from its
last evaluation (or starts it again from its params), so no trial stays RUNNING and exactly
``trials`` trials finish; telling a result twice is harmless (``skip_if_finished``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import text

from models.db import session_scope
from scheduler import jobs
from scheduler.evaluations import answered, summarize
from scheduler.search_context import SearchContext, queue, queued_before, tick


@dataclass
class Inflight:
    """A trial being evaluated: its current rung's evaluation and that rung's size."""

    trial: optuna.trial.Trial
    rung: int
    evaluation_id: int
    questions: int


def _finished(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))


def search(ctx: SearchContext, ranked: list[str], say: Callable[[str], None]) -> None:
    """Run trials until ``ctx.job.trials`` have finished (completed, pruned, infeasible or
    failed), at most ``parallel_trials`` in flight; returns early when the job is cancelled.
    ``ranked`` is the power ranking, best first."""
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
                run.evaluation_id = queue(ctx, arch, purpose="trial", questions=added,
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
        tick(ctx, [r.evaluation_id for r in inflight.values()])


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
    evaluation_id = queue(ctx, arch, purpose="trial", questions=ctx.rung_questions(0),
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
    existing = queued_before(ctx, "trial")
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
