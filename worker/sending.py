"""The bridge from a technique's CallSpec to an endpoint: request, limiter, client.

``sample_index`` is sent as the provider's ``seed`` (moved for a repeated attempt, see
``CallSpec.seed``): sample *i* is then one reproducible call, the same one in every
architecture, which is what makes the cache shareable across trials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from worker.cache import CachedResponse
from worker.clients.base import ChatRequest
from worker.clients.calling import call_llm
from worker.ratelimit import RateLimiter
from worker.techniques.base import CallSpec

Sender = Callable[[Any, Any, CallSpec], CachedResponse]


def make_sender(client: redis.Redis, prefix: str) -> Sender:
    limiter = RateLimiter(client, prefix)

    def send(endpoint: Any, llm: Any, spec: CallSpec) -> CachedResponse:
        request = ChatRequest(llm=llm.wire_model, messages=spec.message_dicts(),
                              temperature=spec.temperature, max_tokens=spec.max_tokens,
                              seed=spec.seed, documents=spec.documents)
        response = call_llm(endpoint, request, limiter=limiter)
        return CachedResponse(text=response.text, tokens_in=response.tokens_in,
                              tokens_out=response.tokens_out, latency_s=response.latency_s,
                              finish_reason=response.finish_reason)

    return send
