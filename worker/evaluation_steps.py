"""The database side of evaluating: reading a layer's input, writing its output, finishing a
question and its evaluation. Every write is idempotent (ON CONFLICT DO NOTHING, or guarded by
a WHERE), because a task may run twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from models.db import session_scope
from models.tables import Answer, Evaluation, LayerOutput, Question
from simulator.protocol import ProtocolParseError, normalize_number, parse_answer
from worker.techniques.base import LayerState


def load_evaluation(database_url: str, evaluation_id: int) -> Evaluation:
    with session_scope(database_url) as session:
        evaluation = session.get(Evaluation, evaluation_id)
        if evaluation is None:
            raise LookupError(f"evaluation {evaluation_id} does not exist")
        session.expunge(evaluation)
        return evaluation


def load_question(database_url: str, benchmark: str, question_id: str) -> Question:
    with session_scope(database_url) as session:
        question = session.exec(
            select(Question).where(col(Question.benchmark) == benchmark,
                                   col(Question.question_id) == question_id)
        ).first()
        if question is None:
            raise LookupError(f"question {benchmark}/{question_id} was never stored")
        session.expunge(question)
        return question


def layer_state(database_url: str, evaluation_id: int, question_id: str,
                layer_index: int) -> dict[str, Any] | None:
    """The stored output of a layer, or None if it has not finished."""
    with session_scope(database_url) as session:
        row = session.exec(
            select(LayerOutput.state).where(
                col(LayerOutput.evaluation_id) == evaluation_id,
                col(LayerOutput.question_id) == question_id,
                col(LayerOutput.layer_index) == layer_index,
            )
        ).first()
    return dict(row) if row is not None else None


def save_layer(database_url: str, evaluation_id: int, question_id: str, layer_index: int,
               state: dict[str, Any]) -> None:
    with session_scope(database_url) as session:
        session.execute(insert(LayerOutput).values(
            evaluation_id=evaluation_id, question_id=question_id, layer_index=layer_index,
            state=state).on_conflict_do_nothing())


def final_answer(state: LayerState) -> str | None:
    """The number in the first candidate of the last layer (Archon's output), if any."""
    if not state.candidates:
        return None
    try:
        return parse_answer(state.candidates[0].text)
    except ProtocolParseError:
        return None


def score(answer: str | None, key: str) -> float:
    """Exact numeric match after normalisation ($, commas, 18.0 == 18)."""
    if answer is None:
        return 0.0
    return 1.0 if normalize_number(answer) == normalize_number(key) else 0.0


def finish_question(database_url: str, evaluation: Evaluation, question: Question,
                    last_layer: int) -> None:
    """Score the question, write its answer once, and finish the evaluation when it was the
    last question to finish."""
    assert evaluation.id is not None
    states = [layer_state(database_url, evaluation.id, question.question_id, i)
              for i in range(last_layer + 1)]
    last = LayerState.from_json(states[-1])
    answer = final_answer(last)
    elapsed = sum(float((s or {}).get("elapsed_s", 0.0)) for s in states)
    with session_scope(database_url) as session:
        cost = session.execute(text(
            "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE evaluation_id = :e "
            "AND question_id = :q"), {"e": evaluation.id, "q": question.question_id}
        ).scalar_one()
        session.execute(insert(Answer).values(
            evaluation_id=evaluation.id, question_id=question.question_id,
            final_answer=answer, score=score(answer, question.answer),
            status="ok" if last.candidates else "failed", cost_usd=float(cost),
            latency_s=elapsed).on_conflict_do_nothing())
    _finish_evaluation_if_complete(database_url, evaluation.id)


def fail_question(database_url: str, evaluation_id: int, question_id: str,
                  error: str) -> None:
    """Give a question that cannot be answered (retries exhausted, a configuration error) a
    failed answer, so its evaluation still finishes and the user sees why."""
    with session_scope(database_url) as session:
        session.execute(insert(Answer).values(
            evaluation_id=evaluation_id, question_id=question_id, final_answer=None,
            score=0.0, status="failed", error=error[:2000]).on_conflict_do_nothing())
    _finish_evaluation_if_complete(database_url, evaluation_id)


def _finish_evaluation_if_complete(database_url: str, evaluation_id: int) -> None:
    """Mark the evaluation finished, with its mean score, once every question has an answer.
    Guarded by its WHERE: running it twice, or from two workers at once, is harmless."""
    with session_scope(database_url) as session:
        session.execute(text(
            "UPDATE evaluations SET status = 'finished', finished_at = now(), "
            "score = (SELECT avg(score) FROM answers WHERE evaluation_id = :e) "
            "WHERE id = :e AND status <> 'finished' AND "
            "(SELECT count(*) FROM answers WHERE evaluation_id = :e) "
            ">= jsonb_array_length(question_ids)"), {"e": evaluation_id})
