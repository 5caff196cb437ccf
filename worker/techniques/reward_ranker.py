"""Reward-model ranker: a ranker whose LLM is a reward model (Archon's ``llm-blender/PairRM``)
on a scoring endpoint. One call scores every input candidate against the query (the rerank
wire format, worker/clients/rerank.py); the ``top_k`` best go on, each with its critique, as
an LLM ranker's would. Archon runs PairRM locally in batches of ``ranker_batch_size``; a scoring
endpoint takes all candidates of a question in one request, so that field has no effect.

Rule after the last attempt: scores that cannot be read (not one number per candidate) count
as a parse failure; the candidates keep their input order and the first ``top_k`` go on.
Equal scores keep input order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    ReplyError,
    Role,
    planned,
    spec,
)
from worker.techniques.conversation import Conversation
from worker.techniques.ranker import keep_top_k


class RewardRanker:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        if not planned(component, state).calls:  # a ranker's rule: one call, from 2 candidates
            return []
        base = spec(component, Role.SCORE, (("user", conversation.query_text()),), 0)
        return [replace(base, documents=tuple(c.text for c in state.candidates))]

    def parse(self, component: Any, state: LayerState, spec: CallSpec,
              text: str) -> list[int]:
        try:
            scores = json.loads(text)["scores"]
            values = [float(s) for s in scores]
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplyError(f"not a list of scores: {text[:80]!r}") from exc
        if len(values) != len(state.candidates):
            raise ReplyError(f"{len(values)} scores for {len(state.candidates)} candidates")
        ranked = sorted(range(len(values)), key=lambda i: -values[i])
        return [i + 1 for i in ranked]

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        return keep_top_k(component, state, results)
