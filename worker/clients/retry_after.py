"""How long a provider asked us to wait, from the headers of its answer.

In order of precedence:

- ``retry-after-ms``: milliseconds (OpenAI, Azure, the simulator);
- ``retry-after``: seconds (``"2"``, ``"0.5"``) or an HTTP date (RFC 9110);
- ``x-ratelimit-reset-requests`` / ``-tokens``: a duration such as ``"1s"``, ``"6m0s"``,
  ``"120ms"`` (OpenAI, Groq, Together); ``anthropic-ratelimit-*-reset``: an RFC 3339 time.
  Of these, the reset of a limit whose ``remaining`` is 0 wins, else the longest.

A time in the past means 0; nothing usable means None (the caller picks its own pause).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["parse_duration", "retry_after_s"]

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """``"1m30.5s"`` -> 90.5; ``"120ms"`` -> 0.12; a bare number is seconds; else None."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def _seconds_until(text: str, now: datetime) -> float | None:
    """An HTTP date or an RFC 3339 time, as seconds from ``now`` (None if neither)."""
    moment: datetime | None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait before the next call with this key, per the headers; None if unsaid.

    ``headers`` must look names up case-insensitively (httpx.Headers does) or be lower-case.
    """
    now = now or datetime.now(UTC)
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    if (value := headers.get("retry-after")) is not None:
        seconds = parse_duration(value) if value.strip().replace(".", "", 1).isdigit() else None
        if seconds is None:
            seconds = _seconds_until(value, now)
        if seconds is not None:
            return seconds
    resets: list[tuple[bool, float]] = []
    for limit in ("requests", "tokens"):
        for reset_name, remaining_name, parse in (
            (f"x-ratelimit-reset-{limit}", f"x-ratelimit-remaining-{limit}", parse_duration),
            (
                f"anthropic-ratelimit-{limit}-reset",
                f"anthropic-ratelimit-{limit}-remaining",
                lambda text: _seconds_until(text, now),
            ),
        ):
            reset = headers.get(reset_name)
            seconds = parse(reset) if reset is not None else None
            if seconds is not None:
                resets.append((headers.get(remaining_name, "").strip() == "0", seconds))
    if not resets:
        return None
    exhausted = [s for is_exhausted, s in resets if is_exhausted]
    return max(exhausted or [s for _, s in resets])
