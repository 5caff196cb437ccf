"""The rerank wire format of reward models and cross-encoders: ``POST {base_url}/rerank``
with ``{"model", "query", "documents"}``, answered ``{"results": [{"index",
"relevance_score"}, ...], "usage": {"total_tokens"}}`` — the shape served by vLLM's and
Infinity's ``/v1/rerank``, Jina's and Cohere's rerank APIs, and the simulator's reward model.

A reward-model ranker (Archon's ``llm-blender/PairRM``) scores the candidates against the
query this way. The query is the request's last user message, the documents its
``documents``; the reply is turned into text, ``{"scores": [s_1, ..., s_n]}`` in document
order, so that it is cached and recorded like any reply and read by the reward ranker's parser.
"""

from __future__ import annotations

import json
from typing import Any

from worker.clients.base import ChatRequest, TopLogprobs
from worker.clients.openai import OPENAI

__all__ = ["RERANK"]


class RerankFormat:
    path = "/rerank"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def body(self, request: ChatRequest) -> dict[str, Any]:
        if not request.documents:
            raise ValueError("a rerank endpoint scores documents, and this request has none "
                             "(only a ranker can use a reward model)")
        users = [m["content"] for m in request.messages if m["role"] == "user"]
        if not users:
            raise ValueError("a rerank request needs a user message as its query")
        return {"model": request.llm, "query": users[-1], "documents": list(request.documents),
                "top_n": len(request.documents)}

    def parse(self, body: Any) -> tuple[tuple[str, ...], tuple[str, ...], int, int, str]:
        results = body["results"]
        scores: dict[int, float] = {}
        for row in results:
            scores[int(row["index"])] = float(row["relevance_score"])
        if not scores or sorted(scores) != list(range(len(scores))):
            raise ValueError(f"results cover documents {sorted(scores)}, not 0..n-1")
        usage = body.get("usage") or {}
        tokens = int(usage.get("total_tokens") or usage.get("prompt_tokens") or 0)
        text = json.dumps({"scores": [scores[i] for i in range(len(scores))]})
        return (text,), ("stop",), tokens, 0, str(body.get("model", ""))

    def top_logprobs(self, body: Any) -> tuple[TopLogprobs, ...]:
        return ()  # scores, not tokens

    def error_message(self, body: Any) -> str:
        return OPENAI.error_message(body)


RERANK = RerankFormat()
