"""Reading a search job's results: its state, leaderboard, rankings and best architecture.

Pure data, no printing. Everything comes from the job's PostgreSQL:

- ``search_jobs``: the job (state, the job file as submitted in ``spec``);
- the job's Optuna study (RDB storage in the same database): one trial per architecture tried,
  its ``params`` (the search axes) and user attrs ``architecture``, ``architecture_name``,
  ``outcome``, ``cost_usd``, ``cost_per_question_usd``, ``llm_calls``, ``cache_hits``,
  ``provider_calls``, ``tokens_in``, ``tokens_out``, ``questions``, ``infeasible_reason``,
  ``failure``;
- ``evaluations`` of the job: the power ranking (``trial_number IS NULL``, split ``search``:
  each LLM alone) and the final ranking (split ``test``: the top trials on held-out questions);
- ``llm_calls`` joined to those evaluations: the job's calls, cache hits, tokens and dollars.

A trial's outcome is its Optuna state (RUNNING -> running, PRUNED -> pruned, FAIL -> failed,
COMPLETE -> completed; WAITING, enqueued and not started, is not counted), except that a FAIL
trial whose ``outcome`` attr is ``infeasible`` is infeasible (told FAIL, with no value: it never
ran; scheduler/trials.py says why), and a COMPLETE trial whose ``outcome`` is ``pruned`` is
pruned: under pruner wilcoxon a stopped trial is told as COMPLETE with its mean so far
(scheduler.study.reports_per_question). Studies of jobs run before infeasible trials were FAIL
hold them as COMPLETE with 0.0 and the same attr; they read as infeasible too. The state wins
over the attr otherwise, so a trial settled by a restarted scheduler reads right.

The *best* architecture is the one with the highest final-ranking score when a final ranking
exists; otherwise the completed trial with the highest search score, the lower estimated cost
per question breaking ties. With two objectives (nsga2) that trial is the highest-scoring point
of the Pareto front, so the one rule serves both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from models.db import session_scope
from models.errors import UserError
from scheduler.report_queries import (
    JobRecord,
    evaluations,
    job_llms,
    load_job,
    running_trials,
    totals,
    with_judged_figures,
)
from scheduler.report_rows import (
    FINAL_STATES,
    OUTCOMES,
    STATES,
    Best,
    EvaluationRow,
    JobReport,
    JobStatus,
    RunningTrial,
    Totals,
    TrialRow,
    optional_float,
    optional_int,
)

if TYPE_CHECKING:  # Optuna is imported when a study is read, not by every `itas` command
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["FINAL_STATES", "OUTCOMES", "STATES", "Best", "EvaluationRow", "JobReport",
           "JobStatus", "RunningTrial", "Totals", "TrialRow", "best_architecture", "cancel_job",
           "close_storages", "evaluated_view", "job_ids", "job_report", "job_status", "open_study",
           "resolve_job", "trial_outcome"]

_storages: dict[str, optuna.storages.RDBStorage] = {}


def resolve_job(database_url: str, ref: str) -> int:
    """A job given by id or by name -> its id. A name used by several jobs means the newest."""
    with session_scope(database_url) as session:
        row = None
        if ref.strip().isdigit():
            row = session.execute(text("SELECT id FROM search_jobs WHERE id = :i"),
                                  {"i": int(ref)}).first()
        if row is None:
            row = session.execute(text(
                "SELECT id FROM search_jobs WHERE name = :r OR study_name = :r "
                "ORDER BY id DESC LIMIT 1"), {"r": ref}).first()
    if row is None:
        raise UserError(f"no search job {ref!r} (looked for an id or a name); "
                        "`itas status` lists the jobs")
    return int(row[0])


def job_ids(database_url: str) -> list[int]:
    with session_scope(database_url) as session:
        return [int(r[0]) for r in session.execute(
            text("SELECT id FROM search_jobs ORDER BY id"))]


def job_status(database_url: str, job_id: int) -> JobStatus:
    """State, trial counts by outcome, best so far and what the job's calls cost."""
    job = load_job(database_url, job_id)
    rows = [_trial_row(t) for t in _trials(database_url, job.study_name)]
    return _status(database_url, job, rows, evaluations(database_url, job_id, split="test"))


