"""Search jobs in PostgreSQL: submitting, and the lease that lets several schedulers run.

A job is held by one scheduler at a time through a lease (``lease_owner``,
``lease_expires_at``) that the holder renews while it works. A scheduler that dies stops
renewing; once the lease expires another scheduler (or the same one restarted) claims the job
and resumes it from what PostgreSQL and the Optuna study hold.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from models.db import session_scope
from models.tables import SearchJob

ACTIVE = ("queued", "running")
#: ``interrupted``: stopped for an infrastructure reason (a service down past every retry);
#: the next scheduler start resumes it (:func:`resume_interrupted`). ``failed`` is for good:
#: the job itself is wrong (a user error).
FINAL = ("completed", "failed", "cancelled", "interrupted")


def submit_job(database_url: str, *, spec: dict[str, Any], name: str) -> int:
    """Store a validated job as queued; nothing runs until a scheduler claims it."""
    with session_scope(database_url) as session:
        job = SearchJob(name=name, study_name=f"itas-{name}-{uuid.uuid4().hex[:8]}", spec=spec)
        session.add(job)
        session.flush()
        assert job.id is not None
        return job.id


def claim_job(database_url: str, *, owner: str, lease_s: float,
              job_id: int | None = None) -> int | None:
    """Take the oldest active job whose lease is free (or already ours); None if there is none.

    ``FOR UPDATE SKIP LOCKED`` keeps two schedulers claiming at once from taking the same job.
    """
    with session_scope(database_url) as session:
        row = session.execute(text(
            "UPDATE search_jobs SET lease_owner = :o, "
            "lease_expires_at = now() + make_interval(secs => :s), updated_at = now(), "
            "status = CASE WHEN status = 'queued' THEN 'running' ELSE status END "
            "WHERE id = (SELECT id FROM search_jobs WHERE status IN ('queued', 'running') "
            "AND (lease_expires_at IS NULL OR lease_expires_at < now() OR lease_owner = :o) "
            "AND (CAST(:j AS integer) IS NULL OR id = :j) "
            "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"),
            {"o": owner, "s": lease_s, "j": job_id}).first()
    return int(row[0]) if row else None


def renew_lease(database_url: str, *, job_id: int, owner: str, lease_s: float) -> bool:
    """Extend our lease; False when it is no longer ours (expired and taken) or the job ended."""
    with session_scope(database_url) as session:
        row = session.execute(text(
            "UPDATE search_jobs SET lease_expires_at = now() + make_interval(secs => :s) "
            "WHERE id = :j AND lease_owner = :o AND status IN ('queued', 'running') "
            "RETURNING id"), {"j": job_id, "o": owner, "s": lease_s}).first()
    return row is not None


def job_status(database_url: str, job_id: int) -> str:
    with session_scope(database_url) as session:
        return str(session.execute(text("SELECT status FROM search_jobs WHERE id = :j"),
                                   {"j": job_id}).scalar_one())


def finish_job(database_url: str, *, job_id: int, status: str, error: str | None = None) -> None:
    """Set a final status (not over a cancellation) and release the lease."""
    assert status in FINAL
    with session_scope(database_url) as session:
        session.execute(text(
            "UPDATE search_jobs SET status = CASE WHEN status = 'cancelled' THEN status "
            "ELSE :st END, error = :e, lease_owner = NULL, lease_expires_at = NULL, "
            "updated_at = now() WHERE id = :j"), {"j": job_id, "st": status, "e": error})


def resume_interrupted(database_url: str, *, job_id: int | None = None) -> list[int]:
    """Make interrupted jobs runnable again (a scheduler calls this when it starts); their
    ids. What they had done is in PostgreSQL and the study, so they go on from there."""
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "UPDATE search_jobs SET status = 'running', lease_owner = NULL, "
            "lease_expires_at = NULL, updated_at = now() WHERE status = 'interrupted' "
            "AND (CAST(:j AS integer) IS NULL OR id = :j) RETURNING id"), {"j": job_id}).all()
    return [int(r[0]) for r in rows]


def load_job(database_url: str, job_id: int) -> SearchJob:
    with session_scope(database_url) as session:
        job = session.get(SearchJob, job_id)
        if job is None:
            raise LookupError(f"search job {job_id} does not exist")
        session.expunge(job)
        return job


def active_jobs(database_url: str, *, job_id: int | None = None) -> int:
    """How many jobs are queued or running (held by any scheduler, live or dead)."""
    with session_scope(database_url) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM search_jobs WHERE status IN ('queued', 'running') "
            "AND (CAST(:j AS integer) IS NULL OR id = :j)"), {"j": job_id}).scalar_one())
