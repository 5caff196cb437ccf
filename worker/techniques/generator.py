"""Generator: ``samples`` independent responses from one LLM to the conversation as it is
(sample i is seed i). As in Archon it reads no candidates: a generator after layer 0 (MoA's
layered proposers) answers the query afresh, and its responses replace the candidates that
reached it.

Rule: an empty or truncated reply (after every attempt) is not a candidate; it is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    Role,
    free_text,
    no_system,
    planned,
    replies_as_candidates,
    spec,
)
from worker.techniques.conversation import Conversation


class Generator:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        messages = conversation.as_is(no_system=no_system(component))
        return [spec(component, Role.GENERATE, messages, i)
                for i in range(planned(component, state).calls)]

    def parse(self, component: Any, state: LayerState, spec: CallSpec, text: str) -> str:
        return free_text(text)

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        return replies_as_candidates(results)
