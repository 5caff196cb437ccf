"""The tables of itas (SQLModel). Plural names, none of which collide with Optuna's own
(studies, trials, trial_values, trial_params, ... and its alembic_version).

Contracts:

- Every table that a task writes has a unique constraint on the task's natural key, so a
  redelivered or re-dispatched task that writes again changes nothing (writers use
  ``INSERT ... ON CONFLICT DO NOTHING`` through :mod:`models.crud`).
- No API key is stored anywhere: endpoints are stored by name, never with credentials.
- ``llm_calls`` is both the audit log of every call and the durable level of the response
  cache: a row with ``status == "ok"`` and ``cache_hit == False`` holds a paid-for response.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Any:
    """A timestamp column; set by the database too, so core INSERTs from tasks get one."""
    if nullable:
        return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class SearchJob(SQLModel, table=True):
    """One queued search (a job file): its spec as submitted, its state, its Optuna study."""

    __tablename__ = "search_jobs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    study_name: str = Field(unique=True)
    status: str = Field(default="queued", index=True)  # queued|running|completed|failed|cancelled
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    #: The scheduler holding the job, until its lease expires (several schedulers may run).
    lease_owner: str | None = None
    lease_expires_at: datetime | None = _ts(nullable=True)
    #: Why a job failed, for `itas status`.
    error: str | None = None
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Question(SQLModel, table=True):
    """A benchmark question and its answer key, written by the scheduler before it queues
    work, so that workers need no dataset files (nor their paths) to run and score."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("benchmark", "question_id", name="uq_questions_benchmark_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    benchmark: str
    question_id: str
    #: The first user turn as the LLM sees it (for display; ``turns`` is what is sent).
    text: str
    #: The answer key in short, for display; scoring reads ``reference``.
    answer: str
    #: Every user turn as the LLM sees it, the benchmark's framing included (MT-Bench has two).
    turns: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False,
                                                                    server_default="[]"))
    #: The benchmark's system prompt; None: the architecture's default assistant prompt.
    system_prompt: str | None = None
    #: What the benchmark's scorer needs (answer key, options, targets), as the benchmark wrote it.
    reference: dict[str, Any] = Field(default_factory=dict, sa_column=Column(
        JSONB, nullable=False, server_default="{}"))
    created_at: datetime = _ts()


class Evaluation(SQLModel, table=True):
    """One architecture evaluated on one set of questions (a trial's rung, or `itas run`)."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint(
            "job_id", "trial_number", "rung", name="uq_evaluations_trial_rung"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int | None = Field(default=None, foreign_key="search_jobs.id", index=True)
    trial_number: int | None = None
    rung: int | None = None
    #: Why it runs: "run" (itas run), "ask" (itas ask: not scored), "power_ranking", "trial",
    #: "final".
    purpose: str = Field(default="run", sa_column_kwargs={"server_default": "run"})
    benchmark: str
    split: str = "search"
    architecture: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    architecture_hash: str = Field(index=True)
    question_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    status: str = Field(default="queued", index=True)  # queued|running|finished|failed|stopped
    score: float | None = None
    created_at: datetime = _ts()
    finished_at: datetime | None = _ts(nullable=True)
    #: Why it was stopped (status failed): a refused key, an unknown model; never a key.
    error: str | None = None
    #: A judged benchmark's judge (not the architecture's critics and rankers): the LLM (a
    #: name of the endpoints registry) and the judge definition read from the benchmark's
    #: files (benchmarks/judged/base.py), so that workers judge with nothing but the database.
    #: None for benchmarks scored without a judge.
    benchmark_judge: str | None = None
    judge_definition: dict[str, Any] | None = Field(default=None,
                                                    sa_column=Column(JSONB, nullable=True))
    #: A code benchmark's code (answers and executed unit tests) runs as bare subprocesses,
    #: not in the sandbox: the user's explicit ``--unsafe-no-sandbox`` (or the job's
    #: ``unsafe_no_sandbox: true``), recorded with the run it let through.
    unsafe_no_sandbox: bool = Field(default=False,
                                    sa_column_kwargs={"server_default": "false"})


class Answer(SQLModel, table=True):
    """The final answer of one evaluation on one question, and what it cost."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "question_id", name="uq_answers_evaluation_question"),
    )

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluations.id", index=True)
    question_id: str
    #: The answer read from the final text by the benchmark's extractor (None: it gives none).
    final_answer: str | None = None
    #: The architecture's whole final reply to the last turn, as its last layer chose it.
    final_text: str | None = None
    #: Why the extractor found no answer, or why a benchmark does not score deterministically.
    score_note: str | None = None
    score: float | None = None
    #: Where the answer's text came from; an answer is never scored without one:
    #:
    #: - ``ok``: the architecture's final text (``final_text``), scored by the benchmark;
    #: - ``no_answer``: the architecture handed on no candidate (every reply empty, truncated
    #:   or unparseable); scored as the benchmark's rule scores an empty reply (0, or not
    #:   judged), counted apart from wrong answers;
    #: - ``refused``: no answer because a provider refused the question's prompt (over the
    #:   LLM's context window, a content filter); scored as ``no_answer`` is, with the
    #:   provider's reason in ``error``;
    #: - ``failed``: the question could not be run (a service down past every retry, a judge
    #:   that refused): no score, the cause in ``error``, and the evaluation fails.
    #:
    #: docs/statuses.md says the same for users.
    status: str = "ok"  # ok|no_answer|refused|failed
    #: Why a failed question failed (error class and message), or the provider's reason for a
    #: refused one; never a key.
    error: str | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    #: A judged benchmark's verdicts on this answer ({"verdicts": [...], "unparsed": n}); the
    #: score is None when none could be read (left out of the mean, never a 0).
    judgment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    #: A code benchmark's runs of the answer's code, one result each ({"name", "passed",
    #: "status", "seconds", ...}: benchmarks/code/base.py's run_detail); None elsewhere.
    test_results: list[dict[str, Any]] | None = Field(default=None,
                                                      sa_column=Column(JSONB, nullable=True))
    created_at: datetime = _ts()


