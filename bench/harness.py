"""A fresh, complete itas stack for a benchmark: its own database and Redis namespace (so no
earlier cache serves it), the simulator, and worker processes. Loopback only; everything it
starts is stopped, and its database and Redis keys dropped, at the end."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis
import yaml
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.settings import load_settings, resolve_service_urls  # noqa: E402
from scheduler.processes import ITAS, start_process, stop, wait_http  # noqa: E402
from scheduler.services.ports import free_port  # noqa: E402
from simulator.fleet import DEFAULT_FLEET  # noqa: E402

KEYS = {"ITAS_SIM_KEY_1": "sim-key-1", "ITAS_SIM_KEY_2": "sim-key-2"}


@contextmanager
def fresh_stack(*, latency_scale: float = 1.0, workers: int = 2, threads: int | None = 16,
                fleet_keys: list[dict[str, object]] | None = None,
                fleet_llms: dict[str, dict[str, object]] | None = None,
                extra_env: dict[str, str] | None = None
                ) -> Iterator[tuple[dict[str, str], Path]]:
    """Yield (environment for `itas` commands, work folder). ``fleet_keys`` replaces the
    simulator's keys; ``extra_env`` is added for every process (workers included).
    ``threads`` None: each worker runs with `itas worker`'s defaults. The workers' pids are
    in the environment's ``ITAS_BENCH_WORKER_PIDS`` (comma-separated; not read by itas)."""
    urls = resolve_service_urls(load_settings())
    db_name = f"itas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(urls.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    work = Path(tempfile.mkdtemp(prefix="itas-bench-"))
    fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
    fleet["latency_scale"] = latency_scale
    if fleet_keys is not None:
        fleet["keys"] = fleet_keys
    for name, changes in (fleet_llms or {}).items():  # e.g. {"sim-tiny": {"latency": ...}}
        fleet["llms"][name].update(changes)
    (work / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    port = free_port()
    env = {**os.environ, **KEYS, "ITAS_HOME": str(work),
           "ITAS_DATABASE_URL": make_url(urls.database_url).set(database=db_name)
           .render_as_string(hide_password=False),
           "ITAS_REDIS_URL": urls.redis_url, "ITAS_REDIS_PREFIX": f"itas-bench-{db_name}:",
           "ITAS_SIMULATOR_URL": f"http://127.0.0.1:{port}", **(extra_env or {})}
    processes = [start_process([sys.executable, "-m", "simulator", "--port", str(port),
                                "--fleet", str(work / "fleet.yaml")], work / "sim.log", env)]
    try:
        wait_http(f"http://127.0.0.1:{port}/health", processes[0], work / "sim.log")
        sizing = [] if threads is None else ["--pool", "threads", "--concurrency", str(threads)]
        for i in range(workers):
            processes.append(start_process(
                [*ITAS, "worker", *sizing, "--hostname", f"bench{i}@%h"],
                work / f"worker{i}.log", env))
        env["ITAS_BENCH_WORKER_PIDS"] = ",".join(str(p.pid) for p in processes[1:])
        for i in range(workers):
            wait_log(work / f"worker{i}.log", "ready.", processes[i + 1])
        yield env, work
    finally:
        for process in processes:
            stop(process)
        with psycopg.connect(urls.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{db_name}" WITH (FORCE)')
        drop_keys(urls.redis_url, env["ITAS_REDIS_PREFIX"])


def drop_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix``: a stack's cache, broker queues and limiter state
    (a search-demo run leaves about 3,000 of them)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def wait_log(log: Path, text: str, process: object, timeout_s: float = 60) -> None:
    """Wait until ``text`` shows in ``log`` (a worker's "ready."), so timings start with
    every process up."""
    import time

    deadline = time.monotonic() + timeout_s
    while text not in (log.read_text(errors="replace") if log.exists() else ""):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log} never said {text!r}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def service_urls() -> tuple[str, str] | None:
    """(database URL, Redis URL): the environment's, else the embedded services'; None (after
    printing what to run) when there are neither."""
    from models.errors import ServiceUnavailable

    try:
        urls = resolve_service_urls(load_settings())
    except ServiceUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    return urls.database_url, urls.redis_url
