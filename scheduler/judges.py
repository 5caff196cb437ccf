"""The judge of a judged benchmark, on the scheduler's side: which LLM judges, the judge
definition read from the benchmark's files (stored with each evaluation, so workers need no
dataset files), and the benchmark's statistics over an evaluation's judged answers.

    judge = benchmark_judge("mt-bench", "sim-judge", data=None, options={})   # or None
    queue_evaluation(..., judge=judge)
    judged_summary(database_url, evaluation_id)                               # after it ran

The judge is the *benchmark's* (``--judge`` of ``itas run``, ``benchmark_judge`` of a search
job), apart from the architecture's own critics and rankers (a job's ``judge_llm``). Its calls
go through the workers like every call and are recorded with role ``judge``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.base import BenchmarkError
from benchmarks.judged.base import (
    BASELINE,
    BASELINE_SOURCE,
    JudgedSummary,
    QuestionJudgment,
    Verdict,
)
from benchmarks.registry import get_judged, resolve_data
from models.db import session_scope
from models.errors import ConfigError

__all__ = ["BenchmarkJudge", "benchmark_judge", "judged_summary"]


@dataclass(frozen=True)
class BenchmarkJudge:
    """A judged benchmark's judge for one run or job: the LLM and the judge definition."""

    llm: str
    definition: dict[str, Any]


def benchmark_judge(benchmark: str, judge_llm: str | None, *, data: Path | None,
                    options: Mapping[str, Any] | None, where: str = "--judge"
                    ) -> BenchmarkJudge | None:
    """The judge of ``benchmark``, or None for a benchmark scored without one. A judged
    benchmark needs ``judge_llm``; another refuses it (``where`` names the option or field in
    the error). Raises ConfigError naming what is wrong (a missing judge file included)."""
    judged = get_judged(benchmark)
    if judged is None:
        if judge_llm is not None:
            raise ConfigError(f"{where}: {benchmark} is scored without a judge; leave "
                              f"{where} out")
        return None
    if judge_llm is None:
        raise ConfigError(f"{benchmark} is scored by an LLM judge: name it with {where} LLM "
                          "(an LLM of `itas llms`)")
    from models.endpoints import load_registry
    from models.settings import load_settings

    settings = load_settings()
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    try:
        registry.llm(judge_llm)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    try:
        definition = judged.judge_definition(resolve_data(judged, data), dict(options or {}))
    except BenchmarkError as exc:
        raise ConfigError(str(exc)) from exc
    return BenchmarkJudge(judge_llm, definition)


def judged_summary(database_url: str, evaluation_id: int | list[int]) -> JudgedSummary | None:
    """The benchmark's own statistics over the judged answers of an evaluation, or of several
    of one architecture (a trial's rungs), with its interval and the unparsed verdicts
    counted; None for evaluations without a judge."""
    ids = [evaluation_id] if isinstance(evaluation_id, int) else list(evaluation_id)
    if not ids:
        return None
    with session_scope(database_url) as session:
        row = session.execute(text(
            "SELECT benchmark, judge_definition FROM evaluations WHERE id = :e"),
            {"e": ids[0]}).one()
        if row[1] is None:
            return None
        # A pairwise benchmark's baseline answer goes back into the reference (it is stored
        # apart, scheduler/evaluations.py), from the evaluation's own baseline source.
        answers = session.execute(text(
            "SELECT a.question_id, q.reference, a.judgment, b.answer FROM answers a "
            "JOIN evaluations e ON e.id = a.evaluation_id JOIN questions q ON "
            "q.benchmark = e.benchmark AND q.question_id = a.question_id LEFT JOIN "
            "baseline_answers b ON b.source = e.judge_definition ->> :source AND "
            "b.question_id = a.question_id WHERE a.evaluation_id = ANY(:ids) AND a.status <> "
            "'failed' AND a.judgment IS NOT NULL ORDER BY a.question_id"),
            {"ids": ids, "source": BASELINE_SOURCE}).all()
    judged = get_judged(str(row[0]))
    if judged is None:
        return None
    judgments = [QuestionJudgment(
        question_id=str(qid),
        reference={**reference, **({BASELINE: baseline} if baseline is not None else {})},
        answers=tuple(judgment.get("answers") or ()),
        verdicts=tuple(Verdict.from_json(v) for v in judgment.get("verdicts") or ()))
        for qid, reference, judgment, baseline in answers]
    return judged.summarize(dict(row[1]), judgments)
