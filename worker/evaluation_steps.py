"""The database side of evaluating: reading a layer's input, writing its output, finishing a
question and its evaluation. Every write is idempotent (ON CONFLICT DO NOTHING, or guarded by
a WHERE), because a task may run twice.

Steps: a question of T user turns is answered turn by turn, each turn through every layer, so
an evaluation of an L-layer architecture runs steps ``0 .. T*L - 1`` per question; step ``s`` is
layer ``s % L`` of turn ``s // L``. ``layer_outputs.layer_index`` and ``llm_calls.layer_index``
hold the step (for one-turn questions, the layer).

The final answer to a turn is the first candidate its last layer hands on. Archon picks one at
random when several are left; itas takes the first, so that a run is reproducible, and rankers
and unit-test evaluators put their best first (``itas validate`` warns about an architecture
that ends with several candidates).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from benchmarks.base import Scored
from benchmarks.registry import get as get_benchmark
from models.db import get_engine, one_statement, session_scope
from models.tables import Answer, Evaluation, LayerOutput, Question
from worker.judging import Judged
from worker.techniques.base import LayerState
from worker.techniques.conversation import Conversation


# Every layer task of an evaluation reads its row and its question's: kept per process (the
# fields read here, architecture, benchmark, purpose, a question's turns and reference, never
# change once written), since these reads were a good part of a layer's CPU at the providers'
# limits (bench/pipeline_throughput.py profiles it). The objects are detached and only read.
@functools.lru_cache(maxsize=1024)
def load_evaluation(database_url: str, evaluation_id: int) -> Evaluation:
    with session_scope(database_url) as session:
        evaluation = session.get(Evaluation, evaluation_id)
        if evaluation is None:
            raise LookupError(f"evaluation {evaluation_id} does not exist")
        session.expunge(evaluation)
        return evaluation


def step_inputs(database_url: str, evaluation_id: int,
                question_id: str) -> tuple[str, dict[int, dict[str, Any]]]:
    """The evaluation's status as it is now (the row above is cached; its status is not
    fixed: a setup error stops an evaluation while its questions are under way) and the
    stored output of every finished step of the question, by step: what a layer task reads,
    in one query (each read was a round trip and a pooled connection's check-out, a good part
    of a layer task's CPU at the providers' limits: bench/pipeline_throughput.py)."""
    with one_statement(database_url) as conn:
        rows = conn.execute(text(
            "SELECT e.status, l.layer_index, l.state FROM evaluations e LEFT JOIN "
            "layer_outputs l ON l.evaluation_id = e.id AND l.question_id = :q "
            "WHERE e.id = :e"), {"e": evaluation_id, "q": question_id}).all()
    if not rows:
        raise LookupError(f"evaluation {evaluation_id} does not exist")
    return str(rows[0][0]), {int(r[1]): dict(r[2]) for r in rows if r[1] is not None}


@functools.lru_cache(maxsize=8192)
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


def step_started(database_url: str, evaluation_id: int, question_id: str, step: int) -> bool:
    """Whether step ``step`` of a question has begun: its output exists or it used an LLM."""
    with session_scope(database_url) as session:
        return bool(session.execute(text(
            "SELECT EXISTS (SELECT 1 FROM layer_outputs WHERE evaluation_id = :e AND "
            "question_id = :q AND layer_index = :s) OR EXISTS (SELECT 1 FROM llm_calls WHERE "
            "evaluation_id = :e AND question_id = :q AND layer_index = :s)"),
            {"e": evaluation_id, "q": question_id, "s": step}).scalar_one())


# Compiled once, values as parameters (see worker/llm_calls.py's _INSERT_CALL for why).
_INSERT_LAYER = insert(LayerOutput).on_conflict_do_nothing()
_INSERT_ANSWER = insert(Answer).on_conflict_do_nothing()


def save_layer(database_url: str, evaluation_id: int, question_id: str, layer_index: int,
               state: dict[str, Any]) -> bool:
    """Store a step's output once; False when one was stored already (kept as it was)."""
    with one_statement(database_url) as conn:
        inserted = conn.execute(_INSERT_LAYER, {"evaluation_id": evaluation_id,
                                                "question_id": question_id,
                                                "layer_index": layer_index, "state": state})
        return inserted.rowcount == 1


