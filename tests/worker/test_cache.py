"""The response cache on real Redis and PostgreSQL: one key function, a durable level that
survives a Redis flush, and one request for many identical concurrent calls."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.dialects.postgresql import insert

from models.db import session_scope
from models.tables import LLMCall
from tests.services import RunServices
from worker.cache import CachedResponse, ResponseCache, request_hash

BASE = {
    "endpoint": "simulator", "llm": "sim-medium",
    "messages": [{"role": "user", "content": "What is 2 + 3?"}],
    "temperature": 0.7, "max_tokens": 256, "sample_index": 0,
}


@pytest.fixture
def client_prefix(services: RunServices) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(services.redis_url)
    yield client, f"{services.redis_prefix}cache-test-{uuid.uuid4().hex[:6]}:"
    client.close()


@pytest.fixture
def cache(services: RunServices) -> Iterator[ResponseCache]:
    client = redis.Redis.from_url(services.redis_url)
    # A prefix of its own inside the run's namespace, so the test can flush just that.
    yield ResponseCache(client, f"{services.redis_prefix}cache-test-{uuid.uuid4().hex[:6]}:",
                        services.database_url)
    client.close()


def test_the_key_covers_everything_that_decides_the_answer() -> None:
    assert request_hash(**BASE) == request_hash(**dict(BASE))
    variants = [
        {"endpoint": "other"}, {"llm": "sim-large"}, {"temperature": 0.0},
        {"max_tokens": 512}, {"sample_index": 1},
        {"messages": [{"role": "user", "content": "What is 2 + 4?"}]},
        {"messages": [{"role": "system", "content": "What is 2 + 3?"}]},
    ]
    digests = {request_hash(**(BASE | v)) for v in variants}
    assert len(digests) == len(variants) and request_hash(**BASE) not in digests


def test_a_paid_response_survives_a_redis_flush(cache: ResponseCache, database_url: str) -> None:
    digest = request_hash(**(BASE | {"sample_index": 7, "llm": uuid.uuid4().hex}))
    with session_scope(database_url) as session:
        session.execute(insert(LLMCall).values(
            request_hash=digest, endpoint="simulator", llm_name="sim-medium",
            response_text="5\nAnswer: 5", tokens_in=12, tokens_out=4, latency_s=0.5))
    found = cache.get(digest)
    assert found is not None
    response, level = found
    assert (response.text, level) == ("5\nAnswer: 5", "durable")
    assert response.top_logprobs == ()  # a record without them (NULL) has none
    again = cache.get(digest)
    assert again is not None and again[1] == "hot"  # promoted to Redis on the way


def test_identical_concurrent_calls_make_one_request(cache: ResponseCache) -> None:
    digest = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    requests = []
    answers = []
    lock = threading.Lock()

    def call() -> None:
        with cache.single_flight(digest, wait_s=30) as found:
            if found is None:
                with lock:
                    requests.append(1)
                time.sleep(0.3)  # a slow provider: the others arrive meanwhile
                found = CachedResponse("Answer: 5", 10, 3, 0.3)
                cache.put_hot(digest, found)
            with lock:
                answers.append(found.text)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(requests) == 1
    assert answers == ["Answer: 5"] * 8


def test_a_leader_slower_than_its_lease_keeps_it_while_it_lives(cache: ResponseCache) -> None:
    """The lease (about an endpoint's timeout) is renewed while the leader works: a call that
    takes three leases' time is still made once, the others waiting for its answer."""
    digest = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    requests = []
    answers = []
    lock = threading.Lock()

    def call(delay_s: float) -> None:
        time.sleep(delay_s)
        with cache.single_flight(digest, lease_s=0.6, wait_s=30) as found:
            if found is None:
                with lock:
                    requests.append(1)
                time.sleep(1.8)  # three times the lease
                found = CachedResponse("Answer: 5", 10, 3, 1.8)
                cache.put_hot(digest, found)
            with lock:
                answers.append(found.text)

    threads = [threading.Thread(target=call, args=(0.2 * i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(requests) == 1
    assert answers == ["Answer: 5"] * 6


def test_a_cached_answer_is_served_without_taking_the_lease(cache: ResponseCache,
                                                            database_url: str) -> None:
    """single_flight looks in the cache itself: an answer in Redis, or one only PostgreSQL
    still has (after a Redis flush), comes back to the caller, who then makes no request."""
    hot = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    cache.put_hot(hot, CachedResponse("Answer: 7", 10, 3, 0.2))
    with cache.single_flight(hot, wait_s=5) as found:
        assert found is not None and found.text == "Answer: 7"
    durable = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    with session_scope(database_url) as session:
        session.execute(insert(LLMCall).values(
            request_hash=durable, endpoint="simulator", llm_name="sim-medium",
            response_text="Answer: 9", tokens_in=12, tokens_out=4, latency_s=0.5))
    with cache.single_flight(durable, wait_s=5) as found:
        assert found is not None and found.text == "Answer: 9"
    assert cache.get(durable) == (CachedResponse("Answer: 9", 12, 4, 0.5), "hot")


def test_many_waiters_share_one_connection_while_a_slow_call_is_made(
        services: RunServices) -> None:
    """Threads waiting for a call in flight elsewhere do not each hold a Redis connection:
    with 4 connections in the pool, 24 identical calls of 3 s are one request, and the cache
    and limiter are not starved meanwhile (a search's trials share samples, so hundreds of
    calls wait at once with real LLMs)."""
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
        services.redis_url, max_connections=4, timeout=2))
    cache = ResponseCache(client, f"{services.redis_prefix}cache-test-{uuid.uuid4().hex[:6]}:",
                          services.database_url)
    digest = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    requests, answers, errors = [], [], []
    lock = threading.Lock()

    def call() -> None:
        try:
            with cache.single_flight(digest, wait_s=30) as found:
                if found is None:
                    with lock:
                        requests.append(1)
                    time.sleep(3)
                    found = CachedResponse("Answer: 5", 10, 3, 3.0)
                    cache.put_hot(digest, found)
                with lock:
                    answers.append(found.text)
        except Exception as exc:  # noqa: BLE001  # what a starved pool raises is the point
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=call) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    client.close()
    assert errors == []
    assert len(requests) == 1
    assert answers == ["Answer: 5"] * 24


def test_log_probabilities_are_kept_at_both_levels_and_old_entries_read_without(
        client_prefix: tuple[redis.Redis, str], database_url: str) -> None:
    """A response's first-token log-probabilities come back from Redis and, after a flush,
    from ``llm_calls.response_logprobs``; entries written before they existed still read."""
    client, prefix = client_prefix
    cache = ResponseCache(client, prefix, database_url)
    top = (("m", -0.02), ("M", -3.9))
    hot = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    cache.put_hot(hot, CachedResponse("m", 40, 1, 0.3, "length", top_logprobs=top))
    assert cache.get(hot) == (CachedResponse("m", 40, 1, 0.3, "length", top_logprobs=top),
                              "hot")

    # A response without them is the Redis entry it always was, which the earlier code read.
    plain = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    cache.put_hot(plain, CachedResponse("Answer: 5", 10, 3, 0.2))
    assert json.loads(client.get(f"{prefix}cache:{plain}") or b"") == {
        "text": "Answer: 5", "tokens_in": 10, "tokens_out": 3, "latency_s": 0.2,
        "finish_reason": "stop", "unrecorded": False}
    # An entry written by the earlier code reads as having none.
    old = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    client.set(f"{prefix}cache:{old}", json.dumps({
        "text": "Answer: 6", "tokens_in": 9, "tokens_out": 2, "latency_s": 0.1,
        "finish_reason": "stop", "unrecorded": False}))
    assert cache.get(old) == (CachedResponse("Answer: 6", 9, 2, 0.1), "hot")

    durable = request_hash(**(BASE | {"llm": uuid.uuid4().hex}))
    with session_scope(database_url) as session:
        session.execute(insert(LLMCall).values(
            request_hash=durable, endpoint="openai", llm_name="judge", response_text="M",
            tokens_in=40, tokens_out=1, latency_s=0.4, finish_reason="length",
            response_logprobs=[["M", -0.1], ["m", -2.5]]))
    with cache.single_flight(durable, wait_s=5) as found:
        assert found is not None and found.top_logprobs == (("M", -0.1), ("m", -2.5))
    assert cache.get(durable) == (CachedResponse("M", 40, 1, 0.4, "length",
                                                 top_logprobs=(("M", -0.1), ("m", -2.5))),
                                  "hot")
