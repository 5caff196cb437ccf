"""Calling an LLM the way every technique should: rate-limited, key-rotating, retrying.

:func:`call_llm` does, per attempt: take a slot on the endpoint's key that can go soonest
(:meth:`~worker.ratelimit.RateLimiter.acquire_any`, shared by every worker), send once
(:func:`~worker.clients.transport.send_chat`), give the slot back with the reported token usage.
Then:

- a **429** pauses that key for every worker (for its ``retry-after``, or
  ``RetryPolicy.default_pause_s`` when the provider said nothing) and the next attempt goes at
  once: the limiter sends it on another key, or waits out the pause if there is none;
- every answer and failure teaches the limiter (:class:`~worker.ratelimit.Signal`): the
  provider's stated limits (``x-ratelimit-limit-*``) lower the key's rates, a 429 cuts them,
  a timeout cuts the key's in-flight cap (a server that queues what it cannot run), a success
  lets that cap grow back;
- a **timeout or unavailable endpoint** is retried after an exponential backoff with full
  jitter (a random time between 0 and ``min(cap_s, base_s * 2**(attempt-1))``), so workers
  that failed together do not come back together;
- a **fatal** error (BadRequest, AuthenticationFailed, InvalidResponse, ConfigError: no key
  variable of the endpoint is set) and
  :class:`~models.errors.RateLimiterUnavailable` (fail closed: nothing is sent) are raised at
  once; so is :class:`~models.errors.AcquireTimeout` when the limiter cannot admit the call
  within what is left of ``max_total_s``.

After ``max_attempts`` attempts or ``max_total_s`` seconds the last error is raised as it is.

The retry loop is tenacity's: a well-kept library whose stop, wait and retry conditions compose
(``stop_after_attempt | stop_before_delay``) and whose wait can read the last exception, which
is what honouring a provider's pause needs. Celery's retry helpers re-queue a whole task, which
is the layer above (a task whose call_llm gave up may still be retried later by Celery).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from models.errors import (
    AcquireTimeout,
    ConfigError,
    EndpointError,
    EndpointTimeout,
    RateLimited,
    RetryableEndpointError,
)
from worker.clients.base import ChatRequest, ChatResponse, EndpointConfig, estimate_tokens
from worker.clients.stated_limits import stated_limits
from worker.clients.transport import send_chat
from worker.ratelimit import Limits, RateLimiter, Signal

__all__ = ["NO_KEY", "RetryPolicy", "call_llm", "limits_of"]

log = logging.getLogger(__name__)

#: The limiter's key id for an endpoint without API keys (a local vLLM, Ollama, ...).
NO_KEY = "no-key"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard :func:`call_llm` tries.

    Usage::

        RetryPolicy()                                   # 6 attempts within 10 minutes
        RetryPolicy(max_attempts=3, max_total_s=30, base_s=0.2, cap_s=5)
    """

    max_attempts: int = 6
    max_total_s: float = 600.0
    base_s: float = 1.0
    cap_s: float = 60.0
    #: How long a 429 without retry-after (or reset headers) pauses the key.
    default_pause_s: float = 1.0
    #: The longest pause a provider's ``retry-after`` may put on a key: a buggy or hostile
    #: value (an hour, a date far ahead) must not stall every worker; past it the next 429
    #: pauses the key again.
    max_pause_s: float = 60.0
    #: How long past the endpoint's timeout an unreleased in-flight slot keeps counting.
    lease_margin_s: float = 60.0

    def backoff_s(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap_s, base_s * 2**(attempt-1)))."""
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


def limits_of(endpoint: EndpointConfig) -> Limits:
    """The limits of each of ``endpoint``'s keys (every key has the endpoint's limits)."""
    return Limits(
        requests_per_min=endpoint.requests_per_min,
        tokens_per_min=endpoint.tokens_per_min,
        max_in_flight=endpoint.max_in_flight,
    )


_warned_unset: set[tuple[str, str]] = set()


def _usable_keys(name: str, key_envs: list[str], keys_env: Mapping[str, str]) -> list[str]:
    """The key variables that are set, in order; as the endpoints registry does, unset ones
    are left out of the rotation (with a warning, once per process), and none set at all is a
    ConfigError naming them."""
    if not key_envs:
        return [NO_KEY]
    usable = [k for k in key_envs if keys_env.get(k, "").strip()]
    if not usable:
        raise ConfigError(
            f"endpoint {name}: none of its API key variables is set ({', '.join(key_envs)})"
        )
    for key_env in key_envs:
        if key_env not in usable and (name, key_env) not in _warned_unset:
            _warned_unset.add((name, key_env))
            log.warning("endpoint %s: %s is not set; rotating over %s", name, key_env,
                        ", ".join(usable))
    return usable


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableEndpointError) and not isinstance(exc, AcquireTimeout)


def call_llm(
    endpoint: EndpointConfig,
    request: ChatRequest,
    *,
    limiter: RateLimiter,
    keys_env: Mapping[str, str] = os.environ,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so one shared default is safe
    on_failed_attempt: Callable[[EndpointError, str], None] | None = None,
) -> ChatResponse:
    """Make ``request`` to ``endpoint`` within its limits, retrying what is worth retrying.

    ``keys_env`` is where API keys are read, by the variable names in
    ``endpoint.api_key_envs``, at each send; keys whose variable is unset are skipped, and
    none set is a ConfigError. ``on_failed_attempt(error, key_env)`` is told of
    every failed HTTP exchange (for metrics). Thread-safe; the returned
    :attr:`ChatResponse.attempts` counts the exchanges made. Raises the last error (see the
    module docstring) when it gives up.
    """
    name = endpoint.name
    key_ids = _usable_keys(name, list(endpoint.api_key_envs), keys_env)
    limits = limits_of(endpoint)
    est_tokens = estimate_tokens(request)
    deadline = time.monotonic() + policy.max_total_s

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited):
            return 0.0  # the key is paused for everyone: the limiter does the waiting
        return policy.backoff_s(state.attempt_number)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s (attempt %d of %d); retrying in %.2fs",
            exc, state.attempt_number, policy.max_attempts,
            state.next_action.sleep if state.next_action else 0.0,
        )

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_total_s),
        wait=wait,
        retry=retry_if_exception(_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            permit = limiter.acquire_any(
                name, key_ids, limits, est_tokens,
                timeout_s=max(0.0, deadline - time.monotonic()),
                lease_s=endpoint.timeout_s + policy.lease_margin_s,
            )
            used: int | None = None
            signal, stated = Signal.NONE, None
            sent_with = None if permit.key_id == NO_KEY else permit.key_id
            try:
                response = send_chat(endpoint, request, key_env=sent_with, keys_env=keys_env)
                used = response.tokens_total
                signal, stated = Signal.OK, stated_limits(response.headers)
            except EndpointError as exc:
                if on_failed_attempt is not None:
                    on_failed_attempt(exc, permit.key_id)
                # A refused or failed request used no tokens: its estimate goes back to the
                # key's tokens/min. A timeout keeps it: the provider may have run the prompt.
                used = None if isinstance(exc, EndpointTimeout) else 0
                if isinstance(exc, RateLimited):
                    signal, stated = Signal.RATE_LIMITED, stated_limits(exc.headers)
                    pause_s = exc.retry_after_s
                    limiter.pause(name, permit.key_id,
                                  policy.default_pause_s if pause_s is None
                                  else min(pause_s, policy.max_pause_s))
                elif isinstance(exc, EndpointTimeout):
                    signal = Signal.TIMEOUT
                raise
            finally:
                permit.release(used, signal=signal, stated=stated)
            return replace(response, attempts=attempt.retry_state.attempt_number)
    raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
