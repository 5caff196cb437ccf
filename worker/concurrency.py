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

Code runs (a code benchmark's scoring, executed unit tests) take no thread of either pool for
long: they run from the layer task's own thread, after the layer's calls, through a small pool of
their own (worker/code_runs.py) whose runs the sandbox bounds to its slots, one per core. A
layer task running code holds one task thread, never a call thread, so the calls of other
layers go on meanwhile.

With ``threads``, Celery enforces no task time limit; a layer bounds itself instead
(``worker.layer.run_layer_calls``'s ``timeout_s``), so the visibility timeout still exceeds
the longest task. One process uses one core for the Python parts: on a machine with many cores,
run one worker per core or two (compose: ``--scale worker=N``).
"""

from __future__ import annotations

import logging
import os
import resource
from typing import Any

from models.errors import ConfigError

log = logging.getLogger(__name__)

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


#: Files a worker process opens besides its provider connections and its Redis pool:
#: PostgreSQL connections, the broker's, Celery's, logs, and the interpreter's own.
OTHER_FILES = 256


def open_files_needed(threads: int) -> int:
    """Files a worker process with ``threads`` call threads may hold open at once: each thread
    keeps connections to a few endpoints (worker/clients/transport.KEPT_PER_THREAD)."""
    from worker.clients.transport import KEPT_PER_THREAD

    return threads * KEPT_PER_THREAD + REDIS_CONNECTIONS + OTHER_FILES


def raise_open_files_limit(needed: int) -> int:
    """Raise this process's soft limit on open files to ``needed`` (within the hard limit) and
    return the limit now in force. Many hosts start processes with a soft limit of 1,024, which a
    worker with hundreds of call threads can pass; running out makes every new connection fail
    (EMFILE) in the middle of a run, so the worker asks for what it needs up front and warns,
    naming the setting, when the hard limit does not allow it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        log.warning("this worker may hold %d files open but the hard limit on open files is %d "
                    "(ulimit -Hn; in compose, ulimits.nofile): with that many calls in flight, "
                    "new connections will fail; raise it or set ITAS_CALL_THREADS lower",
                    needed, hard)
    return target
