"""Per-key rate limits in the simulator's memory: requests/min and tokens/min.

The simulator is one process, so a pair of token buckets per API key (capacity = the per-minute
limit, refilled continuously at limit/60 per second) is exact. A request is admitted only when
both buckets hold enough; otherwise nothing is taken and the caller answers 429 with the wait.
Not thread-safe: it is used from the event loop only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from simulator.fleet import KeySpec

__all__ = ["Decision", "RateLimiter"]


@dataclass(frozen=True)
class Decision:
    """The outcome of :meth:`RateLimiter.admit`, with what the rate-limit headers report.

    ``retry_after_s`` is 0 when admitted; ``reset_*_s`` is the time until that bucket is full.
    ``too_large`` marks a request that exceeds the tokens/min limit on its own (never admitted).
    """

    allowed: bool
    retry_after_s: float
    limit_requests: int
    remaining_requests: int
    reset_requests_s: float
    limit_tokens: int
    remaining_tokens: int
    reset_tokens_s: float
    too_large: bool = False


class _Bucket:
    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        return max(0.0, (amount - self.level) / self.rate)

    def reset_s(self) -> float:
        return (self.capacity - self.level) / self.rate


class RateLimiter:
    """Token buckets for the fleet's keys. ``clock`` is injectable for the tests of the math."""

    def __init__(
        self, keys: Iterable[KeySpec], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        now = clock()
        self._buckets = {
            k.key: (_Bucket(k.requests_per_min, now), _Bucket(k.tokens_per_min, now)) for k in keys
        }

    def admit(self, key: str, tokens: int) -> Decision:
        """Take one request and ``tokens`` tokens from ``key``'s buckets, if both suffice."""
        requests, token_bucket = self._buckets[key]
        now = self._clock()
        requests.refill(now)
        token_bucket.refill(now)
        too_large = tokens > token_bucket.capacity
        wait = max(requests.wait_for(1), token_bucket.wait_for(tokens))
        allowed = wait <= 0 and not too_large
        if allowed:
            requests.level -= 1
            token_bucket.level -= tokens
        return Decision(
            allowed=allowed,
            retry_after_s=0.0 if allowed or too_large else wait,
            limit_requests=int(requests.capacity),
            remaining_requests=max(0, int(requests.level)),
            reset_requests_s=requests.reset_s(),
            limit_tokens=int(token_bucket.capacity),
            remaining_tokens=max(0, int(token_bucket.level)),
            reset_tokens_s=token_bucket.reset_s(),
            too_large=too_large,
        )
