"""First-token log-probabilities through the worker's call path (a judge reads its preference
from them, as AlpacaEval's does): asked for only by the calls that want them, part of those
calls' cache key only, and served the same from Redis, and from PostgreSQL after a Redis flush.

Real Redis and PostgreSQL; the endpoint is a transport-level double (httpx.MockTransport)
speaking OpenAI's chat-completions format, so that the test controls what the endpoint gives.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import text

from models.db import session_scope
from models.endpoints import parse_registry
from tests.services import RunServices
from worker.cache import ResponseCache
from worker.clients import transport as transport_module
from worker.llm_calls import CallSite, LLMCaller
from worker.ratelimit import RateLimiter
from worker.sending import Sender
from worker.techniques.base import CallSpec, Role

KEY_ENV = "ITAS_TEST_LOGPROBS_KEY"
#: The cache key of JUDGE_SPEC (without log-probabilities) as computed before they existed:
#: every cache entry made until then must still be found.
KEY_BEFORE_LOGPROBS = "130fa074c08aaa393b419bac0a9d93530a4ea6de9d3eb1a9a85209b51de82bd9"
JUDGE_SPEC = CallSpec(
    llm="judge", model_type=None,
    messages=(("system", "You are a judge."), ("user", "Which output is better? Answer m or M.")),
    temperature=0.0, max_tokens=1, sample_index=0, role=Role.JUDGE)
TOP = [("m", -0.0201), ("M", -3.92), (" m", -7.5)]


def choice(index: int, top: list[tuple[str, float]] | None) -> dict[str, Any]:
    """A choice as OpenAI sends it; ``top`` None: one without log-probabilities."""
    out: dict[str, Any] = {"index": index, "finish_reason": "length",
                           "message": {"role": "assistant", "content": (top or TOP)[0][0]}}
    if top is not None:
        first = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
        out["logprobs"] = {"content": [{**first[0], "top_logprobs": first}], "refusal": None}
    return out


class Endpoint:
    """The double: answers every chat request, with log-probabilities when asked (the k best
    of TOP, rotated by choice so that each choice has its own) unless told to give none."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.give_logprobs = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        k = body.get("top_logprobs", 0) if body.get("logprobs") else 0
        choices = [choice(i, (TOP[i % len(TOP):] + TOP[:i % len(TOP)])[:k]
                          if k and self.give_logprobs else None)
                   for i in range(body.get("n", 1))]
        return httpx.Response(200, json={
            "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
            "choices": choices, "usage": {"prompt_tokens": 30, "completion_tokens": 1}})


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Endpoint]:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    double = Endpoint()
    transport_module.reset_http_client()
    monkeypatch.setattr(transport_module, "new_client",
                        lambda: httpx.Client(transport=httpx.MockTransport(double)))
    yield double
    transport_module.reset_http_client()


@pytest.fixture
def client(services: RunServices) -> Iterator[redis.Redis]:
    redis_client = redis.Redis.from_url(services.redis_url)
    yield redis_client
    redis_client.close()


@pytest.fixture
def prefix(services: RunServices) -> str:
    """A namespace of this test's inside the run's: its own hot cache and limiter state."""
    return f"{services.redis_prefix}logprobs-{uuid.uuid4().hex[:6]}:"


def caller(services: RunServices, client: redis.Redis, prefix: str,
           site: CallSite | None = None) -> LLMCaller:
    registry = parse_registry({
        "endpoints": {"openai": {"kind": "openai", "base_url": "http://mock/v1",
                                 "api_key_envs": [KEY_ENV], "supports_n": True}},
        "llms": {"judge": {"endpoint": "openai", "wire_model": "gpt-4-turbo",
                           "price_in_per_mtok": 10.0, "price_out_per_mtok": 30.0}},
    }, "test registry", simulator_url=None)
    return LLMCaller(registry=registry,
                     cache=ResponseCache(client, prefix, services.database_url),
                     database_url=services.database_url,
                     send=Sender(RateLimiter(client, prefix)),
                     site=site or CallSite(None, f"q-{uuid.uuid4().hex[:8]}", 0))


def fresh(spec: CallSpec = JUDGE_SPEC, **changes: Any) -> CallSpec:
    """``spec`` with a prompt no other test (or run) has asked: a call not cached anywhere."""
    marker = uuid.uuid4().hex
    messages = spec.messages[:-1] + (("user", f"{spec.messages[-1][1]} ({marker})"),)
    return replace(spec, messages=messages, **changes)


