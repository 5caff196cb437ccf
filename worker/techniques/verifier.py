"""Verifier: one call per input candidate asking whether it is right; verified ones go on.

Rules: a verdict that does not parse counts as a parse failure and does not reject its
candidate; when no candidate is verified, all go on (a verifier filters, it never empties a
layer — as in Archon); with ``first_k``, at most the first ``first_k`` verified go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import ProtocolParseError, Role, parse_verdict
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    prompt_with,
    spec,
)


class Verifier:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        return [spec(component, Role.VERIFY, prompt_with(Role.VERIFY, question, [c], False), 0)
                for c in state.candidates]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution()
        kept = []
        for candidate, result in zip(state.candidates, results, strict=True):
            if result.text is None:
                out.failed_calls += 1
                kept.append(candidate)
                continue
            try:
                if parse_verdict(result.text):
                    kept.append(candidate)
            except ProtocolParseError:
                out.parse_failures.append(result)
                kept.append(candidate)
        first_k = getattr(component, "first_k", None)
        out.candidates = (kept or list(state.candidates))[: int(first_k) if first_k else None]
        return out
