"""The OpenAI chat-completions wire format, spoken by OpenAI, Together, Groq, vLLM, Ollama,
llama.cpp's server, TGI and the itas simulator: ``POST {base_url}/v1/chat/completions`` with
``Authorization: Bearer <key>``."""

from __future__ import annotations

from typing import Any

from worker.clients.base import ChatRequest

__all__ = ["OPENAI"]


class OpenAIFormat:
    path = "/v1/chat/completions"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.llm,
            "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "n": request.n,
            "stream": False,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        if request.top_p is not None:
            body["top_p"] = request.top_p
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


OPENAI = OpenAIFormat()