def flush(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def recorded(database_url: str, digest: str) -> list[tuple[bool, Any]]:
    with session_scope(database_url) as session:
        rows = session.execute(text(
            "SELECT cache_hit, response_logprobs FROM llm_calls WHERE request_hash = :h "
            "ORDER BY id"), {"h": digest})
        return [(row[0], row[1]) for row in rows]


def test_the_cache_key_changes_only_for_calls_that_ask_for_log_probabilities(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    call = caller(services, client, prefix)
    plain = call(JUDGE_SPEC)
    asking = call(replace(JUDGE_SPEC, top_logprobs=5))
    assert plain.request_hash == KEY_BEFORE_LOGPROBS
    assert asking.request_hash not in (None, KEY_BEFORE_LOGPROBS)
    other_k = call(replace(JUDGE_SPEC, top_logprobs=2))
    assert other_k.request_hash not in (KEY_BEFORE_LOGPROBS, asking.request_hash)


def test_a_judge_call_gets_the_log_probabilities_and_keeps_them_at_both_cache_levels(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    spec = fresh(top_logprobs=3)
    first = caller(services, client, prefix)(spec)
    assert (first.text, first.top_logprobs) == ("m", tuple(TOP))
    (sent,) = endpoint.bodies
    assert sent["logprobs"] is True and sent["top_logprobs"] == 3
    assert first.request_hash is not None
    assert recorded(services.database_url, first.request_hash) == [
        (False, [["m", -0.0201], ["M", -3.92], [" m", -7.5]])]

    # Another trial asks the same: the hot level answers, with the same log-probabilities.
    hot = caller(services, client, prefix)(spec)
    assert (hot.text, hot.top_logprobs, hot.request_hash) == ("m", tuple(TOP),
                                                              first.request_hash)
    # Redis is flushed: PostgreSQL answers, with the same log-probabilities, nothing is paid.
    flush(client, prefix)
    durable = caller(services, client, prefix)(spec)
    assert (durable.text, durable.top_logprobs) == ("m", tuple(TOP))
    assert len(endpoint.bodies) == 1
    flush(client, prefix)
    cache = ResponseCache(client, prefix, services.database_url)
    found = cache.get(first.request_hash)
    assert found is not None and found[1] == "durable"
    assert found[0].top_logprobs == tuple(TOP)
    assert [hit for hit, _ in recorded(services.database_url, first.request_hash)] == [
        False, True, True]


def test_an_answer_without_log_probabilities_serves_no_call_that_asks_for_them(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    call = caller(services, client, prefix)
    plain = fresh()
    assert call(plain).top_logprobs == ()
    assert "logprobs" not in endpoint.bodies[-1]
    assert recorded(services.database_url, call(plain).request_hash or "")[0] == (False, None)
    asking = call(replace(plain, top_logprobs=3))
    assert len(endpoint.bodies) == 2  # its own request
    assert asking.top_logprobs == tuple(TOP)


def test_an_endpoint_that_gives_none_is_an_answer_without_them(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    """The judge then reads the label written; the call is not an error and is not asked
    again, from Redis or after a flush."""
    endpoint.give_logprobs = False
    spec = fresh(top_logprobs=5)
    result = caller(services, client, prefix)(spec)
    assert (result.text, result.top_logprobs, result.error_class) == ("m", (), None)
    assert recorded(services.database_url, result.request_hash or "") == [(False, [])]
    flush(client, prefix)
    again = caller(services, client, prefix)(spec)
    assert (again.text, again.top_logprobs) == ("m", ())
    assert len(endpoint.bodies) == 1


def test_samples_batched_with_n_keep_each_their_own_log_probabilities(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    base = fresh(top_logprobs=2, temperature=1.0)
    specs = [replace(base, sample_index=i) for i in range(3)]
    call = caller(services, client, prefix)
    call.prefetch(specs)
    (sent,) = endpoint.bodies
    assert (sent["n"], sent["logprobs"], sent["top_logprobs"]) == (3, True, 2)
    results = [call(spec) for spec in specs]
    assert len(endpoint.bodies) == 1  # every sample was answered by the one request
    assert [r.top_logprobs for r in results] == [
        (("m", -0.0201), ("M", -3.92)), (("M", -3.92), (" m", -7.5)),
        (("m", -0.0201), (" m", -7.5))]
    flush(client, prefix)
    again = caller(services, client, prefix)(specs[1])
    assert again.top_logprobs == results[1].top_logprobs and len(endpoint.bodies) == 1


def test_samples_that_differ_in_log_probabilities_are_not_batched_together(
    services: RunServices, client: redis.Redis, prefix: str, endpoint: Endpoint,
) -> None:
    base = fresh(temperature=1.0)
    specs = [replace(base, sample_index=0),
             replace(base, sample_index=1, top_logprobs=2)]
    caller(services, client, prefix).prefetch(specs)
    assert endpoint.bodies == []  # two prompts of one sample each: left to their own calls
