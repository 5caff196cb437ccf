"""Ranker: one call that orders the input candidates best first; the top ``top_k`` go on,
each with its critique. The ranker sees the critiques whenever they exist (Archon's ranker
prompt shows them whenever a critic wrote some, whatever ``use_critiques`` says).

Rule after the last attempt: a reply with no usable ranking counts as a parse failure; the
candidates keep their input order and the first ``top_k`` go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques import ranker_prompt
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    Role,
    no_system,
    planned,
    spec,
)
from worker.techniques.conversation import Conversation


def top_k_of(component: Any, state: LayerState) -> int:
    return int(getattr(component, "top_k", None) or len(state.candidates))


def keep_top_k(component: Any, state: LayerState, results: Sequence[CallResult]) -> Contribution:
    """The rankers' rule (LLM or reward model): the ``top_k`` first of the order the one call
    gave; its input order when the call failed or its reply stayed unreadable (counted)."""
    out = Contribution()
    order = list(range(1, len(state.candidates) + 1))
    if results:
        if results[0].text is None:
            out.failed_calls = 1
        elif results[0].usable:
            order = results[0].parsed
        else:
            out.unusable.append(results[0])
    out.candidates = [state.candidates[i - 1] for i in order[:top_k_of(component, state)]]
    return out


class Ranker:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        if not planned(component, state).calls:
            return []
        messages = ranker_prompt.messages(conversation, state.candidates,
                                          no_system=no_system(component))
        return [spec(component, Role.RANK, messages, 0)]

    def parse(self, component: Any, state: LayerState, spec: CallSpec,
              text: str) -> list[int]:
        return ranker_prompt.parse(text, len(state.candidates), top_k_of(component, state))

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        return keep_top_k(component, state, results)
