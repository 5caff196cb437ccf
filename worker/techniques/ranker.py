"""Ranker: one call that orders the input candidates best first; the top ``top_k`` go on.

Parse rule: a ranking that is not a permutation of the candidates is a parse failure
(counted); the candidates then keep their input order and the first ``top_k`` go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import ProtocolParseError, Role, parse_ranking
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    prompt_with,
    spec,
)


class Ranker:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        if len(state.candidates) < 2:
            return []
        prompt = prompt_with(Role.RANK, question, state.candidates,
                             bool(getattr(component, "use_critiques", False)))
        return [spec(component, Role.RANK, prompt, 0)]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        top_k = int(getattr(component, "top_k", None) or len(state.candidates))
        out = Contribution()
        order = list(range(1, len(state.candidates) + 1))
        if results:
            if results[0].text is None:
                out.failed_calls = 1
            else:
                try:
                    order = parse_ranking(results[0].text, len(state.candidates))
                except ProtocolParseError:
                    out.parse_failures.append(results[0])
        out.candidates = [state.candidates[i - 1] for i in order[:top_k]]
        return out