def turns_of(question: Question) -> list[str]:
    """The user turns of a question (rows written before turns existed hold only ``text``)."""
    return list(question.turns) if question.turns else [question.text]


def final_text(state: LayerState) -> str | None:
    """The architecture's answer to a turn: the first candidate of its last layer."""
    return state.candidates[0].text if state.candidates else None


def conversation_at(states: dict[int, dict[str, Any]], question: Question, turn: int,
                    layers: int) -> Conversation | None:
    """The conversation turn ``turn`` answers: the earlier turns with the architecture's own
    final answers to them (``states``: the question's stored step outputs, by step). None when
    an earlier turn ended without an answer."""
    turns = turns_of(question)
    history: list[tuple[str, str]] = []
    for earlier in range(turn):
        answer = final_text(LayerState.from_json(states.get(earlier * layers + layers - 1)))
        if answer is None:
            return None
        history.append((turns[earlier], answer))
    return Conversation(query=turns[turn], system=question.system_prompt,
                        history=tuple(history))


def baseline_answer(database_url: str, source: str, question_id: str) -> Any:
    """A pairwise benchmark's baseline answer to a question, from the baseline ``source`` an
    evaluation's judge definition names (stored by the scheduler before it queued)."""
    with one_statement(database_url) as conn:
        row = conn.execute(text(
            "SELECT answer FROM baseline_answers WHERE source = :s AND question_id = :q"),
            {"s": source, "q": question_id}).first()
    if row is None:
        raise LookupError(f"baseline {source[:12]} has no answer to question {question_id}")
    return row[0]


def turn_answers(states: dict[int, dict[str, Any]], question: Question,
                 layers: int) -> list[str]:
    """The architecture's final answer to each turn of a question, "" for a turn it did not
    answer (which worker/judging.py does not judge)."""
    return [final_text(LayerState.from_json(states.get(turn * layers + layers - 1))) or ""
            for turn in range(len(turns_of(question)))]


def finish_question(database_url: str, evaluation: Evaluation, question: Question,
                    last_step: int, states: dict[int, dict[str, Any]],
                    judged: Judged | None = None) -> None:
    """Score the question from the architecture's final text with its benchmark's scorer
    (or, for a judged benchmark, take ``judged``: its judge's verdicts, worker/judging.py),
    write its answer once, and finish the evaluation when it was the last question to finish.

    A question whose architecture handed on no candidate got no answer from it: that is the
    architecture's own outcome, scored as the benchmark's rule scores an empty reply (0 for
    the deterministic benchmarks; a judged one is not judged), and marked so that it is told
    apart from a wrong answer: ``refused`` with the provider's reason in ``error`` when a
    provider refused its prompt (over the context window) on the way, else ``no_answer``
    (every reply empty or truncated). The statuses are listed in models/tables.py.
    ``last_step`` may be below the question's last step when an earlier turn gave no answer;
    ``states`` holds the question's step outputs, by step (:func:`step_inputs`, with the
    output just saved)."""
    assert evaluation.id is not None
    states_in_order = [states.get(i) for i in range(last_step + 1)]
    text_out = None
    refusal = None
    last = next((s for s in reversed(states_in_order) if s is not None), None)
    if last is not None:
        last_state = LayerState.from_json(last)
        text_out, refusal = final_text(last_state), last_state.refusal
    if evaluation.purpose == "ask":  # `itas ask`: a question of the user's, no answer key
        scored = Scored(None, None, "asked with itas ask: not scored")
    elif judged is not None:
        scored = judged.scored
    else:
        scored = score_answer(evaluation, question, text_out or "")
    elapsed = sum(float((s or {}).get("elapsed_s", 0.0)) for s in states_in_order)
    with get_engine(database_url).connect() as conn:
        with conn.begin():
            cost = conn.execute(text(
                "SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE evaluation_id = :e "
                "AND question_id = :q"), {"e": evaluation.id, "q": question.question_id}
            ).scalar_one()
            conn.execute(_INSERT_ANSWER, {
                "evaluation_id": evaluation.id, "question_id": question.question_id,
                "final_answer": scored.extracted, "final_text": text_out,
                "score": scored.score, "score_note": scored.note,
                "status": answer_status(text_out, refusal),
                # A refused question's reason is the provider's message (models/tables.py).
                "error": refusal[:2000] if text_out is None and refusal else None,
                "cost_usd": float(cost), "latency_s": elapsed,
                "judgment": judged.judgment() if judged is not None else None,
                "test_results": scored.details})
        # Its own transaction, after the answer's commit: two workers finishing the last two
        # questions at once must each see the other's answer, or neither ends the evaluation.
        with conn.begin():
            _finish_evaluation_if_complete(conn, evaluation.id)


