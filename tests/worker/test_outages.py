"""A service down mid-evaluation is retried, never scored: one test per mapped error class.

Each test runs `itas run` on real worker processes against the simulator (with latency, so
the run is still going when the fault strikes), takes one service down for several seconds,
brings it back, and checks that every question was scored from an answer the architecture
gave: status ``ok``, a score, no ``failed`` answer, and the worker's log shows the mapped
error it retried. None of these services is the machine's shared one.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import text

from models.db import dispose_engines, session_scope
from tests.outages import PrivatePostgres, RedisServer, Stack, fresh_architecture, start_stack
from tests.services import RunServices

pytestmark = pytest.mark.slow

#: Enough questions that the run is still going when the fault strikes, on a loaded machine.
QUESTIONS = 30


def _finish(run, stack: Stack) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, f"itas run failed: {err[-2000:]}\n{stack.worker_logs()[-4000:]}"
    return dict(json.loads(out.strip().splitlines()[-1]))


def _answers(database_url: str, evaluation_id: int) -> list[tuple[str, float | None, str]]:
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "SELECT question_id, score, status FROM answers WHERE evaluation_id = :e"),
            {"e": evaluation_id}).all()
    return [(str(r[0]), r[1], str(r[2])) for r in rows]


def _scored_from_answers(database_url: str, summary: dict[str, object]) -> None:
    answers = _answers(database_url, int(summary["evaluation_id"]))  # type: ignore[call-overload]
    assert len(answers) == QUESTIONS
    assert all(status == "ok" and score is not None for _, score, status in answers), answers
    assert summary["failed_questions"] == 0 and summary["provider_calls"] > 0  # type: ignore[operator]


def _paid_twice(database_url: str, evaluation_id: int) -> int:
    """Requests of the evaluation that were paid for more than once."""
    with session_scope(database_url) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM (SELECT request_hash FROM llm_calls WHERE evaluation_id = :e "
            "AND NOT cache_hit AND status <> 'error' GROUP BY request_hash "
            "HAVING count(*) > 1) d"), {"e": evaluation_id}).scalar_one())


def _wait_until_started(stack: Stack, database_url: str, *, calls: int = 3) -> None:
    """Until the run has made a few calls (so the fault strikes mid-run)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(database_url) as session:
            made = session.execute(text("SELECT count(*) FROM llm_calls")).scalar_one()
        if made >= calls:
            return
        time.sleep(0.2)
    raise AssertionError(f"the run made no calls: {stack.worker_logs()[-3000:]}")


