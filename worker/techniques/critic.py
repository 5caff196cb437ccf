"""Critic: one call that writes strengths and weaknesses of every input candidate; the
critiques travel with their candidates to later rankers and fusers.

Parse rule: a reply with no parseable critique block leaves the candidates without critiques
(counted); blocks that parse are used, blocks that do not are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import ProtocolParseError, Role, parse_critiques
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Candidate,
    Contribution,
    LayerState,
    prompt_with,
    spec,
)


class Critic:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        if not state.candidates:
            return []
        return [spec(component, Role.CRITIQUE,
                     prompt_with(Role.CRITIQUE, question, state.candidates, False), 0)]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution()
        if not results or results[0].text is None:
            out.failed_calls = len(results)
            return out
        reply = results[0].text
        blocks = _critique_blocks(reply)
        try:
            parse_critiques(reply)
        except ProtocolParseError:
            out.parse_failures.append(results[0])
        kept = [Candidate(c.text, blocks.get(i, c.critique))
                for i, c in enumerate(state.candidates, 1)]
        out.passthrough = kept
        return out


def _critique_blocks(reply: str) -> dict[int, str]:
    """Raw text of each ``### Critique of candidate N`` block that parses on its own."""
    from simulator.protocol import parse_critique_body

    blocks: dict[int, str] = {}
    parts = reply.split("### Critique of candidate ")
    for part in parts[1:]:
        head, _, body = part.partition("\n")
        if not head.strip().isdigit():
            continue
        try:
            parse_critique_body(body, int(head))
        except ProtocolParseError:
            continue
        blocks[int(head)] = body.strip()
    return blocks
