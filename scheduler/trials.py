"""Step 2 of a search job: the Optuna search, trial by trial, rung by rung.

Per trial: params -> architecture -> static cost estimate; over budget means *infeasible*, told
to Optuna as FAIL (no value) without a single LLM call. Otherwise the architecture is evaluated on
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
from models.errors import InfrastructureFailure
from scheduler import jobs
from scheduler.evaluations import answered, failure_of, summarize
from scheduler.search_context import SearchContext, queue, queued_before, tick


@dataclass
class Inflight:
    """A trial being evaluated: its current rung's evaluation and that rung's size."""

    trial: optuna.trial.Trial
    rung: int
    evaluation_id: int
    questions: int


def _finished(study: optuna.Study) -> int:
    """Trials that count towards the job's ``trials``: a FAIL asked again does not."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
               and not t.user_attrs.get("asked_again"))


def search(ctx: SearchContext, ranked: list[str], say: Callable[[str], None]) -> None:
    """Run trials until ``ctx.job.trials`` have finished (completed, pruned, infeasible or
    failed), at most ``parallel_trials`` in flight; returns early when the job is cancelled.
    ``ranked`` is the power ranking, best first."""
    inflight = _resume(ctx, ranked, say)
    sizes = ctx.rung_sizes()
    failures = 0  # trials this scheduler could not evaluate (see failed_trial_retries)
    while True:
        if jobs.job_status(ctx.database_url, ctx.job_id) == "cancelled":
            for run in inflight.values():  # stop queuing; what runs is settled as failed
                run.trial.set_user_attr("failure", "job cancelled")
                _settle(ctx, run, "failed")
            say("cancelled")
            return
        for number, run in list(inflight.items()):
            if answered(ctx.database_url, run.evaluation_id) < run.questions:
                continue
            failure = failure_of(ctx.database_url, run.evaluation_id)
            if failure:
                del inflight[number]
                failures += 1
                _fail_and_ask_again(ctx, run, failure, say)
                if failures > ctx.job.failed_trial_retries:
                    raise InfrastructureFailure(
                        f"{failures} trials could not be evaluated (failed_trial_retries: "
                        f"{ctx.job.failed_trial_retries}); the last: {failure}")
                continue
            score = _trial_score(ctx, number)
            _report(ctx, run, score)
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
            ctx.reseed_sampler()
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
    reason = over_job_budget(ctx, arch, len(ctx.search_questions))
    if reason:
        trial.set_user_attr("outcome", "infeasible")
        trial.set_user_attr("infeasible_reason", reason)
        # FAIL, not a value under a constraints_func: a constrained trial still needs a value,
        # and optuna-dashboard, Optuna's plots and anything else reading the study would show
        # that value as the score of an architecture that never ran. A FAIL has none; it is
        # out of best_trials and the Pareto front; GridSampler counts its point as visited
        # (any finished state), so a grid still covers each point once; it counts towards
        # ``trials`` like every finished trial (see _finished). The price: TPE and NSGA-II
        # ignore FAIL trials, so they do not learn to avoid the region; a proposal there
        # costs a trial slot and no LLM call.
        ctx.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        say(f"trial {trial.number}: infeasible ({reason})")
        return None
    evaluation_id = queue(ctx, arch, purpose="trial", questions=ctx.rung_questions(0),
                           trial_number=trial.number, rung=0)
    say(f"trial {trial.number}: {arch['name']}")
    return Inflight(trial, 0, evaluation_id, len(ctx.rung_questions(0)))


def _fail_and_ask_again(ctx: SearchContext, run: Inflight, failure: str,
                        say: Callable[[str], None]) -> None:
    """A trial whose evaluation failed (a service down past every retry) has no score: it is
    told to Optuna as FAIL, and the same parameters are queued as a new trial, whose
    answered calls are then cache hits. The FAIL does not count towards ``trials``."""
    run.trial.set_user_attr("failure", failure[:1000])
    run.trial.set_user_attr("asked_again", True)
    _settle(ctx, run, "failed")
    ctx.study.enqueue_trial(run.trial.params, user_attrs={"retry_of": run.trial.number},
                            skip_if_exists=False)
    say(f"trial {run.trial.number}: could not be evaluated ({failure}); asked again")


def _report(ctx: SearchContext, run: Inflight, score: float) -> None:
    """Tell the pruner what the trial's rung showed. Mostly the mean so far, step = questions
    answered (the resource the pruner weighs); under a pruner that compares trials question
    by question, each of the rung's questions with step = its place among the search
    questions (scheduler.study.reports_per_question)."""
    from scheduler.study import reports_per_question

    if not reports_per_question(ctx.job.pruner):
        run.trial.report(score, step=ctx.rung_sizes()[run.rung])
        return
    place = {q.item_id: i for i, q in enumerate(ctx.search_questions)}
    with session_scope(ctx.database_url) as session:
        rows = session.execute(text(
            "SELECT question_id, score FROM answers WHERE evaluation_id = :e "
            "AND score IS NOT NULL"), {"e": run.evaluation_id}).all()
    for question_id, value in sorted(rows, key=lambda r: place.get(r[0], -1)):
        if question_id in place:
            run.trial.report(float(value), step=place[question_id])


