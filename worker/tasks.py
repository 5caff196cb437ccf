"""Celery tasks. Each task carries ids only and is idempotent: with acks_late, a task whose
worker died runs again, and running it again must change nothing that already happened."""

from __future__ import annotations

import socket
import time

from celery import Task
from celery.signals import worker_process_init

from models.crud import count_delivery, get_probe, record_probe_result
from models.db import dispose_engines, session_scope
from models.settings import load_settings, resolve_service_urls
from worker.celery_app import app


@worker_process_init.connect
def _fresh_pools(**_: object) -> None:
    # A forked pool process must not share the parent's database connections.
    dispose_engines(close=False)


def _database_url() -> str:
    return resolve_service_urls(load_settings()).database_url


@app.task(name="worker.tasks.probe", bind=True)
def probe(self: Task, probe_id: str) -> bool:
    """A round trip through broker, worker and database.

    Counts the delivery, sleeps the probe's ``delay_s`` (a stand-in for a slow LLM layer), then
    writes the probe's result once. Returns False when the result already existed.
    """
    database_url = _database_url()
    with session_scope(database_url) as session:
        if count_delivery(session, probe_id=probe_id) == 0:
            # The scheduler writes the probe before queueing it; none means a stale message.
            return False
        found = get_probe(session, probe_id=probe_id)
        delay_s = found.delay_s if found else 0.0
    if delay_s > 0:
        time.sleep(delay_s)
    worker = getattr(self.request, "hostname", None) or socket.gethostname()
    with session_scope(database_url) as session:
        return record_probe_result(session, probe_id=probe_id, worker=worker)
