"""The SQL a report needs from itas's own tables (``search_jobs``, ``evaluations``,
``answers``, ``llm_calls``); the Optuna side is read in :mod:`scheduler.reports`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import text

from models.db import session_scope
from models.errors import UserError
from scheduler.report_rows import (
    EvaluationRow,
    RunningTrial,
    Totals,
    TrialRow,
    optional_float,
)


@dataclass(frozen=True)
class JobRecord:
    """One ``search_jobs`` row, as reports read it."""

    id: int
    name: str
    study_name: str
    status: str
    spec: dict[str, Any]
    error: str | None
    created_at: datetime
    updated_at: datetime


def load_job(database_url: str, job_id: int) -> JobRecord:
    """The job's row; a UserError naming the id when there is none."""
    # to_jsonb(...) ->> 'error' reads the column when the schema has it (migration 0004) and
    # gives NULL when it does not, so this works on either side of that migration.
    with session_scope(database_url) as session:
        row = session.execute(text(
            "SELECT id, name, study_name, status, spec, to_jsonb(j) ->> 'error', created_at, "
            "updated_at FROM search_jobs j WHERE id = :j"), {"j": job_id}).first()
    if row is None:
        raise UserError(f"no search job {job_id}; `itas status` lists the jobs")
    return JobRecord(int(row[0]), str(row[1]), str(row[2]), str(row[3]), dict(row[4] or {}),
                     row[5], row[6], row[7])


def running_trials(database_url: str, job_id: int, rows: list[TrialRow]) -> list[RunningTrial]:
    """Where each running trial has got: its latest rung, questions answered of asked."""
    if not rows:
        return []
    with session_scope(database_url) as session:
        latest = {int(r[0]): (r[1], int(r[2]), int(r[3])) for r in session.execute(text(
            "SELECT DISTINCT ON (e.trial_number) e.trial_number, e.rung, "
            "(SELECT count(*) FROM answers a WHERE a.evaluation_id = e.id), "
            "jsonb_array_length(e.question_ids) FROM evaluations e "
            "WHERE e.job_id = :j AND e.split = 'search' AND e.trial_number = ANY(:t) "
            "ORDER BY e.trial_number, e.id DESC"),
            {"j": job_id, "t": [r.number for r in rows]})}
    return [RunningTrial(r.number, r.architecture_name, *latest.get(r.number, (None, 0, 0)))
            for r in rows]


def totals(database_url: str, job_id: int) -> Totals:
    """The job's LLM calls, cache hits, paid tokens and dollars, all evaluations together."""
    with session_scope(database_url) as session:
        row = session.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE c.cache_hit), "
            "count(*) FILTER (WHERE NOT c.cache_hit AND c.status <> 'error'), "
            "coalesce(sum(c.tokens_in) FILTER (WHERE NOT c.cache_hit), 0), "
            "coalesce(sum(c.tokens_out) FILTER (WHERE NOT c.cache_hit), 0), "
            "coalesce(sum(c.cost_usd), 0), count(*) FILTER (WHERE c.role = 'judge'), "
            "count(*) FILTER (WHERE c.role = 'judge' AND NOT c.cache_hit AND "
            "c.status <> 'error'), coalesce(sum(c.cost_usd) FILTER (WHERE c.role = 'judge'), 0) "
            "FROM llm_calls c JOIN evaluations e ON e.id = c.evaluation_id "
            "WHERE e.job_id = :j"), {"j": job_id}).one()
        unjudged, no_answer, refused = session.execute(text(
            "SELECT count(*) FILTER (WHERE a.judgment IS NOT NULL AND a.score IS NULL), "
            "count(*) FILTER (WHERE a.status = 'no_answer'), "
            "count(*) FILTER (WHERE a.status = 'refused') "
            "FROM answers a JOIN evaluations e ON e.id = a.evaluation_id "
            "WHERE e.job_id = :j"), {"j": job_id}).one()
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]),
                  round(float(row[5]), 6), int(row[6]), int(row[7]), round(float(row[8]), 6),
                  int(unjudged), int(no_answer), int(refused))


def evaluations(database_url: str, job_id: int, *, split: str) -> list[EvaluationRow]:
    """The job's evaluations on ``split``: "search" (the power ranking and every trial's rungs)
    or "test" (the final ranking)."""
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "SELECT e.id, coalesce(e.architecture ->> 'name', 'evaluation ' || e.id), "
            "e.trial_number, e.status, e.score, jsonb_array_length(e.question_ids), "
            "(SELECT count(*) FROM answers a WHERE a.evaluation_id = e.id), "
            "count(c.id), coalesce(sum(c.cost_usd), 0) "
            "FROM evaluations e LEFT JOIN llm_calls c ON c.evaluation_id = e.id "
            "WHERE e.job_id = :j AND e.split = :s GROUP BY e.id ORDER BY e.id"),
            {"j": job_id, "s": split}).all()
    return [EvaluationRow(int(r[0]), str(r[1]), r[2], str(r[3]), optional_float(r[4]), int(r[5]),
                          int(r[6]), int(r[7]), round(float(r[8]), 6)) for r in rows]


def with_judged_figures(database_url: str, rows: list[EvaluationRow]) -> list[EvaluationRow]:
    """``rows`` with a judged benchmark's own figure and 95% interval where an evaluation has
    finished. A statistic each (a bootstrap, a GLM fit): for the rows a report shows, not for
    every status poll of `itas watch`."""
    from scheduler.judges import judged_summary

    out = []
    for row in rows:
        figures = judged_summary(database_url, row.evaluation_id) \
            if row.status == "finished" else None
        out.append(row if figures is None else replace(
            row, judged_score=figures.score, ci_low=figures.ci_low, ci_high=figures.ci_high))
    return out


def job_llms(database_url: str, job_id: int, spec: dict[str, Any]) -> tuple[list[str], bool]:
    """The job's LLMs (those of its job file and those it called), and whether the calls went
    to the simulator (the default registry names its endpoint ``simulator``)."""
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "SELECT DISTINCT c.llm_name, c.endpoint FROM llm_calls c "
            "JOIN evaluations e ON e.id = c.evaluation_id WHERE e.job_id = :j"),
            {"j": job_id}).all()
    listed = spec.get("llms")
    named = {str(llm) for llm in listed} if isinstance(listed, list) else set()
    return sorted(named | {str(r[0]) for r in rows}), any(r[1] == "simulator" for r in rows)
