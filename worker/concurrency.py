"""How much one worker process runs at once: the one place where that is decided.

Layer tasks are latency-bound: a task spends almost all of its time waiting for providers
(seconds to tens of seconds a call), and its own CPU work (prompts, parsing, a few Redis and
PostgreSQL round trips) is milliseconds. So a worker runs them in Celery's ``threads`` pool,
one thread per task, and sizes that pool from the endpoints registry: as many threads as the
limiter lets calls be in flight over every endpoint and key
(:meth:`models.endpoint_types.Registry.in_flight_capacity`). Then the worker is never what
bounds the calls in flight; the limiter, shared by every worker, keeps to the providers' limits.

Why threads, and not the alternatives:

- ``prefork`` (Celery's default) holds a whole process per waiting task: calls in flight are
  bounded by processes x calls per layer, about 2 x 5 on two cores, a few percent of an
  endpoint's limits at real latencies (issue 12). Hundreds of processes would cost hundreds of
  interpreters' memory to wait on sockets. It stays available (``itas worker --pool prefork``)
  for CPU-heavy work and Celery's enforced time limits.
- ``gevent``/``eventlet`` would need monkey-patching of every blocking library we use
  (psycopg, redis-py, httpx, the Lua limiter's sleeps) and a dependency of their own; the
  code is already thread-safe (the per-process runtime, the cache, the limiter, the engine's
  connection pool), and the GIL is released while a thread waits on a socket.
- tasks that do not hold a slot while they wait (callbacks, async tasks) would rewrite the
  layer task and its idempotency story, for no gain at these call rates.

With ``threads``, Celery enforces no task time limit; a layer bounds itself instead
(``worker.layer.run_layer_calls``'s ``timeout_s``), so the visibility timeout still exceeds
the longest task. One process uses one core for the Python parts: on a machine with many cores,
run one worker per core or two (compose: ``--scale worker=N``).
"""

from __future__ import annotations

import os
from typing import Any

from models.errors import ConfigError

#: At least this many threads, whatever the registry says (a registry of one slow local model
#: still wants its bookkeeping tasks and a probe to get through).
MIN_THREADS = 8
#: At most this many: each waiting thread costs a stack and some memory (measured by
#: bench/worker_memory.py), and beyond this a second worker process is the better way up.
MAX_THREADS = 512


#: Redis connections one worker process opens at most. Hundreds of threads share them: a thread
#: holds one only for a command (a cache read, the limiter's script), and waits for a free one
#: rather than fail (redis-py's plain pool raises past its limit, 100 by default).
REDIS_CONNECTIONS = 64
#: How long a thread waits for a free Redis connection before that counts as Redis not
#: answering (the limiter then fails closed, and the layer is retried).
REDIS_CONNECTION_WAIT_S = 30.0


def task_threads(registry: Any) -> int:
    """Layer tasks one worker process runs at once: the registry's in-flight capacity, within
    [MIN_THREADS, MAX_THREADS]. Each task needs at least one call slot, so this many tasks can
    keep every slot of every endpoint busy even when each layer makes a single call."""
    return max(MIN_THREADS, min(MAX_THREADS, int(registry.in_flight_capacity())))


def call_threads(registry: Any) -> int:
    """LLM calls one worker process makes at once (the calls of all its running layers share
    one pool): ``ITAS_CALL_THREADS`` if set, else the same size as :func:`task_threads`, so
    the pool never binds before the limiter does."""
    configured = os.environ.get("ITAS_CALL_THREADS", "").strip()
    if not configured:
        return task_threads(registry)
    if not configured.isdigit() or int(configured) < 1:
        raise ConfigError(f"ITAS_CALL_THREADS: expected a positive integer, got {configured!r}")
    return int(configured)
