"""The OpenAI chat-completions wire format, spoken by OpenAI, Together, Groq, vLLM, Ollama,
llama.cpp's server, TGI and the itas simulator: ``POST {base_url}/chat/completions`` with
``Authorization: Bearer <key>`` (``base_url`` as the provider's SDK takes it, ``.../v1``).

**Reasoning models.** A request in reasoning form (``ChatRequest.reasoning``: OpenAI's
o-series and GPT-5 class) goes with ``max_completion_tokens`` instead of ``max_tokens`` and
without ``temperature`` and ``top_p``, which such models refuse (only their default is
allowed); Archon drops both for o1 the same way. ``reasoning_effort`` goes whenever it is set,
in either form: a model that does not take it says so with a 400, which is better than an
effort silently not applied.

**Log-probabilities.** A request with ``top_logprobs`` k > 0 is sent with ``logprobs: true,
top_logprobs: k``; each choice's first output token's top tokens are read from
``choices[i].logprobs.content[0].top_logprobs`` (``[{"token", "logprob", "bytes"}, ...]``), or,
from a server that answers in the legacy completions shape, from
``choices[i].logprobs.top_logprobs[0]`` (``{token: logprob, ...}``). They come back best first.
A choice without them, or in a shape not known here, gives none (an empty tuple), never an
error: a caller that wanted them reads the text instead. Entries that are not a string token
with a finite log-probability are left out (PostgreSQL's JSON has no ``-Infinity``).
"""

from __future__ import annotations

import math
from typing import Any

from worker.clients.base import ChatRequest, TopLogprobs

__all__ = ["OPENAI"]


class OpenAIFormat:
    path = "/chat/completions"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.llm,
            "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
        }
        if request.reasoning:
            body["max_completion_tokens"] = request.max_tokens
        else:
            body["temperature"] = request.temperature
            body["max_tokens"] = request.max_tokens
        if request.reasoning_effort is not None:
            body["reasoning_effort"] = request.reasoning_effort
        body["n"] = request.n
        body["stream"] = False
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        if request.top_p is not None and not request.reasoning:
            body["top_p"] = request.top_p
        if request.top_logprobs > 0:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        return body

    def parse(self, body: Any) -> tuple[tuple[str, ...], tuple[str, ...], int, int, str]:
        choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
        if not choices:
            raise ValueError("no choices")
        texts = []
        for choice in choices:
            content = choice["message"]["content"]
            if not isinstance(content, str) or not content.strip():
                raise ValueError("a choice with empty content")
            texts.append(content)
        usage = body["usage"]
        tokens_in, tokens_out = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
        finishes = tuple(str(c.get("finish_reason") or "") for c in choices)
        return tuple(texts), finishes, tokens_in, tokens_out, str(body.get("model", ""))

    def top_logprobs(self, body: Any) -> tuple[TopLogprobs, ...]:
        try:
            choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
        except (KeyError, TypeError, AttributeError, ValueError):
            return ()
        return tuple(_first_token_top(choice) for choice in choices)

    def error_message(self, body: Any) -> str:
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                return str(error.get("message", ""))
            if isinstance(error, str):  # vLLM, TGI
                return error
            if isinstance(body.get("message"), str):
                return str(body["message"])
        return ""


def _first_token_top(choice: Any) -> TopLogprobs:
    """One choice's first output token's top log-probabilities (see the module docstring)."""
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    if not isinstance(logprobs, dict):
        return ()
    content = logprobs.get("content")
    pairs: list[tuple[Any, Any]]
    if isinstance(content, list):  # the chat shape
        first = content[0] if content else None
        tops = first.get("top_logprobs") if isinstance(first, dict) else None
        if not isinstance(tops, list):
            return ()
        pairs = [(t.get("token"), t.get("logprob")) for t in tops if isinstance(t, dict)]
    else:  # the legacy completions shape
        tops = logprobs.get("top_logprobs")
        first = tops[0] if isinstance(tops, list) and tops else None
        if not isinstance(first, dict):
            return ()
        pairs = list(first.items())
    kept = [(token, float(logprob)) for token, logprob in pairs
            if isinstance(token, str) and isinstance(logprob, int | float)
            and not isinstance(logprob, bool) and math.isfinite(logprob)]
    # Best first (providers send them so; a stable sort keeps their order among equals).
    return tuple(sorted(kept, key=lambda pair: -pair[1]))


OPENAI = OpenAIFormat()
