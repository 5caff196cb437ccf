"""The Celery application and every Celery setting of itas, in one place.

Reliability, and why each setting is what it is:

- ``task_acks_late``: a message is acknowledged only after its task finished, so a worker that
  dies mid-task leaves it on the broker. Tasks are written to be idempotent for this reason.
- ``task_reject_on_worker_lost``: when a pool process is killed, its message goes back to the
  queue at once instead of being acknowledged as failed.
- ``worker_prefetch_multiplier = 1``: a worker holds one message per pool slot; long LLM layers
  are not parked behind a busy process while others sit idle.
- the ``threads`` pool, sized from the endpoints registry, is what ``itas worker`` runs by
  default: layer tasks wait on providers, so a thread per task keeps calls in flight up to the
  limiter's limits (worker/concurrency.py says why threads and not the alternatives).
- ``visibility_timeout`` above ``task_time_limit``: the Redis broker redelivers an unacked
  message after the visibility timeout (that is how a dead *worker's* work comes back); were it
  shorter than a task, running tasks would be delivered twice.
- explicit queues with ``task_create_missing_queues = False``: a typo in a route is an error,
  not a queue nobody consumes.
- events on, so Flower shows tasks live; tasks carry ids only, so nothing secret shows there,
  and their arguments show with names (``worker.task_labels``).
- no result backend: PostgreSQL holds every result; the broker is only a hint.
"""

from __future__ import annotations

import logging

from celery import Celery
from kombu.entity import Exchange, Queue

from models.settings import Settings, load_settings, resolve_service_urls

# httpx logs every request at INFO: at a provider's limits that is hundreds of lines a second
# and a measurable share of a worker's CPU (bench/pipeline_throughput.py), for nothing a failed
# call does not log itself (worker/clients retries and errors are logged there).
logging.getLogger("httpx").setLevel(logging.WARNING)

#: LLM work: layer tasks of evaluations.
LAYERS_QUEUE = "itas.layers"
#: Small bookkeeping tasks: probes, reconciliation helpers.
CONTROL_QUEUE = "itas.control"
QUEUES = (LAYERS_QUEUE, CONTROL_QUEUE)

TASK_ROUTES = {
    "worker.tasks.probe": {"queue": CONTROL_QUEUE},
    "worker.tasks.*": {"queue": LAYERS_QUEUE},
}


def soft_time_limit_s(settings: Settings) -> int:
    """How long a task may run before it is stopped cleanly: the hard limit less a margin."""
    return settings.task_time_limit_s - max(1, min(30, settings.task_time_limit_s // 10))


#: How long a worker's sweep for dead workers' messages may hold its lock (see below).
UNACKED_MUTEX_EXPIRE_S = 30


def celery_config(settings: Settings) -> dict[str, object]:
    """The full Celery configuration for these settings (pure; used by the app and by tests)."""
    urls = resolve_service_urls(settings)
    exchange = Exchange("itas", type="direct")
    return {
        "broker_url": urls.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            # Sweep for a dead worker's messages every interval (kombu's default throttle
            # would make that ten intervals).
            "unacked_restore_interval": settings.unacked_restore_interval_s,
            "unacked_restore_throttle": 1,
            # The sweep runs under a lock in Redis that a worker killed mid-sweep (or a broker
            # restarted mid-sweep) leaves held until it expires: kombu's 300 s stopped every
            # worker from restoring anything for 5 minutes (the worker-kill drill). A sweep
            # takes milliseconds; 30 s covers a slow Redis.
            "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE_S,
            # Namespaces every broker key, so deployments and test runs can share one Redis.
            "global_keyprefix": settings.redis_prefix,
        },
        "task_default_queue": LAYERS_QUEUE,
        "task_queues": [Queue(name, exchange, routing_key=name) for name in QUEUES],
        "task_default_exchange": "itas",
        "task_routes": TASK_ROUTES,
        "task_create_missing_queues": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit_s,
        # The soft limit raises inside the task first, so it can fail cleanly before the kill.
        # Only the prefork pool enforces both; under threads a layer bounds itself by the soft
        # limit (worker/concurrency.py).
        "task_soft_time_limit": soft_time_limit_s(settings),
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
    }


#: The application. Its configuration is a promise, read from the settings on first use, so
#: importing tasks (or this module) needs no configured services.
#: worker.preflight holds no task but a control command (the preflight), which a worker
#: registers by importing it.
app = Celery("itas", include=["worker.tasks", "worker.preflight"],
             amqp="worker.task_labels:LabelledAMQP")
app.add_defaults(lambda: celery_config(load_settings()))
