"""Simulated reasoning models (``reasoning: true`` in the fleet file), as OpenAI's o-series and
GPT-5-class models answer on the chat-completions route.

Such a model refuses ``max_tokens`` (it takes ``max_completion_tokens``) and any
``temperature`` but the default 1, with OpenAI's own 400 bodies (param and code included), so
a client meets the refusal a real provider gives. It takes ``reasoning_effort`` (``minimal``,
``low``, ``medium``, ``high``; default ``medium``) and reports the tokens it spent thinking in
``usage.completion_tokens_details.reasoning_tokens``, counted in ``completion_tokens`` (and so
billed, and timed at the LLM's speed) as OpenAI counts them. The effort changes those tokens
only, not the skill. A model that is not a reasoning model refuses ``reasoning_effort``, as
OpenAI's chat models do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EFFORTS", "Refusal", "add_reasoning_usage", "reasoning_tokens", "refusal"]

EFFORTS = ("minimal", "low", "medium", "high")
DEFAULT_EFFORT = "medium"
#: Simulated thinking per choice at each effort (tokens).
_TOKENS = {"minimal": 0, "low": 64, "medium": 256, "high": 1024}


@dataclass(frozen=True)
class Refusal:
    """A 400 as OpenAI words it: ``message``, ``param``, ``code``."""

    message: str
    param: str
    code: str


def refusal(body: dict[str, Any], reasoning: bool) -> Refusal | None:
    """Why an OpenAI-route ``body`` is refused by a model that is (or is not) a reasoning
    model; None when it is not."""
    if reasoning and body.get("max_tokens") is not None:
        return Refusal("Unsupported parameter: 'max_tokens' is not supported with this model. "
                       "Use 'max_completion_tokens' instead.", "max_tokens",
                       "unsupported_parameter")
    temperature = body.get("temperature")
    if reasoning and temperature is not None and temperature != 1:
        return Refusal(f"Unsupported value: 'temperature' does not support {temperature} with "
                       "this model. Only the default (1) value is supported.", "temperature",
                       "unsupported_value")
    effort = body.get("reasoning_effort")
    if effort is None:
        return None
    if not reasoning:
        return Refusal("Unsupported parameter: 'reasoning_effort' is not supported with this "
                       "model.", "reasoning_effort", "unsupported_parameter")
    if effort not in EFFORTS:
        return Refusal(f"Invalid value: '{effort}'. Supported values are: 'minimal', 'low', "
                       "'medium', and 'high'.", "reasoning_effort", "invalid_value")
    return None


def reasoning_tokens(effort: str | None, choices: int) -> int:
    """The tokens ``choices`` choices spend thinking at ``effort`` (None: the default)."""
    return _TOKENS[effort or DEFAULT_EFFORT] * choices


def add_reasoning_usage(completion: dict[str, Any], tokens: int) -> None:
    """Count ``tokens`` of thinking into an OpenAI completion body's ``usage``."""
    usage = completion["usage"]
    usage["completion_tokens"] += tokens
    usage["total_tokens"] += tokens
    usage["completion_tokens_details"] = {"reasoning_tokens": tokens}