def _trial_score(ctx: SearchContext, trial_number: int) -> float:
    """Mean score over every question the trial has answered so far, all rungs together."""
    with session_scope(ctx.database_url) as session:
        value = session.execute(text(
            "SELECT avg(a.score) FROM answers a JOIN evaluations e ON e.id = a.evaluation_id "
            "WHERE e.job_id = :j AND e.purpose = 'trial' AND e.trial_number = :t"),
            {"j": ctx.job_id, "t": trial_number}).scalar_one()
    return float(value or 0.0)


def _estimate(ctx: SearchContext, arch: dict[str, Any]) -> Any:
    """An architecture's estimated cost per question, a judged benchmark's judge included."""
    from scheduler.cost_estimate import job_estimate

    return job_estimate(arch, ctx.registry, ctx.job)


def _values(ctx: SearchContext, score: float, arch: dict[str, Any]) -> list[float]:
    if ctx.job.sampler == "nsga2":
        return [score, float(_estimate(ctx, arch).usd)]
    return [score]


def over_job_budget(ctx: SearchContext, arch: dict[str, Any], questions: int) -> str | None:
    """Why ``arch`` must not run on ``questions`` more questions: over a per-question limit,
    or over what is left of a total once the job's spending and commitments so far are
    counted. Decided before any call is made (trials here, finalists in final_ranking)."""
    from scheduler.cost_estimate import over_budget

    return over_budget(_estimate(ctx, arch), ctx.job.budget, questions, spent=_job_spent(ctx))


def _job_spent(ctx: SearchContext) -> Any:
    """What the job has used or committed so far: its provider calls (power ranking, trials
    and final ranking alike; cache hits are free), plus the estimate of the questions its
    running evaluations have still to answer, so that parallel trials cannot together pass
    a total limit that each alone respects."""
    from scheduler.cost_estimate import CostEstimate

    with session_scope(ctx.database_url) as session:
        row = session.execute(text(
            "SELECT count(*), coalesce(sum(c.tokens_in), 0), coalesce(sum(c.tokens_out), 0), "
            "coalesce(sum(c.cost_usd), 0) FROM llm_calls c JOIN evaluations e "
            "ON e.id = c.evaluation_id WHERE e.job_id = :j AND NOT c.cache_hit"),
            {"j": ctx.job_id}).one()
        running = session.execute(text(
            "SELECT e.architecture, jsonb_array_length(e.question_ids) - "
            "(SELECT count(*) FROM answers a WHERE a.evaluation_id = e.id) "
            "FROM evaluations e WHERE e.job_id = :j AND e.status = 'running'"),
            {"j": ctx.job_id}).all()
    committed = CostEstimate(calls=int(row[0]), tokens_in=int(row[1]),
                             tokens_out=int(row[2]), usd=float(row[3]))
    for architecture, left in running:
        if int(left) > 0:
            committed = committed + _estimate(ctx, dict(architecture)).times(int(left))
    return committed


def _settle(ctx: SearchContext, run: Inflight, outcome: str,
            score: float | None = None) -> None:
    """Record a trial's figures and tell Optuna once (a repeat is skipped). ``score`` is
    told only for a completed trial (and a wilcoxon-pruned one); a failed trial is FAIL, with
    no value, whatever it answered."""
    from scheduler.study import reports_per_question

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
    if ctx.judge is not None and outcome in ("completed", "pruned"):
        from scheduler.judges import judged_summary

        judged = judged_summary(ctx.database_url, ids)
        if judged is not None:  # the benchmark's own figure and interval, for the reports
            run.trial.set_user_attr("judged", judged.to_json())
    run.trial.set_user_attr("questions", ctx.rung_sizes()[run.rung])
    run.trial.set_user_attr("cost_per_question_usd", float(_estimate(ctx, arch).usd))
    run.trial.set_user_attr("outcome", outcome)
    if outcome == "completed" and score is not None:
        ctx.study.tell(run.trial, _values(ctx, score, arch), skip_if_finished=True)
    elif outcome == "pruned" and score is not None and reports_per_question(ctx.job.pruner):
        # Its mean so far as a value (see reports_per_question); the outcome attr says pruned.
        ctx.study.tell(run.trial, _values(ctx, score, arch), skip_if_finished=True)
    elif outcome == "pruned":
        ctx.study.tell(run.trial, state=TrialState.PRUNED, skip_if_finished=True)
    else:  # failed (a completed trial always has its score): no value, see _start_trial
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
