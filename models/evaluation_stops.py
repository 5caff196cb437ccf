"""Stopping an evaluation, instead of failing it question by question.

Shared by the worker (a setup error) and the scheduler (``itas run`` half sent when the broker
went down, scheduler/evaluations.py), so models/ holds it.

A :class:`~models.errors.SetupError` (a refused key, an unknown model) says that every call
of that LLM would fail the same way. Recorded as a failed call, it would let the technique's
rule carry on and the question be scored from nothing, question after question, each paying
for its other calls. Instead the layer task that meets one marks the evaluation ``stopped`` with
the error (:func:`stop_evaluation`), writes no answer (a failure is never a score), and the
tasks of its other questions stop before any call (:func:`is_stopped`). The scheduler, or
``itas run`` waiting for it, reads the reason (``evaluations.error``) and fails the job or
exits with it.

Both functions are idempotent: several questions of one evaluation may meet the same error
at once, and the first reason written is kept.
"""

from __future__ import annotations

from sqlalchemy import text

from models.db import session_scope


def stop_evaluation(database_url: str, evaluation_id: int, reason: str) -> None:
    """Mark the evaluation ``stopped`` with ``reason`` (kept from the first stop; one that
    already ended, finished or failed, is left as it is).

    ``stopped`` is not ``failed``: a failed evaluation had questions fail for a passing
    reason (a service down past every retry) and its job is resumed; a stopped one cannot run
    as configured, and its job fails for good with the reason."""
    with session_scope(database_url) as session:
        session.execute(text(
            "UPDATE evaluations SET status = 'stopped', error = :r, finished_at = now() "
            "WHERE id = :e AND status = 'running'"),
            {"e": evaluation_id, "r": reason[:2000]})


def is_stopped(status: str | None) -> bool:
    """Whether an evaluation of this status must make no more calls."""
    return status == "stopped"