def _wait_for_evaluations(database_url: str, *, after: int, name: str, count: int) -> None:
    """Until ``count`` evaluations of architecture ``name`` newer than id ``after`` exist."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope(database_url) as session:
            queued = session.execute(text(
                "SELECT count(*) FROM evaluations WHERE id > :a AND architecture->>'name' = :n"),
                {"a": after, "n": name}).scalar_one()
        if queued >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} runs of {name!r} were not queued within 120 s")


def _calls_so_far(database_url: str) -> int:
    with session_scope(database_url) as session:
        return int(session.execute(text("SELECT count(*) FROM llm_calls")).scalar_one())


def test_cache_redis_flushed_and_down_mid_run(services: RunServices, tmp_path: Path) -> None:
    cache = RedisServer(tmp_path / "cache")
    stack = start_stack(tmp_path, {**services.env(), "ITAS_CACHE_REDIS_URL": cache.url},
                        latency_scale=1.0)
    try:
        run = stack.start_run(str(fresh_architecture(tmp_path / "a.json")), "--benchmark",
                              "synth-math", "--limit", str(QUESTIONS), "--split", "test")
        before = _calls_so_far(services.database_url)
        _wait_until_started(stack, services.database_url, calls=before + 3)
        cache.stop()  # down: the cache and the limiter fail closed
        time.sleep(6)
        cache.start()  # back, empty (the durable level in PostgreSQL still has what was paid)
        summary = _finish(run, stack)
        _scored_from_answers(services.database_url, summary)
        assert _paid_twice(services.database_url, int(summary["evaluation_id"])) == 0  # type: ignore[call-overload]
        logs = stack.worker_logs()
        assert "CacheUnavailable" in logs or "RateLimiterUnavailable" in logs, logs[-3000:]
    finally:
        stack.close()
        cache.stop()


def test_postgres_restarted_mid_run(services: RunServices, tmp_path: Path) -> None:
    postgres = PrivatePostgres(tmp_path / "pg")
    cache = RedisServer(tmp_path / "cache")
    env = {**services.env(), "ITAS_DATABASE_URL": postgres.url,
           "ITAS_CACHE_REDIS_URL": cache.url}
    stack = start_stack(tmp_path, env, latency_scale=1.0)
    try:
        run = stack.start_run(str(fresh_architecture(tmp_path / "a.json")), "--benchmark",
                              "synth-math", "--limit", str(QUESTIONS), "--split", "test")
        _wait_until_started(stack, postgres.url)
        dispose_engines()  # the test's own connections, before the server goes away
        postgres.stop()
        time.sleep(6)
        postgres.start()
        summary = _finish(run, stack)
        _scored_from_answers(postgres.url, summary)
        assert _paid_twice(postgres.url, int(summary["evaluation_id"])) == 0  # type: ignore[call-overload]
        assert "DatabaseUnavailable" in stack.worker_logs()
    finally:
        stack.close()
        cache.stop()
        dispose_engines()
        postgres.stop()


def test_broker_restarted_mid_run(services: RunServices, tmp_path: Path) -> None:
    broker = RedisServer(tmp_path / "broker", aof=True)  # as compose runs it: AOF on
    cache = RedisServer(tmp_path / "cache")
    env = {**services.env(), "ITAS_BROKER_URL": broker.url, "ITAS_CACHE_REDIS_URL": cache.url,
           # a message held by a task that lost its broker comes back within seconds
           "ITAS_TASK_TIME_LIMIT_S": "20", "ITAS_VISIBILITY_TIMEOUT_S": "25",
           "ITAS_UNACKED_RESTORE_INTERVAL_S": "1"}
    stack = start_stack(tmp_path, env, latency_scale=1.0)
    try:
        run = stack.start_run(str(fresh_architecture(tmp_path / "a.json")), "--benchmark",
                              "synth-math", "--limit", str(QUESTIONS), "--split", "test")
        before = _calls_so_far(services.database_url)
        _wait_until_started(stack, services.database_url, calls=before + 3)
        broker.stop()
        time.sleep(6)
        broker.start()
        summary = _finish(run, stack)
        _scored_from_answers(services.database_url, summary)
        assert _paid_twice(services.database_url, int(summary["evaluation_id"])) == 0  # type: ignore[call-overload]
        assert "Connection to broker lost" in stack.worker_logs()  # it struck mid-run
    finally:
        stack.close()
        cache.stop()
        broker.stop()


def test_single_flight_leader_killed_is_taken_over_within_an_endpoint_timeout(
    services: RunServices, tmp_path: Path
) -> None:
    """Two evaluations ask the same call at once on two workers; the worker making it is
    killed; the other takes the call over once the dead leader's lease (about the endpoint's
    timeout, 6 s here) ends, and both questions are scored (the killed worker's once the
    broker gives its message back)."""
    cache = RedisServer(tmp_path / "cache")
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text(_endpoints_with_timeout(6.0))
    env = {**services.env(), "ITAS_CACHE_REDIS_URL": cache.url,
           "ITAS_ENDPOINTS_FILE": str(endpoints),
           "ITAS_TASK_TIME_LIMIT_S": "20", "ITAS_VISIBILITY_TIMEOUT_S": "25",
           "ITAS_UNACKED_RESTORE_INTERVAL_S": "1"}
    # sim-large at 4x latency: a call of a few seconds, long enough to kill its maker.
    stack = start_stack(tmp_path, env, latency_scale=4.0)
    try:
        arch = tmp_path / "one.json"
        arch.write_text(json.dumps({"name": "one call", "layers": [[{
            "type": "generator", "model": "sim-large", "model_type": "OpenAI_API",
            "temperature": round(0.5 + os.getpid() % 1000 / 3000, 6), "max_tokens": 256,
            "samples": 1}]]}))
        args = (str(arch), "--benchmark", "synth-math", "--limit", "1", "--split", "test")
        with session_scope(services.database_url) as session:
            before = session.execute(text("SELECT coalesce(max(id), 0) FROM evaluations"))\
                .scalar_one()
        runs = [stack.start_run(*args), stack.start_run(*args)]
        # Past both preflights (whose probe calls the simulator from a worker's main process):
        # the connection found next is the run's call.
        _wait_for_evaluations(services.database_url, after=before, name="one call", count=2)
        leader = _process_calling(stack, stack.env["ITAS_SIMULATOR_URL"])
        killed_at = time.monotonic()
        os.killpg(leader, signal.SIGKILL)  # the leader's whole worker: a machine that died
        first_done = None
        while time.monotonic() - killed_at < 180:
            finished = [r.poll() is not None for r in runs]
            # Both may finish within one poll: the first is done by then all the same.
            if first_done is None and any(finished):
                first_done = time.monotonic() - killed_at
            if all(finished):
                break
            time.sleep(0.1)
        summaries = [_finish(r, stack) for r in runs]
        for summary in summaries:
            answers = _answers(services.database_url, int(summary["evaluation_id"]))  # type: ignore[call-overload]
            assert [a[2] for a in answers] == ["ok"] and answers[0][1] is not None
        # The survivor: lease 6 s + margin, plus the call itself; far below the ten minutes
        # a dead leader's lock once held it.
        assert first_done is not None and first_done < 40, first_done
        assert "SharedCallTimeout" not in stack.worker_logs()
    finally:
        stack.close()
        cache.stop()


def _process_calling(stack: Stack, simulator_url: str) -> int:
    """The worker (its process group) with a connection open to the simulator."""
    port = int(simulator_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for worker in stack.workers.started:
            processes = [psutil.Process(worker.process.pid), *worker.pool_children()]
            for process in processes:
                try:
                    connections = process.net_connections(kind="tcp")
                except psutil.Error:
                    continue
                if any(c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"
                       for c in connections):
                    return int(worker.process.pid)
        time.sleep(0.05)
    raise AssertionError("no worker process called the simulator")


def _endpoints_with_timeout(timeout_s: float) -> str:
    from importlib import resources

    import yaml

    from models.endpoints import DEFAULT_REGISTRY

    registry = yaml.safe_load(resources.files("models").joinpath(DEFAULT_REGISTRY).read_text())
    for endpoint in registry["endpoints"].values():
        endpoint["timeout_s"] = timeout_s
    return str(yaml.safe_dump(registry))
