"""Endpoint clients over httpx: one wire format per endpoint kind, one error boundary.

    call_llm(endpoint, request, limiter=...)     rate-limited, key-rotating, retrying (calling)
      └── send_chat(endpoint, request, ...)      one HTTP exchange; all error mapping (transport)
            └── OPENAI / ANTHROPIC               bodies in and out, no I/O (openai, anthropic)

Kinds: ``openai`` (also spelt ``openai-compatible``: OpenAI, Together, Groq, vLLM, Ollama,
llama.cpp, TGI, the simulator) and ``anthropic``.
"""

from __future__ import annotations

from worker.clients.base import (
    ChatRequest,
    ChatResponse,
    EndpointConfig,
    TopLogprobs,
    estimate_tokens,
)
from worker.clients.calling import NO_KEY, RetryPolicy, call_llm, limits_of
from worker.clients.transport import reset_http_client, send_chat

__all__ = [
    "NO_KEY",
    "ChatRequest",
    "ChatResponse",
    "EndpointConfig",
    "RetryPolicy",
    "TopLogprobs",
    "call_llm",
    "estimate_tokens",
    "limits_of",
    "reset_http_client",
    "send_chat",
]
