"""The Anthropic messages wire format: ``POST {base_url}/messages`` with ``x-api-key`` and
``anthropic-version`` headers (``base_url`` ``https://api.anthropic.com``, which means
``.../v1``, or with the ``/v1`` written out).

Anthropic takes the system prompt as a top-level ``system`` field, not as a message, and wants
user and assistant turns to alternate. So system messages (wherever they are) are joined into
``system`` in order, and consecutive turns of the same role are merged, each change documented
here rather than left to a 400 from the provider. A temperature above 1 (fine for OpenAI, up to
2) is sent as 1, the top of Anthropic's range. Anthropic's API gives no log-probabilities: a
request's ``top_logprobs`` is not sent, and its answers have none (callers read the text).
A request's reasoning form and ``reasoning_effort`` (OpenAI's) are not Anthropic's: the
request goes as any other, with ``max_tokens`` and ``temperature``, which its models take.
"""

from __future__ import annotations

from typing import Any

from worker.clients.base import ChatRequest, TopLogprobs

__all__ = ["ANTHROPIC", "ANTHROPIC_VERSION"]

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicFormat:
    path = "/messages"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def body(self, request: ChatRequest) -> dict[str, Any]:
        if request.n != 1:
            raise ValueError("the anthropic kind answers one choice per call (n=1)")
        system: list[str] = []
        turns: list[dict[str, str]] = []
        for message in request.messages:
            role, content = message["role"], message["content"]
            if role == "system":
                system.append(content)
            elif role not in ("user", "assistant"):
                raise ValueError(f"role {role!r}: anthropic knows system, user and assistant")
            elif turns and turns[-1]["role"] == role:
                turns[-1] = {"role": role, "content": turns[-1]["content"] + "\n\n" + content}
            else:
                turns.append({"role": role, "content": content})
        if not turns or turns[0]["role"] != "user":
            raise ValueError("anthropic needs a user message first (after any system prompt)")
        body: dict[str, Any] = {
            "model": request.llm,
            "messages": turns,
            "max_tokens": request.max_tokens,
            "temperature": min(request.temperature, 1.0),  # Anthropic's range is [0, 1]
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.top_p is not None:
            body["top_p"] = request.top_p
        return body

    def parse(self, body: Any) -> tuple[tuple[str, ...], tuple[str, ...], int, int, str]:
        blocks = body["content"]
        text = "".join(b["text"] for b in blocks if b.get("type") == "text")
        if not text.strip():
            raise ValueError("no text content")
        usage = body["usage"]
        tokens_in, tokens_out = int(usage["input_tokens"]), int(usage["output_tokens"])
        return (text,), (str(body.get("stop_reason") or ""),), tokens_in, tokens_out, str(
            body.get("model", "")
        )

    def top_logprobs(self, body: Any) -> tuple[TopLogprobs, ...]:
        return ()  # the API has none

    def error_message(self, body: Any) -> str:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message", ""))
        return ""


ANTHROPIC = AnthropicFormat()
