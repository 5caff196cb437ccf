"""A pairwise judged benchmark's baseline made by an architecture (``--baseline-architecture``
of `itas run`, ``baseline_architecture`` of a search job), instead of an answers file.

The baseline architecture answers the questions once, in an evaluation of its own (purpose
``baseline``, not judged: its calls are cached and recorded like any other). Its final answer
to each turn then stands in the questions' references as ``baseline``, and every judged
evaluation stores and reads it like a file's (scheduler/evaluations.py): a job makes its
baseline's answers once, before the power ranking, for the search and the held-out questions,
and reuses them in every trial and the final ranking; a resumed job finds them done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from benchmarks.base import Item
from benchmarks.judged.base import BASELINE, JudgedBenchmark
from models.db import session_scope
from models.errors import ConfigError

if TYPE_CHECKING:
    from scheduler.search_context import SearchContext

__all__ = ["PURPOSE", "check_baselines", "prepare_job_baseline", "read_baseline",
           "with_baseline"]

#: The purpose of the evaluation that makes a baseline's answers.
PURPOSE = "baseline"


def read_baseline(database_url: str, evaluation_id: int,
                  questions: Sequence[Item]) -> dict[str, Any]:
    """The baseline evaluation's final answers, by question: its final text (the first
    candidate of a turn's last layer) for a one-turn question, one per turn otherwise; "" for
    a turn it did not answer (the baseline's own outcome: the judge compares with nothing)."""
    with session_scope(database_url) as session:
        layers = int(session.execute(text(
            "SELECT jsonb_array_length(architecture -> 'layers') FROM evaluations "
            "WHERE id = :e"), {"e": evaluation_id}).scalar_one())
        rows = session.execute(text(
            "SELECT question_id, layer_index, state FROM layer_outputs WHERE evaluation_id = :e"),
            {"e": evaluation_id}).all()
    states = {(str(q), int(step)): dict(state) for q, step, state in rows}
    answers: dict[str, Any] = {}
    for item in questions:
        turns = []
        for turn in range(len(item.turns)):
            state = states.get((item.item_id, turn * layers + layers - 1)) or {}
            candidates = state.get("candidates") or []
            turns.append(str(candidates[0]["text"]) if candidates else "")
        answers[item.item_id] = turns[0] if len(turns) == 1 else turns
    return answers


def with_baseline(questions: Sequence[Item], answers: Mapping[str, Any]) -> list[Item]:
    """``questions`` with the baseline's answers in their references."""
    return [replace(item, reference={**item.reference, BASELINE: answers[item.item_id]})
            for item in questions]


def is_pairwise(benchmark: JudgedBenchmark, definition: Mapping[str, Any]) -> bool:
    """Whether the judge compares with a baseline: AlpacaEval, Arena-Hard, MT-Bench's
    pairwise mode."""
    return bool(benchmark.pairwise) or definition.get("mode") == "pairwise"


def check_baselines(name: str, benchmark: JudgedBenchmark, definition: Mapping[str, Any],
                    questions: Sequence[Item], *, architecture_given: bool,
                    where: str = "--baseline-architecture") -> None:
    """Refuse, before anything is queued, a baseline architecture for a benchmark that judges
    without one, and a pairwise judge with questions that have no baseline answer."""
    pairwise = is_pairwise(benchmark, definition)
    if architecture_given and not pairwise:
        raise ConfigError(f"{where}: {name} judges each answer on its own (no baseline); "
                          "leave it out" + (" or set the option mode: pairwise"
                                            if name == "mt-bench" else ""))
    if pairwise and not architecture_given:
        missing = [q.item_id for q in questions if BASELINE not in q.reference]
        if missing:
            raise ConfigError(f"{name}: pairwise judging needs a baseline's answers: the "
                              f"option baseline (an answers file) or {where} (an "
                              f"architecture); none for {missing[0]}")


def prepare_job_baseline(ctx: SearchContext, say: Callable[[str], None]) -> None:
    """Before a job's power ranking: check its pairwise judge has a baseline, and make a
    baseline architecture's answers on the search and held-out questions, once (a resumed job
    finds its baseline evaluation and reuses it). Sets ``ctx.baseline`` and puts the answers
    in ``ctx.search_questions``."""
    from benchmarks.registry import get_judged, load_questions
    from scheduler.search_context import queue, queued_before, wait_all

    job, judge = ctx.job, ctx.judge
    judged = get_judged(str(job.benchmark)) if judge is not None else None
    if judge is None or judged is None:
        return
    architecture = job.baseline_architecture
    check_baselines(str(job.benchmark), judged, judge.definition, ctx.search_questions,
                    architecture_given=architecture is not None,
                    where="baseline_architecture")
    if architecture is None:
        return
    held_out = load_questions(job.benchmark, data=job.data, split="test",
                              limit=job.final_questions, search_fraction=job.search_fraction,
                              options=job.benchmark_options)
    questions = [*ctx.search_questions, *held_out]
    existing = queued_before(ctx, PURPOSE)
    evaluation_id = existing.get((None, None)) or queue(
        ctx, dict(architecture), purpose=PURPOSE, questions=questions, split="all",
        judged=False)
    say(f"baseline: {architecture.get('name', 'the baseline architecture')} on "
        f"{len(questions)} questions")
    wait_all(ctx, {PURPOSE: evaluation_id}, {PURPOSE: len(questions)})
    ctx.baseline = read_baseline(ctx.database_url, evaluation_id, questions)
    ctx.search_questions = with_baseline(ctx.search_questions, ctx.baseline)