def job_report(database_url: str, job_id: int) -> JobReport:
    """Everything `itas report` shows: leaderboard, power and final rankings, best, totals."""
    job = load_job(database_url, job_id)
    trials = _trials(database_url, job.study_name)
    rows = [_trial_row(t) for t in trials]
    final = with_judged_figures(database_url, evaluations(database_url, job_id, split="test"))
    power = with_judged_figures(database_url, [
        e for e in evaluations(database_url, job_id, split="search") if e.trial_number is None])
    status = _status(database_url, job, rows, final)
    llms, simulated = job_llms(database_url, job_id, job.spec)
    order = {outcome: i for i, outcome in enumerate(OUTCOMES)}
    leaderboard = sorted(rows, key=lambda r: (order.get(r.outcome, len(order)),
                                              -(r.score or 0.0), r.number))
    return JobReport(
        status=status, study_name=job.study_name, directions=_directions(job.spec),
        leaderboard=leaderboard, power_ranking=_ranked(power), final_ranking=_ranked(final),
        llms=llms, simulated=simulated,
        best_architecture=_best_architecture(database_url, job_id, trials, final),
    )


def best_architecture(database_url: str, job_id: int) -> dict[str, Any]:
    """The best architecture so far as Archon JSON (see the module docstring for the rule)."""
    job = load_job(database_url, job_id)
    architecture = _best_architecture(database_url, job_id,
                                      _trials(database_url, job.study_name),
                                      evaluations(database_url, job_id, split="test"))
    if architecture is None:
        raise UserError(f"search job {job.name!r} ({job.id}) has no completed trial yet; "
                        f"`itas watch {job.id}` follows it")
    return architecture


def cancel_job(database_url: str, job_id: int) -> str:
    """Mark a queued or running job cancelled (the scheduler then stops queuing); returns the
    new state. Cancelling a cancelled job is harmless; a finished one is a user error."""
    with session_scope(database_url) as session:
        row = session.execute(text(
            "UPDATE search_jobs SET status = 'cancelled', updated_at = now() "
            "WHERE id = :j AND status IN ('queued', 'running') RETURNING status"),
            {"j": job_id}).first()
    if row is not None:
        return str(row[0])
    job = load_job(database_url, job_id)
    if job.status == "cancelled":
        return job.status
    raise UserError(f"search job {job.name!r} ({job.id}) is already {job.status}; only queued "
                    "or running jobs can be cancelled")


