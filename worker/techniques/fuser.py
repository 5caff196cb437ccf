"""Fuser: ``samples`` responses from one LLM that read every input candidate (and the
critiques that reached them, as Archon's fuser does) and write one better response each.

Rules: an empty or truncated fusion (after every attempt) is not a candidate, and is counted;
when every fusion call failed or was unusable, the input candidates go on (they are the best
the layer has).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques import fuser_prompt
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


class Fuser:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        calls = planned(component, state).calls
        if not calls:
            return []
        messages = fuser_prompt.messages(
            conversation, state.candidates,
            length_control=bool(getattr(component, "length_control", False)),
            no_system=no_system(component))
        return [spec(component, Role.FUSE, messages, i) for i in range(calls)]

    def parse(self, component: Any, state: LayerState, spec: CallSpec, text: str) -> str:
        return free_text(text)

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        if not results:  # nothing to fuse: hand the input on unchanged
            return Contribution(candidates=list(state.candidates))
        out = replies_as_candidates(results)
        if not out.candidates:
            out.candidates = list(state.candidates)
        return out
