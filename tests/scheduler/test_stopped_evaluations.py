"""An evaluation a worker stopped (a refused key, an unknown model: models/evaluation_stops.py)
stops whoever waits for it with its reason: the scheduler's wait (the job then fails with it,
shown by `itas status`) and `itas run`'s. Real PostgreSQL."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from models.db import get_engine
from models.errors import ConfigError
from models.evaluation_stops import stop_evaluation
from scheduler.evaluations import raise_if_stopped, wait_for
from scheduler.search_context import SearchContext, tick
from tests.services import RunServices

REASON = ("AuthenticationFailed: endpoint simulator: HTTP 401, the API key in ITAS_SIM_KEY_1 "
          "was refused")


@pytest.fixture(autouse=True)
def schema(services: RunServices) -> None:
    get_engine(services.database_url)  # creates itas's tables, as any itas process does


def evaluation(conn: psycopg.Connection, job_id: int | None = None) -> int:
    row = conn.execute(
        "INSERT INTO evaluations (job_id, benchmark, split, architecture, architecture_hash, "
        "question_ids, status) VALUES (%s, 'synth-math', 'search', '{}', 'h', %s, 'running') "
        "RETURNING id", (job_id, json.dumps(["q1", "q2"]))).fetchone()
    assert row is not None
    return int(row[0])


def test_the_first_reason_is_kept_and_stops_the_wait(services: RunServices) -> None:
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        running, stopped = evaluation(conn), evaluation(conn)
    raise_if_stopped(services.database_url, [running, stopped])  # nothing stopped yet
    stop_evaluation(services.database_url, stopped, REASON)
    stop_evaluation(services.database_url, stopped, "ModelNotFound: a later question")
    with pytest.raises(ConfigError, match=f"evaluation {stopped} stopped: {REASON}"):
        raise_if_stopped(services.database_url, [running, stopped])
    with pytest.raises(ConfigError, match="HTTP 401"):  # `itas run` stops waiting at once
        wait_for(services.database_url, stopped, 2, timeout_s=30)


def test_the_scheduler_stops_a_job_on_a_stopped_evaluation(services: RunServices) -> None:
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO search_jobs (name, study_name, spec, status, lease_owner, "
            "lease_expires_at, created_at, updated_at) VALUES ('stopped', %s, '{}', 'running', "
            "'me', now() + interval '1 minute', now(), now()) RETURNING id",
            (f"itas-stopped-{uuid.uuid4().hex[:8]}",)).fetchone()
        assert row is not None
        job_id = int(row[0])
        evaluation_id = evaluation(conn, job_id)
    ctx = SearchContext(services.database_url, job_id, "me", None, None, None,  # type: ignore[arg-type]
                        [], 60.0, 0.01, 300.0)
    tick(ctx, [evaluation_id])  # running: the wait goes on
    stop_evaluation(services.database_url, evaluation_id, REASON)
    with pytest.raises(ConfigError, match="ITAS_SIM_KEY_1 was refused"):
        tick(ctx, [evaluation_id])
