"""The rate limiter every worker process on every machine shares, in Redis.

Per (endpoint, API key) it enforces requests/min, tokens/min and in-flight concurrency, all in
one atomic Lua script (``ratelimit.lua`` beside this module, which explains the GCRA choice), so
two workers can never both take the last slot. A 429 pauses that key for everyone
(:meth:`RateLimiter.pause`). Several keys of one endpoint rotate: :meth:`RateLimiter.acquire_any`
takes the key that can go soonest and skips a paused one.

**It learns from the provider.** The endpoints file's limits are a ceiling, not the truth: a
key's tier may be lower, another client may share it, a local server may run fewer
completions at once than ``max_in_flight`` lets us send. What each call taught is passed to
:meth:`Permit.release` (its :class:`Signal` and the :class:`StatedLimits` of the provider's
``x-ratelimit-limit-*`` headers) and folded into the key's state in the same script, shared by
every worker:

- a stated limit lowers the key's rate to it at once (never raises it above the file's);
- a 429 cuts the key's rates by :attr:`Adaptation.rate_backoff` (AIMD), which recover
  linearly over :attr:`Adaptation.rate_recover_s`;
- a timeout cuts the key's in-flight cap to the slots held times
  :attr:`Adaptation.inflight_backoff`, and successes bring it back slowly, one slot per
  ``cap / inflight_recover`` successes (a server that queues what it cannot run makes the
  queued calls time out: the cure is sending fewer, not retrying at once).

Only a call started after the last cut can cut again, so the many 429s or timeouts of calls
sent together under the old limit count as one event (TCP's rule). ratelimit.lua explains
the state; :meth:`RateLimiter.effective` shows what applies now. The value objects
(:class:`Limits`, :class:`Signal`, :class:`StatedLimits`, :class:`Adaptation`,
:class:`Effective`) live in worker/ratelimit_values.py and are importable from here.

Why not Celery's ``rate_limit``: it is enforced per worker *process*, knows nothing of tokens,
concurrency or API keys, and cannot be paused by a 429 seen elsewhere. Why our own code: no
well-kept library does several limits at once (requests, estimated-then-corrected tokens,
in-flight slots that expire with a dead holder) atomically in Redis with a pause shared by all
clients; the single-limit ones (e.g. dramatiq's rate limiters, whose ``acquire()`` over a
backend we copy in shape) would need three round trips that can interleave.

Contracts:

- **Fails closed.** Any Redis error while acquiring or pausing raises
  :class:`~models.errors.RateLimiterUnavailable`: the caller sends nothing. Releasing is best
  effort (the call has already been made): a failure is logged, and the in-flight slot comes back
  when its lease ends.
- **Keys.** Redis keys are ``{prefix}rl:{<endpoint>}:<key_id>`` (+ ``:inflight``). ``key_id`` is
  the *name* of the environment variable holding the API key (``ITAS_SIM_KEY_1``), never its
  value, which this module never sees.
- **Time** is Redis's clock, so machines with skewed clocks agree.
- **Threads and processes.** A :class:`RateLimiter` may be shared by threads (redis-py's pool is
  thread-safe and reconnects after a fork); a :class:`Permit` belongs to the thread that got it.
  The threads of one process that wait share a room (worker/ratelimit_waiting.py): a local
  release wakes one, and only one at a time asks Redis again on its own.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from models.errors import AcquireTimeout, RateLimiterUnavailable
from worker.ratelimit_values import Adaptation, Effective, Limits, Signal, StatedLimits
from worker.ratelimit_waiting import WaitingRooms

__all__ = ["Adaptation", "Effective", "Limits", "Permit", "RateLimiter", "Signal",
           "StatedLimits"]

log = logging.getLogger(__name__)

_SCRIPT = (Path(__file__).with_name("ratelimit.lua")).read_text(encoding="utf-8")


@dataclass
class Permit:
    """One admitted call: holds an in-flight slot and the token estimate until released.

    Use as a context manager, or call :meth:`release` exactly once (more calls do nothing).
    """

    endpoint: str
    key_id: str
    est_tokens: int
    waited_s: float
    _limiter: RateLimiter = field(repr=False)
    _limits: Limits = field(repr=False)
    _holder: str = field(repr=False)
    _started_ms: float = field(default=0.0, repr=False)  # Redis's clock at admission
    _released: bool = field(default=False, repr=False)

    def release(
        self, actual_tokens: int | None = None, *, signal: Signal = Signal.NONE,
        stated: StatedLimits | None = None,
    ) -> None:
        """Give the slot back; with ``actual_tokens``, replace the estimate by the real usage.

        ``signal`` and ``stated`` are what the call taught about the key's limits (see the
        module docstring); the defaults teach nothing. Never raises: the call is over, so a
        Redis failure here is logged and the slot comes back when its lease ends.
        """
        if self._released:
            return
        self._released = True
        delta = 0 if actual_tokens is None else actual_tokens - self.est_tokens
        if not self._limiter.adaptation.learn:
            signal, stated = Signal.NONE, None
        self._limiter._release(self, delta, self._limits, signal, stated or StatedLimits())

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class RateLimiter:
    """Shared limits in Redis. ``prefix`` is the settings' ``redis_prefix``.

    ``poll_s`` is how often one waiting caller of this process looks again for an in-flight
    slot another process released (a slot this process releases wakes a waiter at once;
    rates and pauses say exactly how long to sleep).
    """

    def __init__(
        self, redis_client: redis.Redis, prefix: str, *, poll_s: float = 0.02,
        adaptation: Adaptation = Adaptation(),  # noqa: B008 - frozen, so shared is safe
    ) -> None:
        self._redis = redis_client
        self._prefix = prefix
        self._poll_ms = poll_s * 1000
        self.adaptation = adaptation
        self._script = redis_client.register_script(_SCRIPT)
        self._rooms = WaitingRooms()

    # -- the public operations ---------------------------------------------------------------

    def acquire(
        self, endpoint: str, key_id: str, limits: Limits, est_tokens: int, timeout_s: float,
        *, lease_s: float = 600.0,
    ) -> Permit:
        """Wait until ``key_id`` may make one call of ``est_tokens`` tokens; see acquire_any."""
        return self.acquire_any(endpoint, [key_id], limits, est_tokens, timeout_s, lease_s=lease_s)

    def acquire_any(
        self, endpoint: str, key_ids: Sequence[str], limits: Limits, est_tokens: int,
        timeout_s: float, *, lease_s: float = 600.0,
    ) -> Permit:
        """Take a slot on whichever of ``key_ids`` can go soonest, sleeping as the script says.

        Among keys free now, the least used one is taken (so load spreads); a paused key is
        never taken before its pause ends. Raises :class:`~models.errors.AcquireTimeout` as
        soon as it is clear no key admits within ``timeout_s`` (without sleeping out a hopeless
        wait), and :class:`RateLimiterUnavailable` when Redis does not answer. ``lease_s``
        bounds how long the in-flight slot counts if it is never released (its holder died):
        make it longer than the longest call.
        """
        if not key_ids:
            raise ValueError("acquire_any: no API keys to choose from")
        if est_tokens < 0:
            raise ValueError("est_tokens: expected a non-negative token count")
        started = time.monotonic()
        deadline = started + timeout_s
        holder = uuid.uuid4().hex
        # Waiting callers of this process sleep until a release or the poller wakes them;
        # one of them asks again when the script said to (worker/ratelimit_waiting.py).
        room = self._rooms.room(endpoint, key_ids)
        polled = False
        try:
            while True:
                seen = room.releases()
                admitted, index, wait_s, kind, now_ms = self._decide(
                    endpoint, key_ids, limits, est_tokens, commit=True, holder=holder,
                    lease_s=lease_s)
                if admitted:
                    return Permit(endpoint, key_ids[index - 1], est_tokens,
                                  time.monotonic() - started, self, limits, holder, now_ms)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (kind == "exact" and wait_s > remaining):
                    raise AcquireTimeout(
                        f"rate limiter: no key of endpoint {endpoint} admits a call within "
                        f"{timeout_s:.1f}s (next in {wait_s:.2f}s); nothing was sent",
                        endpoint=endpoint, status=None, retry_after_s=wait_s,
                    )
                polled = room.wait(seen, wait_s, remaining)
        finally:
            if polled:
                room.hand_over()

    def choose_key(
        self, endpoint: str, key_ids: Sequence[str], limits: Limits, est_tokens: int
    ) -> tuple[str, float]:
        """Which key can go soonest and in how many seconds (0: now). Takes nothing."""
        if not key_ids:
            raise ValueError("choose_key: no API keys to choose from")
        _, index, wait_s, _, _ = self._decide(
            endpoint, key_ids, limits, est_tokens, commit=False, holder="", lease_s=0
        )
        return key_ids[index - 1], wait_s

    def pause(self, endpoint: str, key_id: str, seconds: float) -> None:
        """Stop every worker from using ``key_id`` for ``seconds`` (a provider said 429).

        A shorter pause never cuts a longer one short. Raises RateLimiterUnavailable.
        """
        ms = max(0.0, seconds) * 1000
        self._run([self._state_key(endpoint, key_id)], ["pause", ms])
        log.info("paused endpoint %s key %s for %.2fs", endpoint, key_id, seconds)

    def status(self, endpoint: str, key_id: str) -> tuple[float, int]:
        """(seconds of pause left, in-flight slots held) of one key, as Redis sees it now."""
        paused_ms, held = self._run(
            [self._state_key(endpoint, key_id), self._inflight_key(endpoint, key_id)], ["status"]
        )
        return float(paused_ms) / 1000, int(held)

    def effective(self, endpoint: str, key_id: str, limits: Limits) -> Effective:
        """The limits ``key_id`` runs under now: the file's, lowered by what was learned."""
        rpm, tpm, max_fl, factor = self._run(
            [self._state_key(endpoint, key_id)],
            ["effective", *limits.script_args(self.adaptation.rate_recover_s)],
        )
        return Effective(requests_per_min=float(rpm) or None, tokens_per_min=float(tpm) or None,
                         max_in_flight=int(max_fl) or None, factor=float(factor))

    def forget(self, endpoint: str, key_id: str) -> None:
        """Drop what was learned about ``key_id`` (and its pause): back to the file's limits.

        For an operator who raised a key's tier, and for benchmarks. Raises
        RateLimiterUnavailable.
        """
        try:
            self._redis.hdel(self._state_key(endpoint, key_id), "lr", "lt", "f", "fa", "c", "ca",
                             "p")
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(
                f"rate limiter: Redis at {self._address()} does not answer ({type(exc).__name__})"
            ) from exc

    # -- internals ---------------------------------------------------------------------------

    def _state_key(self, endpoint: str, key_id: str) -> str:
        # {endpoint} is a Redis Cluster hash tag: all keys of one endpoint share a slot, so the
        # multi-key acquire works there too.
        return f"{self._prefix}rl:{{{endpoint}}}:{key_id}"

    def _inflight_key(self, endpoint: str, key_id: str) -> str:
        return self._state_key(endpoint, key_id) + ":inflight"

    def _decide(
        self, endpoint: str, key_ids: Sequence[str], limits: Limits, est_tokens: int, *,
        commit: bool, holder: str, lease_s: float,
    ) -> tuple[bool, int, float, str, float]:
        keys: list[str] = []
        for key_id in key_ids:
            keys += [self._state_key(endpoint, key_id), self._inflight_key(endpoint, key_id)]
        args = ["acquire", *limits.script_args(self.adaptation.rate_recover_s),
                1 if commit else 0, est_tokens, holder, lease_s * 1000, self._poll_ms]
        admitted, index, wait_ms, kind, now_ms = self._run(keys, args)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        return bool(admitted), int(index), float(wait_ms) / 1000, kind, float(now_ms)

    def _release(self, permit: Permit, token_delta: int, limits: Limits, signal: Signal,
                 stated: StatedLimits) -> None:
        keys = [self._state_key(permit.endpoint, permit.key_id),
                self._inflight_key(permit.endpoint, permit.key_id)]
        a = self.adaptation
        try:
            held = self._run(keys, [
                "release", *limits.script_args(a.rate_recover_s), permit._holder, token_delta,
                signal.value, permit._started_ms, stated.requests_per_min or 0,
                stated.tokens_per_min or 0, a.rate_backoff, a.min_factor, a.inflight_backoff,
                a.inflight_recover,
            ])
        except RateLimiterUnavailable as exc:
            log.warning("%s; the slot comes back when its lease ends", exc)
            return
        self._rooms.released(permit.endpoint, permit.key_id)
        if limits.max_in_flight and not held:
            log.warning("endpoint %s key %s: in-flight lease ran out before release "
                        "(make lease_s longer than the longest call)",
                        permit.endpoint, permit.key_id)

    def _run(self, keys: list[str], args: list[Any]) -> Any:
        """The one boundary where redis-py errors become RateLimiterUnavailable."""
        try:
            return self._script(keys=keys, args=[_arg(a) for a in args])
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(
                f"rate limiter: Redis at {self._address()} does not answer "
                f"({type(exc).__name__}); no request was sent"
            ) from exc

    def _address(self) -> str:
        kwargs = self._redis.connection_pool.connection_kwargs
        if "path" in kwargs:
            return f"unix:{kwargs['path']}"
        # Host and port only: the URL may carry a password.
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"


def _arg(value: object) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("rate limiter: a non-finite number")
        return repr(value)
    return str(value)
