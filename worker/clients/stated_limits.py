"""The per-minute limits a provider states for the key in its response headers.

- ``x-ratelimit-limit-requests`` / ``x-ratelimit-limit-tokens``: OpenAI, Together, Groq, vLLM
  behind a gateway, the simulator;
- ``anthropic-ratelimit-requests-limit`` / ``anthropic-ratelimit-tokens-limit``: Anthropic.

Some providers state a per-day count in the requests header (Groq). The limiter only ever
*lowers* a key's rate to a stated limit, and a day's count is never below the minute's, so
reading every stated number as per minute is safe. The ``remaining`` and ``reset`` headers
are not used here: retry_after.py reads them for a 429's pause.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.ratelimit import StatedLimits

__all__ = ["stated_limits"]

_NAMES = {
    "requests": ("x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit"),
    "tokens": ("x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-limit"),
}


def _positive_int(headers: Mapping[str, str], names: tuple[str, ...]) -> int | None:
    for name in names:
        text = headers.get(name)
        if text is None:
            continue
        try:
            value = int(float(text.strip()))
        except ValueError:
            continue  # a malformed header teaches nothing
        if value > 0:
            return value
    return None


def stated_limits(headers: Mapping[str, str]) -> StatedLimits:
    """The limits ``headers`` state (None where unsaid or malformed).

    ``headers`` must look names up case-insensitively (httpx.Headers does) or be lower-case.
    """
    return StatedLimits(
        requests_per_min=_positive_int(headers, _NAMES["requests"]),
        tokens_per_min=_positive_int(headers, _NAMES["tokens"]),
    )
