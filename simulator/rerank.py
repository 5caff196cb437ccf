"""The rerank route: a simulated reward model (such as PairRM) scores candidate responses.

Request and response have the shape of the rerank APIs of Jina, Cohere and vLLM::

    POST /v1/rerank   (also /rerank)
    {"model": "sim-pairrm", "query": "...", "documents": ["...", {"text": "..."}],
     "top_n": 2, "return_documents": true}
    -> {"id": "rerank-sim-...", "model": "sim-pairrm",
        "results": [{"index": 1, "relevance_score": 0.93, "document": {"text": "..."}}, ...],
        "usage": {"total_tokens": 123}}

``results`` are sorted by score, best first, cut to ``top_n``; ``document`` is left out when
``return_documents`` is false. A reward model is a fleet LLM with ``kind: reward``; its
``judge`` skill is its insight, as for an LLM judge (simulator/judging.py): with insight it
sees whether a document's final answer is right, without it a coin decides, and the score is
high or low accordingly, plus a small per-document noise. Scores are deterministic for a given
(model, query, document): a reward model has no sampling. Tokens: the query is read once per
document (a cross-encoder), plus the documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulator.answer_keys import Placement
from simulator.code_judging import FOREIGN, code_value
from simulator.fleet import LLMSpec
from simulator.quality import read_answer
from simulator.skill import draw, insight, sigmoid
from simulator.text import normalize_question
from simulator.values import Kind, extract
from simulator.wire import count_tokens

__all__ = ["RerankCall", "parse", "response", "scores"]

_MAX_DOCUMENTS = 1000
_SEPARATION = 1.5  # logit between "looks right" and "looks wrong"; noise is +-1


@dataclass(frozen=True)
class RerankCall:
    """A validated rerank request."""

    query: str
    documents: tuple[str, ...]
    top_n: int | None
    return_documents: bool

    @property
    def tokens(self) -> int:
        query = count_tokens(self.query)
        return sum(query + count_tokens(d) for d in self.documents)


def parse(body: dict[str, Any]) -> RerankCall:
    """Validate a rerank body; raises ValueError naming the field."""
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query: expected a non-empty string")
    raw = body.get("documents")
    if not isinstance(raw, list) or not raw or len(raw) > _MAX_DOCUMENTS:
        raise ValueError(f"documents: expected a list of 1..{_MAX_DOCUMENTS} documents")
    documents = []
    for i, doc in enumerate(raw):
        text = doc.get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            raise ValueError(f"documents[{i}]: expected a string or {{\"text\": string}}")
        documents.append(text)
    top_n = body.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        raise ValueError("top_n: expected a positive integer")
    return_documents = body.get("return_documents", True)
    if not isinstance(return_documents, bool):
        raise ValueError("return_documents: expected true or false")
    return RerankCall(query, tuple(documents), top_n, return_documents)


def scores(llm: LLMSpec, call: RerankCall, placement: Placement | None) -> list[float]:
    """One relevance score in (0, 1) per document, in document order."""
    key = placement.key if placement is not None else None
    kind = key.kind if key is not None else Kind.NUMBER
    query = normalize_question(call.query)
    level = insight(llm, key.difficulty) if key is not None and kind is not Kind.OPEN else 0.0
    out = []
    for document in call.documents:
        noise = 2 * draw(llm.name, query, "noise", normalize_question(document)) - 1
        if kind is Kind.OPEN:
            # An open question: the quality written in the answer (simulator/quality.py).
            turn = placement.turn if placement is not None else 0
            seen = read_answer(document, key, turn)
            out.append(round(sigmoid(6 * (seen.quality - 0.5) + noise), 6))
            continue
        if kind is Kind.CODE and key is not None and key.code is not None:
            value = code_value(key.code, document)
        else:
            value = extract(kind, document, key.options if key is not None else ())
        if value is None:
            believed = False
        elif value.startswith(FOREIGN):  # code the simulator did not write: unknown quality
            believed = draw(llm.name, query, "coin", value) < 0.5
        elif draw(llm.name, query, "insight", value) < level:
            believed = key is not None and key.is_right(value)
        else:
            believed = draw(llm.name, query, "coin", value) < 0.5
        out.append(round(sigmoid((_SEPARATION if believed else -_SEPARATION) + noise), 6))
    return out


def response(model: str, call: RerankCall, values: Sequence[float]) -> dict[str, Any]:
    """The rerank response body for ``values`` (empty values: the "empty" fault)."""
    order = sorted(range(len(values)), key=lambda i: -values[i])[: call.top_n]
    results = []
    for i in order:
        item: dict[str, Any] = {"index": i, "relevance_score": values[i]}
        if call.return_documents:
            item["document"] = {"text": call.documents[i]}
        results.append(item)
    return {
        "id": f"rerank-sim-{uuid.uuid4().hex[:24]}",
        "model": model,
        "results": results,
        "usage": {"total_tokens": call.tokens},
    }
