"""Per-process resources of a worker: settings, registry, Redis, cache, limiter, the call
threads. Built on first use in each pool process and dropped after a fork, so no two
processes share a socket. (HTTP connections are kept per call thread:
worker/clients/transport.py.)

Thread-safe: under the ``threads`` pool (the default, see worker/concurrency.py) every task
thread of the process shares one Runtime, built once under a lock; what it holds is safe to
share between threads (redis-py's connection pool, SQLAlchemy's engine and pool, the limiter,
the cache, a ThreadPoolExecutor)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis

from models.settings import Settings, load_settings, resolve_service_urls
from worker.cache import ResponseCache

#: Seconds a worker waits on the cache's and limiter's Redis before calling it unavailable.
REDIS_SOCKET_TIMEOUT_S = 10.0

@dataclass
class Runtime:
    settings: Settings
    database_url: str
    redis: redis.Redis
    cache: ResponseCache
    pool: ThreadPoolExecutor
    registry: Any
    send: Any


_lock = threading.Lock()
_runtime: Runtime | None = None
_pid: int | None = None


def runtime() -> Runtime:
    global _runtime, _pid
    with _lock:
        if _runtime is None or _pid != os.getpid():
            _runtime = _build()
            _pid = os.getpid()
        return _runtime


def reset_after_fork() -> None:
    global _runtime
    with _lock:
        _runtime = None


def _build() -> Runtime:
    from models.endpoints import load_registry
    from worker.concurrency import (
        REDIS_CONNECTION_WAIT_S,
        REDIS_CONNECTIONS,
        call_threads,
        open_files_needed,
        raise_open_files_limit,
    )
    from worker.sending import make_sender

    settings = load_settings()
    urls = resolve_service_urls(settings)
    # Socket timeouts: a stalled Redis (not only a dead one) fails the call closed within
    # seconds, as a retryable error, instead of hanging a layer task until its time limit.
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        urls.cache_redis_url, max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_CONNECTION_WAIT_S, health_check_interval=30,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S, socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S))
    registry = load_registry(settings.endpoints_file, simulator_url=settings.simulator_url)
    threads = call_threads(registry)
    raise_open_files_limit(open_files_needed(threads))
    return Runtime(
        settings=settings,
        database_url=urls.database_url,
        redis=client,
        cache=ResponseCache(client, settings.redis_prefix, urls.database_url),
        # Calls of every layer this process runs share it; LLM calls wait on the network, so
        # it is far above the core count, and the limiter, not this pool, keeps us inside the
        # providers' limits.
        pool=ThreadPoolExecutor(threads, thread_name_prefix="itas-call"),
        registry=registry,
        send=make_sender(client, settings.redis_prefix),
    )
