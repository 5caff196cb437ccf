"""Sending probe tasks and waiting for their results in PostgreSQL.

The scheduler talks to workers only through task names and ids: it sends
``worker.tasks.probe`` by name and reads the outcome from the database, never from the broker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import col

from models.crud import create_probe
from models.db import session_scope
from models.settings import load_settings, resolve_service_urls
from models.tables import Probe, ProbeResult
from worker.celery_app import CONTROL_QUEUE, app

PROBE_TASK = "worker.tasks.probe"


@dataclass
class ProbeReport:
    completed: int = 0
    redelivered: int = 0
    round_trips_s: list[float] = field(default_factory=list)
    workers: set[str] = field(default_factory=set)


def send_probe(database_url: str, *, delay_s: float = 0.0) -> str:
    """Write a probe row, then queue its task (in that order: a task never finds no row)."""
    probe_id = str(uuid.uuid4())
    with session_scope(database_url) as session:
        create_probe(session, probe_id=probe_id, delay_s=delay_s)
    app.send_task(PROBE_TASK, args=[probe_id], queue=CONTROL_QUEUE)
    return probe_id


def run_probes(*, count: int, delay_s: float, timeout_s: float,
               on_progress: Callable[[int], None] | None = None) -> ProbeReport:
    database_url = resolve_service_urls(load_settings()).database_url
    ids = [send_probe(database_url, delay_s=delay_s) for _ in range(count)]
    deadline = time.monotonic() + timeout_s
    report = ProbeReport()
    while True:
        with session_scope(database_url) as session:
            rows = session.execute(
                select(col(Probe.created_at), col(Probe.deliveries),
                       col(ProbeResult.finished_at), col(ProbeResult.worker))
                .join(ProbeResult, col(ProbeResult.probe_id) == col(Probe.id))
                .where(col(Probe.id).in_(ids))
            ).all()
        if on_progress:
            on_progress(len(rows))
        if len(rows) == count or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    report.completed = len(rows)
    report.redelivered = sum(1 for r in rows if r.deliveries > 1)
    report.round_trips_s = [(r.finished_at - r.created_at).total_seconds() for r in rows]
    report.workers = {r.worker for r in rows}
    return report
