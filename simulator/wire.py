"""The two wire formats: OpenAI chat completions and Anthropic messages.

Only the shape of bodies and headers lives here (one place per decision): errors, completions,
rate-limit headers. What the answer *is* comes from simulator/roles.py; when it is sent, from
simulator/server.py.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.ratelimit import Decision

__all__ = ["ANTHROPIC", "OPENAI", "Choice", "Dialect", "count_tokens"]


def count_tokens(text: str) -> int:
    """The simulator's token count: one token per 4 characters, at least 1 for non-empty text.

    Real tokenisers differ by LLM; the rule is documented and used for usage, limits and latency.
    """
    return (len(text) + 3) // 4


class Choice:
    """One generated choice: its text (possibly cut at max_tokens), why it stopped, and its
    log-probabilities when asked (OpenAI's ``logprobs.content`` list)."""

    __slots__ = ("logprobs", "text", "tokens", "truncated")

    def __init__(self, text: str, max_tokens: int | None) -> None:
        tokens = count_tokens(text)
        self.truncated = max_tokens is not None and tokens > max_tokens
        if self.truncated and max_tokens is not None:
            text, tokens = text[: max_tokens * 4], max_tokens
        self.text, self.tokens = text, tokens
        self.logprobs: list[dict[str, Any]] | None = None


def _entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


_TOKEN = re.compile(r"\s*\S{1,4}|\s+")


def token_logprobs(
    text: str, label_probs: dict[str, float] | None, top: int
) -> list[dict[str, Any]]:
    """OpenAI's ``choices[i].logprobs.content`` for ``text``.

    A one-token label with its distribution (a judge's preference label) gets the label's
    log-probability and the ``top`` most likely tokens of the distribution, as OpenAI returns
    them. Any other text is cut into pseudo-tokens of up to 4 characters, each with
    log-probability 0 and itself as its only alternative (the simulator does not model the
    probabilities of free text).
    """
    if label_probs and text in label_probs:
        ranked = sorted(label_probs.items(), key=lambda item: -item[1])[:top]
        entry = _entry(text, math.log(label_probs[text]))
        entry["top_logprobs"] = [_entry(t, math.log(p)) for t, p in ranked]
        return [entry]
    out = []
    for piece in _TOKEN.findall(text):
        entry = _entry(piece, 0.0)
        entry["top_logprobs"] = [_entry(piece, 0.0)] if top else []
        out.append(entry)
    return out


def _duration(seconds: float) -> str:
    return f"{seconds:.3f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:.0f}s"


class Dialect:
    """How one provider spells errors, completions and rate-limit headers."""

    name = "openai"
    error_types = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        404: "invalid_request_error",
        429: "rate_limit_exceeded",
        500: "server_error",
        503: "server_error",
        504: "timeout",
    }

    def error(self, status: int, message: str, code: str | None = None,
              param: str | None = None) -> bytes:
        body = {
            "error": {
                "message": message,
                "type": self.error_types.get(status, "error"),
                "param": param,
                "code": code,
            }
        }
        return json.dumps(body).encode()

    def completion(self, model: str, choices: list[Choice], prompt_tokens: int) -> dict[str, Any]:
        completion_tokens = sum(c.tokens for c in choices)
        return {
            "id": f"chatcmpl-sim-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "itas-simulator",
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": c.text, "refusal": None},
                    "logprobs": (
                        None if c.logprobs is None else {"content": c.logprobs, "refusal": None}
                    ),
                    "finish_reason": "length" if c.truncated else "stop",
                }
                for i, c in enumerate(choices)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def limit_headers(self, d: Decision) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(d.limit_requests),
            "x-ratelimit-remaining-requests": str(d.remaining_requests),
            "x-ratelimit-reset-requests": _duration(d.reset_requests_s),
            "x-ratelimit-limit-tokens": str(d.limit_tokens),
            "x-ratelimit-remaining-tokens": str(d.remaining_tokens),
            "x-ratelimit-reset-tokens": _duration(d.reset_tokens_s),
        }

    def models(self, names: list[str], pricing: dict[str, dict[str, float]]) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": n,
                    "object": "model",
                    "created": 0,
                    "owned_by": "itas-simulator",
                    "pricing_per_mtok": pricing[n],
                }
                for n in names
            ],
        }


class AnthropicDialect(Dialect):
    name = "anthropic"
    error_types = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
        500: "api_error",
        503: "overloaded_error",
        504: "api_error",
    }

    def error(self, status: int, message: str, code: str | None = None,
              param: str | None = None) -> bytes:
        # Anthropic's error body has neither a code nor a param: both are dropped.
        body = {
            "type": "error",
            "error": {"type": self.error_types.get(status, "api_error"), "message": message},
        }
        return json.dumps(body).encode()

    def completion(self, model: str, choices: list[Choice], prompt_tokens: int) -> dict[str, Any]:
        (choice,) = choices
        return {
            "id": f"msg_sim_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": choice.text}],
            "stop_reason": "max_tokens" if choice.truncated else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": choice.tokens},
        }

    def limit_headers(self, d: Decision) -> dict[str, str]:
        now = datetime.now(UTC)

        def at(seconds: float) -> str:
            return (now + timedelta(seconds=seconds)).isoformat(timespec="seconds")

        return {
            "anthropic-ratelimit-requests-limit": str(d.limit_requests),
            "anthropic-ratelimit-requests-remaining": str(d.remaining_requests),
            "anthropic-ratelimit-requests-reset": at(d.reset_requests_s),
            "anthropic-ratelimit-tokens-limit": str(d.limit_tokens),
            "anthropic-ratelimit-tokens-remaining": str(d.remaining_tokens),
            "anthropic-ratelimit-tokens-reset": at(d.reset_tokens_s),
        }

    def models(self, names: list[str], pricing: dict[str, dict[str, float]]) -> dict[str, Any]:
        data = [
            {"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"}
            for n in names
        ]
        return {"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]}


OPENAI = Dialect()
ANTHROPIC = AnthropicDialect()
