"""A search job whose services stay down past every retry stops `interrupted`, with the
cause, nothing scored and nothing told to Optuna; the next scheduler start resumes it and
it completes from real answers."""

from __future__ import annotations

import psycopg
import pytest

from scheduler.services.ports import free_port
from tests.outages import RedisServer, start_stack
from tests.scheduler.test_search import job_file, trials_of
from tests.services import RunServices

pytestmark = pytest.mark.slow


def _job(services: RunServices, job_id: int) -> tuple[str, str | None]:
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute("SELECT status, error FROM search_jobs WHERE id = %s",
                           (job_id,)).fetchone()
    assert row is not None
    return str(row[0]), row[1]


def _answers(services: RunServices, job_id: int) -> list[tuple[str, float | None]]:
    with psycopg.connect(services.database_url) as conn:
        return [(str(r[0]), r[1]) for r in conn.execute(
            "SELECT a.status, a.score FROM answers a JOIN evaluations e ON e.id = "
            "a.evaluation_id WHERE e.job_id = %s", (job_id,)).fetchall()]


def test_job_interrupted_by_a_dead_cache_is_resumed_by_the_next_scheduler(
    services: RunServices, tmp_path_factory: pytest.TempPathFactory
) -> None:
    down = tmp_path_factory.mktemp("down")
    dead_cache = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    broken = start_stack(down, {**services.env(), "ITAS_CACHE_REDIS_URL": dead_cache},
                         latency_scale=0.0, workers=1, worker_env={"ITAS_LAYER_RETRIES": "1"})
    path = job_file(down, name="interrupted", questions=4, final_questions=4,
                    final_top_k=1, llms=["sim-small", "sim-medium"], trials=2,
                    parallel_trials=1, rungs=[1.0])
    try:
        submitted = broken.itas("submit", str(path))
        assert submitted.returncode == 0, submitted.stderr
        job_id = int(submitted.stdout.strip().splitlines()[-1])
        first = broken.itas("scheduler", "--once", "--job", str(job_id), "--lease", "3",
                            "--stale", "60", "--poll", "0.2")
        assert first.returncode == 0, first.stderr[-3000:]
        status, error = _job(services, job_id)
        assert status == "interrupted", (status, error, first.stderr[-2000:])
        assert error and ("CacheUnavailable" in error or "RateLimiterUnavailable" in error)
        # No score came from the outage, and Optuna was told nothing.
        answers = _answers(services, job_id)
        assert answers and all(s == "failed" and score is None for s, score in answers)
        assert trials_of(services, job_id) == []
    finally:
        broken.close()

    up = tmp_path_factory.mktemp("up")
    cache = RedisServer(up / "cache")
    fixed = start_stack(up, {**services.env(), "ITAS_CACHE_REDIS_URL": cache.url},
                        latency_scale=0.0, workers=1)
    try:
        second = fixed.itas("scheduler", "--once", "--job", str(job_id), "--lease", "3",
                            "--stale", "60", "--poll", "0.2")
        assert second.returncode == 0, second.stderr[-3000:]
        assert "resumed" in second.stderr
        assert _job(services, job_id)[0] == "completed"
        trials = trials_of(services, job_id)
        assert len(trials) == 2 and all(t.state.name == "COMPLETE" for t in trials)
        fresh = [a for a in _answers(services, job_id) if a[0] != "failed"]
        assert fresh and all(s in ("ok", "no_answer") and score is not None
                             for s, score in fresh)
    finally:
        fixed.close()
        cache.stop()
