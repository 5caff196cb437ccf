"""Data-access functions, keyword-only, each one idempotent where a task calls it."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from models.tables import Probe, ProbeResult


def create_probe(session: Session, *, probe_id: str, delay_s: float) -> Probe:
    probe = Probe(id=probe_id, delay_s=delay_s)
    session.add(probe)
    session.flush()
    return probe


def get_probe(session: Session, *, probe_id: str) -> Probe | None:
    return session.get(Probe, probe_id)


def count_delivery(session: Session, *, probe_id: str) -> int:
    """Atomically count one more delivery of a probe; returns the new count (0: no such probe)."""
    result = session.execute(
        update(Probe)
        .where(col(Probe.id) == probe_id)
        .values(deliveries=col(Probe.deliveries) + 1)
        .returning(col(Probe.deliveries))
    )
    row = result.first()
    return int(row[0]) if row else 0


def record_probe_result(session: Session, *, probe_id: str, worker: str) -> bool:
    """Write the probe's result once. Returns False when it was already written (a repeat)."""
    inserted = session.execute(
        insert(ProbeResult)
        .values(probe_id=probe_id, worker=worker)
        .on_conflict_do_nothing(index_elements=["probe_id"])
        .returning(col(ProbeResult.probe_id))
    ).first()
    return inserted is not None


def count_probe_results(session: Session, *, probe_ids: list[str]) -> int:
    stmt = select(func.count()).select_from(ProbeResult).where(
        col(ProbeResult.probe_id).in_(probe_ids)
    )
    return int(session.execute(stmt).scalar_one())
