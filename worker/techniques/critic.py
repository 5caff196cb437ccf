"""Critic: one call that writes strengths and weaknesses of every input candidate; each
critique travels with its candidate to later rankers and fusers (Archon's ``critiques``).

Rule after the last attempt: the critiques that can be read are attached, the candidates
without one keep none, and the reply counts as a parse failure. The candidates always go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques import critic_prompt
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Candidate,
    Contribution,
    LayerState,
    Role,
    no_system,
    planned,
    spec,
)
from worker.techniques.conversation import Conversation


class Critic:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        if not planned(component, state).calls:
            return []
        messages = critic_prompt.messages(conversation, state.candidates,
                                          no_system=no_system(component))
        return [spec(component, Role.CRITIQUE, messages, 0)]

    def parse(self, component: Any, state: LayerState, spec: CallSpec,
              text: str) -> dict[int, str]:
        return critic_prompt.parse(text, len(state.candidates))

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution(passthrough=list(state.candidates))
        if not results:
            return out
        result = results[0]
        if result.text is None:
            out.failed_calls = 1
            return out
        if result.usable:
            critiques: dict[int, str] = result.parsed
        else:
            out.unusable.append(result)
            critiques = critic_prompt.parse_partial(result.text, len(state.candidates))
        out.passthrough = [Candidate(c.text, critiques.get(i, c.critique))
                           for i, c in enumerate(state.candidates, 1)]
        return out