class BaselineAnswer(SQLModel, table=True):
    """A pairwise judged benchmark's baseline answer to one question, kept apart from the
    question's reference: the same question is judged against different baselines (a job's
    ``baseline`` option), and a question row is written once. ``source`` names one baseline
    over a set of questions (a hash of its answers, so a row never changes once written); an
    evaluation's judge definition names its source."""

    __tablename__ = "baseline_answers"
    __table_args__ = (
        UniqueConstraint("source", "question_id", name="uq_baseline_answers_source_question"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64, index=True)
    question_id: str
    #: The baseline's answer: a string, or one per turn (MT-Bench's pairwise mode).
    answer: Any = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = _ts()


class LayerOutput(SQLModel, table=True):
    """The state one layer hands to the next (candidates, critiques, unit tests), so a
    redelivered task finds a finished layer and skips it."""

    __tablename__ = "layer_outputs"
    __table_args__ = (
        UniqueConstraint(
            "evaluation_id", "question_id", "layer_index", name="uq_layer_outputs_key"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluations.id", index=True)
    question_id: str
    layer_index: int
    state: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = _ts()


class LLMCall(SQLModel, table=True):
    """One use of one LLM call: a provider request or a cache hit. Never holds an API key."""

    __tablename__ = "llm_calls"
    __table_args__ = (
        # One record per (request, use site): a redelivered task re-recording is harmless.
        UniqueConstraint(
            "request_hash", "evaluation_id", "question_id", "layer_index",
            name="uq_llm_calls_use", postgresql_nulls_not_distinct=True,
        ),
        Index("ix_llm_calls_hash_paid", "request_hash", "status", "cache_hit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_hash: str = Field(max_length=64)
    endpoint: str
    llm_name: str = Field(index=True)
    sample_index: int = 0
    #: What the technique asked: generate, critique, rank, fuse, verify, unit_test_generate,
    #: unit_test_evaluate, score (a reward model).
    role: str | None = None
    #: 0 for the first ask; 1, 2, ... when an unparseable or truncated reply was asked again.
    attempt: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: The provider's reason to stop: "stop", "length" (cut at max_tokens), ...
    finish_reason: str | None = None
    evaluation_id: int | None = Field(default=None, foreign_key="evaluations.id", index=True)
    question_id: str | None = None
    layer_index: int | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    status: str = "ok"  # ok|error|parse_failure|truncated
    cache_hit: bool = False
    error_class: str | None = None
    #: The chat messages sent, on a paid call (a cache hit points to it by request_hash).
    request_messages: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True))
    response_text: str | None = None
    #: The first output token's top log-probabilities, [[token, logprob], ...], when the call
    #: asked for them (AlpacaEval's judge reads its preference from them).
    response_logprobs: list[Any] | None = Field(default=None, sa_column=Column(JSONB,
                                                                             nullable=True))
    created_at: datetime = _ts()


class Probe(SQLModel, table=True):
    """A round trip through broker, worker and database (`itas probe`, the worker-kill test).

    ``deliveries`` counts how often a worker started it: above 1 means the broker redelivered.
    """

    __tablename__ = "probes"

    id: str = Field(primary_key=True, max_length=36)
    delay_s: float = 0.0
    deliveries: int = 0
    created_at: datetime = _ts()


class ProbeResult(SQLModel, table=True):
    """Written once per probe when its task completes, whatever the number of deliveries."""

    __tablename__ = "probe_results"

    probe_id: str = Field(primary_key=True, foreign_key="probes.id", max_length=36)
    worker: str
    finished_at: datetime = _ts()


ALL_TABLES = [SearchJob, Question, Evaluation, Answer, BaselineAnswer, LayerOutput, LLMCall,
              Probe, ProbeResult]
