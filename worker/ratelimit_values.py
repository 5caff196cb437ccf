"""The limiter's value objects: the limits of a key, what a call teaches, how fast the
limiter learns, and what applies now. No I/O here; worker/ratelimit.py uses them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["Adaptation", "Effective", "Limits", "Signal", "StatedLimits"]


@dataclass(frozen=True)
class Limits:
    """The limits of one API key of one endpoint. ``None`` means "no such limit".

    Usage::

        Limits(requests_per_min=300)                       # 5 requests/s, no other limit
        Limits(requests_per_min=60, tokens_per_min=40_000, max_in_flight=8)
        Limits(requests_per_min=600, burst_s=0.2)          # at most 2 requests back to back
        Limits()                                           # no limit at all (a local server)

    ``burst_s`` is how many seconds' worth of each rate may go back to back (at least one
    request): in any window of W seconds at most ``rpm * (W + burst_s) / 60`` requests (at least
    one) start. The default, 1 s, keeps a minute within 1/60 of its limit, which providers'
    continuously refilled buckets (OpenAI, Anthropic) never mind, while absorbing the few
    milliseconds by which a waiting worker wakes up late.
    """

    requests_per_min: int | None = None
    tokens_per_min: int | None = None
    max_in_flight: int | None = None
    burst_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("requests_per_min", "tokens_per_min", "max_in_flight"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"Limits.{name}: expected a positive integer or None")
        if not (isinstance(self.burst_s, int | float) and 0 < self.burst_s <= 60):
            raise ValueError("Limits.burst_s: expected seconds in (0, 60]")

    def script_args(self, recover_s: float) -> list[float]:
        """ratelimit.lua's LIM: (request interval ms, token interval ms, burst ms, max in
        flight, 429 factor recovery ms)."""
        r_int = 60_000 / self.requests_per_min if self.requests_per_min else 0.0
        t_int = 60_000 / self.tokens_per_min if self.tokens_per_min else 0.0
        return [r_int, t_int, self.burst_s * 1000, float(self.max_in_flight or 0),
                recover_s * 1000]


class Signal(Enum):
    """What a call's outcome says about the key's limits (see the module docstring)."""

    NONE = ""  # nothing to learn (a 5xx, a bad request, ...)
    OK = "ok"  # answered: the in-flight cap may grow back
    RATE_LIMITED = "429"  # sending too fast: cut the rates
    TIMEOUT = "timeout"  # sending too many at once: cut the in-flight cap


@dataclass(frozen=True)
class StatedLimits:
    """The per-minute limits a provider's response headers state for the key (None: unsaid)."""

    requests_per_min: int | None = None
    tokens_per_min: int | None = None


@dataclass(frozen=True)
class Adaptation:
    """How fast the limiter backs off and recovers. Usage::

        Adaptation()                                   # the defaults below
        Adaptation(rate_backoff=0.5, rate_recover_s=300)

    The defaults: a 429 cuts 20% (so the average of the sawtooth between the cut and the
    limit stays near 90% of the limit) and a full factor comes back in 2 minutes (a 20% cut in
    24 s, slow enough that a limit found by 429s alone is probed a few times a minute, not
    hammered); a timeout halves the in-flight calls (TCP's cut) and a slot comes back per
    ``4 * cap`` successes (a quarter of TCP's pace: a server that queued calls until they
    timed out is probed gently).
    """

    rate_backoff: float = 0.8
    rate_recover_s: float = 120.0
    min_factor: float = 0.05
    inflight_backoff: float = 0.5
    inflight_recover: float = 0.25
    #: False: trust the endpoints file alone (what the limiter did before it learned; the
    #: benchmarks' baseline).
    learn: bool = True

    def __post_init__(self) -> None:
        for name in ("rate_backoff", "min_factor", "inflight_backoff", "inflight_recover"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"Adaptation.{name}: expected a number in (0, 1]")
        if not self.rate_recover_s > 0:
            raise ValueError("Adaptation.rate_recover_s: expected positive seconds")


@dataclass(frozen=True)
class Effective:
    """A key's limits as applied now (None: no such limit); ``factor`` is the 429 factor."""

    requests_per_min: float | None
    tokens_per_min: float | None
    max_in_flight: int | None
    factor: float