def open_study(database_url: str, study_name: str) -> optuna.Study | None:
    """The job's study, or None before the scheduler has created it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = _storages.get(database_url)
    if storage is None:
        from scheduler.study import storage as build_storage

        storage = build_storage(database_url)
        _storages[database_url] = storage
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:  # Optuna's way of saying "no such study"
        return None


def close_storages() -> None:
    """Close the pooled connections of every storage :func:`open_study` opened."""
    for storage in _storages.values():
        storage.engine.dispose()
    _storages.clear()


def trial_outcome(trial: FrozenTrial) -> str:
    attr = trial.user_attrs.get("outcome")
    if trial.state.name == "COMPLETE":
        return attr if attr in ("infeasible", "pruned") else "completed"
    if trial.state.name == "FAIL" and attr == "infeasible":
        return "infeasible"
    return {"RUNNING": "running", "PRUNED": "pruned"}.get(trial.state.name, "failed")


def evaluated_view(study: optuna.Study) -> optuna.Study:
    """The study with only what was evaluated counted as a score, for Optuna's plots and
    importances: an in-memory copy, trial numbers kept.

    The scheduler tells a trial stopped by pruner wilcoxon as its mean so far, as Optuna
    advises for that pruner; it is not a score of the architecture on the search questions, so
    here it is a pruned trial (its intermediate values kept). (Infeasible trials are FAIL in the
    study itself; those of jobs run before that, COMPLETE with 0.0, become FAIL here.)"""
    import optuna

    trials = study.get_trials(deepcopy=False)
    if not any(t.state.name == "COMPLETE" and trial_outcome(t) in ("infeasible", "pruned")
               for t in trials):
        return study  # every value in the study is a score: nothing to rebuild
    view = optuna.create_study(directions=study.directions)
    for trial in trials:
        outcome = trial_outcome(trial)
        if trial.state.name == "COMPLETE" and outcome in ("infeasible", "pruned"):
            trial = optuna.trial.create_trial(
                state=(optuna.trial.TrialState.FAIL if outcome == "infeasible"
                       else optuna.trial.TrialState.PRUNED),
                params=trial.params, distributions=trial.distributions,
                user_attrs=trial.user_attrs, intermediate_values=trial.intermediate_values)
        view.add_trial(trial)
    return view


def _trials(database_url: str, study_name: str) -> list[FrozenTrial]:
    """The study's trials, except those enqueued and not yet started (WAITING)."""
    study = open_study(database_url, study_name)
    if study is None:
        return []
    return [t for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING"]


def _directions(spec: dict[str, Any]) -> list[str]:
    return ["maximize", "minimize"] if spec.get("sampler") == "nsga2" else ["maximize"]



def _trial_row(trial: FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    outcome = trial_outcome(trial)
    score: float | None = None
    if outcome == "infeasible":  # it never ran (an old study holds 0.0 for it): no score
        pass
    elif trial.state.name == "COMPLETE" and trial.values:  # a wilcoxon-pruned one: its mean
        score = float(trial.values[0])
    elif trial.intermediate_values:
        score = float(trial.intermediate_values[max(trial.intermediate_values)])
    architecture = attrs.get("architecture")
    name = attrs.get("architecture_name") or (
        architecture.get("name") if isinstance(architecture, dict) else None)
    return TrialRow(
        number=trial.number, architecture_name=str(name or f"trial {trial.number}"),
        outcome=outcome, score=score,
        cost_per_question_usd=optional_float(attrs.get("cost_per_question_usd")),
        cost_usd=optional_float(attrs.get("cost_usd")),
        llm_calls=optional_int(attrs.get("llm_calls")),
        cache_hits=optional_int(attrs.get("cache_hits")),
        questions=optional_int(attrs.get("questions")),
        params=dict(trial.params),
        note=attrs.get("infeasible_reason") or attrs.get("failure"),
        **_judged_figures(attrs.get("judged")),
    )


def _judged_figures(judged: Any) -> dict[str, float | None]:
    """A judged benchmark's figure and interval, from a trial's ``judged`` attribute."""
    if not isinstance(judged, dict):
        return {}
    return {key: optional_float(judged.get(name)) for key, name in
            (("judged_score", "score"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))}


def _best_trial(rows: list[TrialRow]) -> TrialRow | None:
    done = [r for r in rows if r.outcome == "completed" and r.score is not None]
    if not done:
        return None
    return max(done, key=lambda r: (r.score or 0.0, -(r.cost_per_question_usd or 0.0),
                                    -r.number))


def _best_final(final: list[EvaluationRow]) -> EvaluationRow | None:
    scored = [e for e in final if e.score is not None]
    return max(scored, key=lambda e: (e.score or 0.0, -e.evaluation_id)) if scored else None


def _best(rows: list[TrialRow], final: list[EvaluationRow]) -> Best | None:
    by_number = {r.number: r for r in rows}
    top = _best_final(final)
    if top is not None:
        trial = by_number.get(top.trial_number) if top.trial_number is not None else None
        return Best("final", top.architecture_name, top.score, top.trial_number,
                    trial.cost_per_question_usd if trial else None)
    best = _best_trial(rows)
    if best is None:
        return None
    return Best("trial", best.architecture_name, best.score, best.number,
                best.cost_per_question_usd)


def _best_architecture(database_url: str, job_id: int, trials: list[FrozenTrial],
                       final: list[EvaluationRow]) -> dict[str, Any] | None:
    top = _best_final(final)
    if top is not None:
        with session_scope(database_url) as session:
            return dict(session.execute(text("SELECT architecture FROM evaluations WHERE id = :e"),
                                        {"e": top.evaluation_id}).scalar_one())
    best = _best_trial([_trial_row(t) for t in trials])
    if best is None:
        return None
    architecture = next(t for t in trials if t.number == best.number).user_attrs.get(
        "architecture")
    return dict(architecture) if isinstance(architecture, dict) else None


def _status(database_url: str, job: JobRecord, rows: list[TrialRow],
            final: list[EvaluationRow]) -> JobStatus:
    counts = dict.fromkeys(OUTCOMES, 0)
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    planned = job.spec.get("trials")
    return JobStatus(
        job_id=job.id, name=job.name, state=job.status, benchmark=job.spec.get("benchmark"),
        sampler=job.spec.get("sampler"),
        trials_planned=int(planned) if isinstance(planned, int) else None, trials=counts,
        running=running_trials(database_url, job.id, [r for r in rows if r.outcome == "running"]),
        best=_best(rows, final),
        totals=totals(database_url, job.id), error=job.error, created_at=job.created_at,
        updated_at=job.updated_at,
    )


def _ranked(rows: list[EvaluationRow]) -> list[EvaluationRow]:
    return sorted(rows, key=lambda e: (e.score is None, -(e.score or 0.0), e.evaluation_id))
