"""A task whose worker dies mid-way is delivered again, and its row is still written once."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from models.db import session_scope
from models.tables import Probe, ProbeResult
from scheduler.probes import send_probe
from tests.workers import WorkerPool

pytestmark = pytest.mark.slow

# Short broker timings so a dead worker's message comes back within seconds. The order matters
# as in production: a task's time limit stays below the visibility timeout.
FAST_REDELIVERY = {
    "ITAS_TASK_TIME_LIMIT_S": "8",
    "ITAS_VISIBILITY_TIMEOUT_S": "10",
    "ITAS_UNACKED_RESTORE_INTERVAL_S": "1",
}


def _probe_state(database_url: str, probe_id: str) -> tuple[int, int]:
    """(deliveries, result rows) of one probe."""
    with session_scope(database_url) as session:
        deliveries = session.execute(
            select(Probe.deliveries).where(Probe.id == probe_id)  # type: ignore[arg-type]
        ).scalar_one()
        results = session.execute(
            select(func.count()).select_from(ProbeResult)
            .where(ProbeResult.probe_id == probe_id)  # type: ignore[arg-type]
        ).scalar_one()
    return int(deliveries), int(results)


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_probe_round_trip_through_a_real_worker(workers: WorkerPool, database_url: str) -> None:
    workers.start(concurrency=2)
    ids = [send_probe(database_url) for _ in range(5)]
    _wait_for(lambda: all(_probe_state(database_url, i)[1] == 1 for i in ids), 30,
              "five probe results")
    assert all(_probe_state(database_url, i) == (1, 1) for i in ids)


def test_pool_process_killed_mid_task_is_requeued_and_written_once(
    workers: WorkerPool, database_url: str
) -> None:
    # Pool processes are prefork's (the default pool, threads, has none to lose).
    worker = workers.start(concurrency=1, extra_env=FAST_REDELIVERY, pool="prefork")
    probe_id = send_probe(database_url, delay_s=3.0)
    _wait_for(lambda: _probe_state(database_url, probe_id)[0] == 1, 20, "first delivery")

    (child,) = worker.pool_children()
    os.kill(child.pid, signal.SIGKILL)  # the pool process dies in the middle of the task

    # reject_on_worker_lost puts the message back at once; the worker's new pool process
    # runs it again and finishes.
    _wait_for(lambda: _probe_state(database_url, probe_id)[1] == 1, 30, "the result row")
    time.sleep(1.0)  # any third, spurious delivery would show up by now
    assert _probe_state(database_url, probe_id) == (2, 1)


def test_worker_killed_mid_task_is_redelivered_to_another_and_written_once(
    workers: WorkerPool, database_url: str
) -> None:
    first = workers.start(concurrency=1, extra_env=FAST_REDELIVERY)
    probe_id = send_probe(database_url, delay_s=4.0)
    _wait_for(lambda: _probe_state(database_url, probe_id)[0] == 1, 20, "first delivery")

    first.kill_everything()  # the whole worker, pool and all, as when its machine dies
    assert _probe_state(database_url, probe_id) == (1, 0)

    # The message stayed unacknowledged on the broker (acks_late); once its visibility
    # timeout passes, a surviving worker takes it.
    workers.start(concurrency=1, extra_env=FAST_REDELIVERY)
    _wait_for(lambda: _probe_state(database_url, probe_id)[1] == 1, 40, "the result row")
    time.sleep(1.0)
    assert _probe_state(database_url, probe_id) == (2, 1)


def test_a_sweep_lock_left_by_a_dead_worker_holds_redelivery_back_seconds_not_minutes(
    workers: WorkerPool, database_url: str
) -> None:
    """Workers sweep the broker for dead workers' messages under a lock in Redis; a worker killed
    mid-sweep (or a broker restarted mid-sweep) leaves it held until it expires. kombu's 300 s
    stopped every redelivery for 5 minutes in the worker-kill drill."""
    from worker.celery_app import UNACKED_MUTEX_EXPIRE_S, app

    first = workers.start(concurrency=1, extra_env=FAST_REDELIVERY)
    probe_id = send_probe(database_url, delay_s=4.0)
    _wait_for(lambda: _probe_state(database_url, probe_id)[0] == 1, 20, "first delivery")
    first.kill_everything()
    # What the dead worker would leave had it died in its sweep: the lock, with the expiry the
    # transport gives it.
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert channel.unacked_mutex_expire == UNACKED_MUTEX_EXPIRE_S
        channel.client.set(channel.unacked_mutex_key, "a-dead-worker",
                           px=int(channel.unacked_mutex_expire * 1000))

    workers.start(concurrency=1, extra_env=FAST_REDELIVERY)
    _wait_for(lambda: _probe_state(database_url, probe_id)[1] == 1,
              10 + UNACKED_MUTEX_EXPIRE_S + 20, "the result row")
    assert _probe_state(database_url, probe_id) == (2, 1)
