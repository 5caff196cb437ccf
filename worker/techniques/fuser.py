"""Fuser: ``samples`` answers from one LLM that read every input candidate (and the critiques
that reached them, as Archon's fuser does) and write one better answer each.

Parse rule: as the generator's: an answer without ``Answer:`` stays a candidate, counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import Role
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    answers_as_candidates,
    prompt_with,
    spec,
)


class Fuser:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        if not state.candidates:
            return []
        prompt = prompt_with(Role.FUSE, question, state.candidates, True)
        samples = int(getattr(component, "samples", 1) or 1)
        return [spec(component, Role.FUSE, prompt, i) for i in range(samples)]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        if not results:  # nothing to fuse: hand the input on unchanged
            return Contribution(candidates=list(state.candidates))
        out = answers_as_candidates(results)
        if not out.candidates:  # every fusion call failed: the input is the best we have
            out.candidates = list(state.candidates)
        return out
