"""Generator: ``samples`` independent answers from one LLM (sample i is seed i).

Parse rule: a reply without an ``Answer:`` line is still a candidate (its reasoning can help a
fuser); it counts as a parse failure, and scores as no answer if it ends up final.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import Role, build_prompt
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    answers_as_candidates,
    spec,
)


class Generator:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        prompt = build_prompt(Role.GENERATE, question)
        samples = int(getattr(component, "samples", 1) or 1)
        return [spec(component, Role.GENERATE, prompt, i) for i in range(samples)]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        return answers_as_candidates(results)
