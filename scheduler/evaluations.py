"""Queueing an evaluation (one architecture on a set of questions) and reading its outcome.

Order matters for crash safety: questions and the evaluation row are committed before any task
is sent, so a task never finds nothing; a task lost in the broker is found again by its
missing answer (reconciliation re-sends the question's next layer).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import kombu.exceptions
import redis.exceptions
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from benchmarks.base import Item
from benchmarks.judged.base import BASELINE, BASELINE_SOURCE
from models.db import session_scope
from models.errors import ConfigError, ServiceUnavailable
from models.evaluation_stops import stop_evaluation
from models.tables import BaselineAnswer, Evaluation, LayerOutput, Question
from scheduler.judges import BenchmarkJudge
from worker.celery_app import LAYERS_QUEUE, app

RUN_LAYER = "worker.tasks.run_layer"

log = logging.getLogger(__name__)


def queue_evaluation(database_url: str, *, architecture: dict[str, Any], arch_hash: str,
                     benchmark: str, split: str, questions: Sequence[Item],
                     job_id: int | None = None, trial_number: int | None = None,
                     rung: int | None = None, purpose: str = "run",
                     judge: BenchmarkJudge | None = None,
                     done_steps: Mapping[str, Sequence[dict[str, Any]]] | None = None,
                     unsafe_no_sandbox: bool = False) -> int:
    """Store the questions (their turns as the benchmark framed them, and the reference its
    scorer reads) and the evaluation, then send step 0 of every question.

    ``judge``: a judged benchmark's judge (scheduler/judges.py), stored with the evaluation.
    ``done_steps``: step outputs already made, by question, from step 0 (answers made
    elsewhere, judged with `itas benchmarks score --judge`); each such question is sent at its
    last given step, which the worker finds done and goes on to judge.
    ``unsafe_no_sandbox``: a code benchmark's code runs without the sandbox (the user's
    explicit flag), recorded with the evaluation, which the workers read.

    A pairwise judged benchmark's baseline answers (``baseline`` in the items' references)
    are stored apart (:func:`_store_baseline`), since one question is judged against
    different baselines and its row is written once; the evaluation's judge definition names
    them."""
    baseline_source = None
    if judge is not None:
        baseline_source = _store_baseline(database_url, questions)
    with session_scope(database_url) as session:
        session.execute(insert(Question).values([
            {"benchmark": benchmark, "question_id": q.item_id, "text": q.turns[0],
             "answer": answer_shown(q), "turns": list(q.turns), "system_prompt": q.system,
             "reference": {k: v for k, v in q.reference.items() if k != BASELINE}}
            for q in questions
        ]).on_conflict_do_nothing())
        evaluation = Evaluation(
            job_id=job_id, trial_number=trial_number, rung=rung, purpose=purpose,
            benchmark=benchmark,
            split=split, architecture=architecture, architecture_hash=arch_hash,
            question_ids=[q.item_id for q in questions], status="running",
            benchmark_judge=judge.llm if judge else None,
            unsafe_no_sandbox=unsafe_no_sandbox,
            judge_definition=None if judge is None else {
                **judge.definition,
                **({BASELINE_SOURCE: baseline_source} if baseline_source else {})},
        )
        session.add(evaluation)
        session.flush()
        evaluation_id = evaluation.id
        for question_id, outputs in (done_steps or {}).items():
            session.execute(insert(LayerOutput).values([
                {"evaluation_id": evaluation_id, "question_id": question_id,
                 "layer_index": step, "state": state} for step, state in enumerate(outputs)]))
    assert evaluation_id is not None
    first_step = {q: len(outputs) - 1 for q, outputs in (done_steps or {}).items()}
    sent = 0
    try:
        for q in questions:
            app.send_task(RUN_LAYER, args=[evaluation_id, q.item_id, first_step.get(q.item_id, 0)],
                          queue=LAYERS_QUEUE)
            sent += 1
    except BROKER_DOWN as exc:
        _half_sent(database_url, evaluation_id, purpose, sent, len(questions), exc)
    return evaluation_id


def _store_baseline(database_url: str, questions: Sequence[Item]) -> str | None:
    """Store the baseline answers of ``questions`` (those whose reference has one) under a
    source named by their hash, once; the source, None when no question has a baseline."""
    rows = {q.item_id: q.reference[BASELINE] for q in questions if BASELINE in q.reference}
    if not rows:
        return None
    source = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    with session_scope(database_url) as session:
        session.execute(insert(BaselineAnswer).values([
            {"source": source, "question_id": qid, "answer": answer}
            for qid, answer in rows.items()]).on_conflict_do_nothing())
    return source


#: What sending raises when the broker is down (kombu wraps most; a reset may come raw).
BROKER_DOWN = (kombu.exceptions.OperationalError, redis.exceptions.ConnectionError,
               redis.exceptions.TimeoutError, ConnectionError)


def _half_sent(database_url: str, evaluation_id: int, purpose: str, sent: int, total: int,
               exc: BaseException) -> NoReturn:
    """The broker went down while an evaluation's questions were being sent.

    Nothing may stay half-queued. A scheduler's evaluation (trial, power or final ranking)
    stays ``running``: PostgreSQL has every question, and reconciliation sends the ones
    without progress once the broker is back (scheduler/reconcile.py). ``itas run``/``ask``
    has no reconciliation behind it once it exits: its evaluation is marked ``stopped`` with
    the reason, so the questions already sent stop at their next step
    (models/evaluation_stops.py), and running the command again pays nothing twice (the calls
    made are cache hits).
    """
    cause = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    what = (f"the broker stopped taking messages after {sent} of {total} questions of "
            f"evaluation {evaluation_id} ({cause})")
    if purpose in ("run", "ask"):
        stop_evaluation(database_url, evaluation_id, what)
        raise ServiceUnavailable(f"{what}: it is marked stopped and the questions sent stop; "
                                 "run the command again once the broker is back (the calls "
                                 "already made are cache hits)") from exc
    raise ServiceUnavailable(f"{what}: reconciliation sends the others once the broker is "
                             "back") from exc


def answer_shown(item: Item) -> str:
    """The answer key in short, for people reading the questions table."""
    for key in ("answer", "targets", "target"):
        if key in item.reference:
            return str(item.reference[key])[:500]
    return ""


def answered(database_url: str, evaluation_id: int) -> int:
    with session_scope(database_url) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM answers WHERE evaluation_id = :e"), {"e": evaluation_id}
        ).scalar_one())


#: Re-send an evaluation's work after this long without progress (see scheduler.reconcile):
#: above the longest layer to expect, which is one call's retries within its time limit
#: (worker/clients/calling.py's RetryPolicy, 10 minutes) for the slowest component.
STALE_S = 900.0


def raise_if_stopped(database_url: str, evaluation_ids: Sequence[int]) -> None:
    """Raise ConfigError with the reason when a worker stopped one of these evaluations (a
    refused key, an unknown model: models/evaluation_stops.py). A user error: the job fails
    for good and ``itas run`` exits 2, both with the reason."""
    if not evaluation_ids:
        return
    with session_scope(database_url) as session:
        row = session.execute(text(
            "SELECT id, coalesce(error, 'no reason recorded') FROM evaluations "
            "WHERE id = ANY(:ids) AND status = 'stopped' ORDER BY id LIMIT 1"),
            {"ids": list(evaluation_ids)}).first()
    if row is not None:
        raise ConfigError(f"evaluation {row[0]} stopped: {row[1]}")


#: Seconds between looks at a running evaluation. Each look is a few queries and a progress
#: line, on the machine the workers share; a second is soon enough for a person. (Its CPU is
#: small: `itas run` measured 1.2-1.5 ms per LLM call at 4 looks a second and at 1, most of it
#: start-up; bench/call_cpu.py --processes.)
POLL_S = 1.0


def wait_for(database_url: str, evaluation_id: int, total: int, *, timeout_s: float,
             on_progress: Callable[[int], None] | None = None,
             stale_s: float = STALE_S) -> bool:
    """Poll until every question has an answer; False on timeout. Work lost in the broker
    (a restart without persistence, a retry that could not be queued) is sent again after
    ``stale_s`` without progress, as the scheduler does for search jobs. Raises ConfigError
    when a worker stopped the evaluation (:func:`raise_if_stopped`)."""
    from models.service_errors import is_service_down
    from scheduler.reconcile import redispatch_stalled

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            raise_if_stopped(database_url, [evaluation_id])
            done = answered(database_url, evaluation_id)
            if on_progress:
                on_progress(done)
            if done >= total:
                return True
            redispatch_stalled(database_url, evaluation_ids=[evaluation_id], stale_s=stale_s)
        except Exception as exc:
            # PostgreSQL or the broker restarting: the workers ride it out, so do we.
            if not is_service_down(exc):
                raise
            log.warning("waiting for evaluation %s: %s", evaluation_id, exc)
            time.sleep(1.0)
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)


def failure_of(database_url: str, evaluation_id: int) -> str | None:
    """Why an evaluation could not be scored: the first failed question and its cause, or
    None when no question failed. A failed question has no score (never 0 from an error)."""
    with session_scope(database_url) as session:
        row = session.execute(text(
            "SELECT question_id, error FROM answers WHERE evaluation_id = :e AND "
            "status = 'failed' ORDER BY question_id LIMIT 1"), {"e": evaluation_id}).first()
    if row is None:
        return None
    return f"evaluation {evaluation_id}, question {row[0]}: {row[1]}"


@dataclass(frozen=True)
class EvaluationSummary:
    score: float | None
    questions: int
    llm_calls: int
    cache_hits: int
    provider_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    p50_latency_s: float | None
    p95_latency_s: float | None
    parse_failures: int
    failed_calls: int
    failed_questions: int
    first_error: str | None
    #: The benchmark judge's share of the calls above (role ``judge``): calls, provider calls
    #: and dollars, apart from the architecture's own.
    judge_calls: int = 0
    judge_provider_calls: int = 0
    judge_cost_usd: float = 0.0
    #: Answers whose verdicts could not be read: left out of the score, never a 0.
    unjudged_questions: int = 0
    #: Questions the architecture gave no answer to (every reply empty or truncated), and
    #: those whose prompt a provider refused (over its context window): scored as the
    #: benchmark scores an empty reply, and counted here so that they are not mistaken for
    #: wrong answers (models/tables.py, the statuses). ``first_refusal`` is one provider's
    #: reason.
    no_answer_questions: int = 0
    refused_questions: int = 0
    first_refusal: str | None = None
    #: The run's code (a code benchmark's) ran without the sandbox: --unsafe-no-sandbox.
    unsafe_no_sandbox: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarize(database_url: str, evaluation_id: int) -> EvaluationSummary:
    """Figures of an evaluation. Tokens and cost are those of provider calls (what was
    paid); ``llm_calls`` counts every call the architecture made, cache hits included."""
    with session_scope(database_url) as session:
        calls = session.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE cache_hit), "
            "count(*) FILTER (WHERE NOT cache_hit AND status <> 'error'), "
            "coalesce(sum(tokens_in) FILTER (WHERE NOT cache_hit), 0), "
            "coalesce(sum(tokens_out) FILTER (WHERE NOT cache_hit), 0), "
            "coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE status = 'parse_failure'), "
            "count(*) FILTER (WHERE status = 'error'), "
            "count(*) FILTER (WHERE role = 'judge'), "
            "count(*) FILTER (WHERE role = 'judge' AND NOT cache_hit AND status <> 'error'), "
            "coalesce(sum(cost_usd) FILTER (WHERE role = 'judge'), 0) "
            "FROM llm_calls WHERE evaluation_id = :e"), {"e": evaluation_id}).one()
        answers = session.execute(text(
            "SELECT avg(score), count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_s), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_s), "
            "count(*) FILTER (WHERE status = 'failed'), "
            "min(error) FILTER (WHERE status = 'failed' AND error IS NOT NULL), "
            "count(*) FILTER (WHERE judgment IS NOT NULL AND score IS NULL), "
            "count(*) FILTER (WHERE status = 'no_answer'), "
            "count(*) FILTER (WHERE status = 'refused'), "
            "min(error) FILTER (WHERE status = 'refused') "
            "FROM answers WHERE evaluation_id = :e"), {"e": evaluation_id}).one()
        unsafe = session.execute(text(
            "SELECT unsafe_no_sandbox FROM evaluations WHERE id = :e"),
            {"e": evaluation_id}).scalar_one_or_none()
    return EvaluationSummary(
        score=None if answers[0] is None else round(float(answers[0]), 4),
        questions=int(answers[1]), llm_calls=int(calls[0]), cache_hits=int(calls[1]),
        provider_calls=int(calls[2]), tokens_in=int(calls[3]), tokens_out=int(calls[4]),
        cost_usd=round(float(calls[5]), 6),
        p50_latency_s=None if answers[2] is None else round(float(answers[2]), 3),
        p95_latency_s=None if answers[3] is None else round(float(answers[3]), 3),
        parse_failures=int(calls[6]), failed_calls=int(calls[7]),
        failed_questions=int(answers[4]), first_error=answers[5],
        judge_calls=int(calls[8]), judge_provider_calls=int(calls[9]),
        judge_cost_usd=round(float(calls[10]), 6), unjudged_questions=int(answers[6]),
        no_answer_questions=int(answers[7]), refused_questions=int(answers[8]),
        first_refusal=answers[9], unsafe_no_sandbox=bool(unsafe),
    )
