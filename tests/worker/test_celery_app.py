"""What a user of the Celery app notices: routing mistakes are errors, keys stay in their
namespace, tasks carry nothing but ids."""

from __future__ import annotations

import json

import pytest
import redis
from celery.exceptions import QueueNotFound

from scheduler.probes import send_probe
from tests.services import RunServices
from worker.celery_app import app


def test_a_misspelt_queue_is_an_error_not_a_new_queue(services: RunServices) -> None:
    with pytest.raises(QueueNotFound):
        app.send_task("worker.tasks.probe", args=["x"], queue="itas.controll")


def test_queued_messages_live_under_the_prefix_and_carry_only_ids(
    services: RunServices, database_url: str
) -> None:
    probe_id = send_probe(database_url)  # no worker runs in this test: the message waits
    client = redis.Redis.from_url(services.redis_url)
    try:
        queue_key = f"{services.redis_prefix}itas.control"
        messages = client.lrange(queue_key, 0, -1)
        assert messages, f"nothing queued under {queue_key}"
        bodies = [json.loads(m) for m in messages]
        ours = [b for b in bodies if probe_id in json.dumps(b)]
        assert len(ours) == 1
        assert ours[0]["headers"]["task"] == "worker.tasks.probe"
        assert ours[0]["headers"]["argsrepr"] == repr([probe_id])
        # nothing of this run outside its namespace
        unprefixed = list(client.scan_iter(match="itas.control*"))
        assert unprefixed == []
    finally:
        client.delete(f"{services.redis_prefix}itas.control")
        client.close()
