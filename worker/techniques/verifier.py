"""Verifier: one call per input candidate asking whether it is right; verified ones go on,
with their critiques.

Rules (Archon's): with ``first_k``, the first ``first_k`` verified candidates in input order go
on; when no candidate is verified, all go on (a verifier filters, it never empties a layer).
Archon asks one candidate after another and stops at ``first_k``; itas asks for all at once (the
layer's calls overlap), so a verifier with ``first_k`` may cost more calls than in Archon, and
chooses the same candidates. After the last attempt, a verdict that cannot be read counts as a
parse failure and does not reject its candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques import verifier_prompt
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Candidate,
    Contribution,
    LayerState,
    Role,
    no_system,
    spec,
)
from worker.techniques.conversation import Conversation


class Verifier:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        return [spec(component, Role.VERIFY,
                     verifier_prompt.messages(conversation, c, no_system=no_system(component)),
                     0)
                for c in state.candidates]

    def parse(self, component: Any, state: LayerState, spec: CallSpec, text: str) -> bool:
        return verifier_prompt.parse(text)

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution()
        kept: list[Candidate] = []
        for candidate, result in zip(state.candidates, results, strict=True):
            if result.text is None:
                out.failed_calls += 1
                kept.append(candidate)
            elif not result.usable:
                out.unusable.append(result)
                kept.append(candidate)
            elif result.parsed:
                kept.append(candidate)
        first_k = getattr(component, "first_k", None)
        out.candidates = (kept or list(state.candidates))[: int(first_k) if first_k else None]
        return out
