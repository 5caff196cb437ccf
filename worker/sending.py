"""The bridge from a technique's CallSpec to an endpoint: request, limiter, client.

``sample_index`` is sent as the provider's ``seed`` (moved for a repeated attempt, see
``CallSpec.seed``): sample *i* is then one reproducible call, the same one in every
architecture, which is what makes the cache shareable across trials.

:meth:`Sender.samples` sends k samples of one prompt as one request with OpenAI's ``n``
(where the registry says the endpoint takes it), seeded with the first sample's index, and
splits the answer into one response per sample. The provider reports the request's tokens,
not each choice's: each sample gets an equal share of the prompt's tokens (the prompt was paid
once) and a share of the completion tokens in proportion to its text, so that the shares add
up to what was paid. A request that asks for the first token's log-probabilities carries each
choice's own into its sample's response.

A reasoning model (``reasoning`` in the registry) is asked in its form, with the component's
``reasoning_effort``, else the registry's default for it (:func:`reasoning_effort`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from models.errors import InvalidResponse
from worker.cache import CachedResponse
from worker.clients.base import ChatRequest
from worker.clients.calling import call_llm
from worker.ratelimit import RateLimiter
from worker.techniques.base import CallSpec

SendOne = Callable[[Any, Any, CallSpec], CachedResponse]


class Sender:
    """Sends CallSpecs through one limiter. Thread-safe. Calling it sends one sample."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def _request(self, llm: Any, spec: CallSpec, n: int = 1) -> ChatRequest:
        return ChatRequest(llm=llm.wire_model, messages=spec.message_dicts(),
                           temperature=spec.temperature, max_tokens=spec.max_tokens,
                           seed=spec.seed, documents=spec.documents, n=n,
                           top_logprobs=spec.top_logprobs, reasoning=llm.reasoning,
                           reasoning_effort=reasoning_effort(llm, spec))

    def __call__(self, endpoint: Any, llm: Any, spec: CallSpec) -> CachedResponse:
        response = call_llm(endpoint, self._request(llm, spec), limiter=self._limiter)
        return CachedResponse(text=response.text, tokens_in=response.tokens_in,
                              tokens_out=response.tokens_out, latency_s=response.latency_s,
                              finish_reason=response.finish_reason,
                              top_logprobs=response.top_logprobs)

    def samples(self, endpoint: Any, llm: Any, first: CallSpec, n: int) -> list[CachedResponse]:
        """``n`` samples of ``first``'s prompt in one request (``first`` gives the seed).

        Raises what :func:`call_llm` raises, and InvalidResponse when the endpoint answered
        with another number of choices than asked (it ignored ``n``).
        """
        response = call_llm(endpoint, self._request(llm, first, n), limiter=self._limiter)
        texts = response.texts or (response.text,)
        if len(texts) != n:
            raise InvalidResponse(f"endpoint {endpoint.name}: asked for n={n} choices, got "
                                  f"{len(texts)} (does it take n? see supports_n)",
                                  endpoint=endpoint.name)
        finishes = response.finish_reasons or (response.finish_reason,) * n
        tops = response.choices_top_logprobs or ((),) * n
        prompt = _shares(response.tokens_in, [1] * n)
        completion = _shares(response.tokens_out, [max(1, len(t)) for t in texts])
        return [CachedResponse(text=t, tokens_in=p, tokens_out=c, latency_s=response.latency_s,
                               finish_reason=f, top_logprobs=lp)
                for t, p, c, f, lp in zip(texts, prompt, completion, finishes, tops,
                                          strict=True)]


def reasoning_effort(llm: Any, spec: CallSpec) -> str | None:
    """The effort a call is sent with: the component's, else the registry's for the LLM."""
    return spec.reasoning_effort or llm.reasoning_effort


def _shares(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, in integers that add up to ``total``."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    shares[0] += total - sum(shares)
    return shares


def make_sender(client: redis.Redis, prefix: str) -> Sender:
    return Sender(RateLimiter(client, prefix))