def score_answer(evaluation: Evaluation, question: Question, reply: str) -> Scored:
    """A deterministic benchmark's score of ``reply``; a code benchmark's by running the code
    (worker/code_runs.py), each run's result in ``details``. A sandbox that cannot be set up
    (and a run that is not ``unsafe_no_sandbox``) raises SetupError: the evaluation stops
    with the line, no score is written."""
    from benchmarks.code.base import CodeBenchmark, is_code

    benchmark = get_benchmark(evaluation.benchmark)
    if not is_code(benchmark):
        return benchmark.score(question.reference, reply)
    from typing import cast

    from models.errors import SetupError
    from worker.code_runs import score_code_answer
    from worker.test_runs import UNSAFE_HINT, require_sandbox

    unsafe = bool(evaluation.unsafe_no_sandbox)
    require_sandbox(unsafe)
    scored = score_code_answer(cast(CodeBenchmark, benchmark), question.reference, reply,
                               unsafe=unsafe)
    refused = next((d for d in scored.details or [] if d.get("status") == "refused"), None)
    if refused is not None:
        raise SetupError(f"the sandbox refused to run the answer's code: "
                         f"{str(refused.get('stderr', '')).strip()}; {UNSAFE_HINT}")
    return scored


def answer_status(text_out: str | None, refusal: str | None) -> str:
    """Where a scored answer's text came from (the statuses of models/tables.py)."""
    if text_out is not None:
        return "ok"
    return "refused" if refusal else "no_answer"


def fail_question(database_url: str, evaluation_id: int, question_id: str,
                  error: str) -> None:
    """Give a question that could not be answered (a service down past every retry, a
    configuration error) a failed answer: no score, since the architecture gave no answer,
    and the cause, so that its evaluation ends ``failed`` and the user sees why."""
    with session_scope(database_url) as session:
        session.execute(insert(Answer).values(
            evaluation_id=evaluation_id, question_id=question_id, final_answer=None,
            score=None, status="failed", error=error[:2000]).on_conflict_do_nothing())
    with get_engine(database_url).begin() as conn:
        _finish_evaluation_if_complete(conn, evaluation_id)


def _finish_evaluation_if_complete(conn: Connection, evaluation_id: int) -> None:
    """End the evaluation once every question has an answer: ``finished`` with its mean
    score, or ``failed`` without one when any question failed (a failure is never a score).
    Guarded by its WHERE: running it twice, or from two workers at once, is harmless."""
    conn.execute(text(
        "UPDATE evaluations SET finished_at = now(), status = CASE WHEN EXISTS "
        "(SELECT 1 FROM answers WHERE evaluation_id = :e AND status = 'failed') "
        "THEN 'failed' ELSE 'finished' END, "
        "score = CASE WHEN EXISTS (SELECT 1 FROM answers WHERE evaluation_id = :e AND "
        "status = 'failed') THEN NULL ELSE "
        "(SELECT avg(score) FROM answers WHERE evaluation_id = :e) END "
        "WHERE id = :e AND status = 'running' AND "
        "(SELECT count(*) FROM answers WHERE evaluation_id = :e) "
        ">= jsonb_array_length(question_ids)"), {"e": evaluation_id})
