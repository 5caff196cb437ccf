"""How candidate responses are shown to an LLM: one place, so every technique numbers them the
same way (``[1]``, ``[2]``, ... as Archon's critic and ranker do) and a critique always sits
right under the response it is about."""

from __future__ import annotations

from collections.abc import Sequence

from worker.techniques.base import Candidate


def list_responses(candidates: Sequence[Candidate], *, with_critiques: bool) -> str:
    """Each response under its identifier; with its critique under it when asked and known."""
    blocks = []
    for number, candidate in enumerate(candidates, start=1):
        block = f"[{number}]\n{candidate.text.strip()}"
        if with_critiques and candidate.critique:
            block += f"\n\nCritique of [{number}]:\n{candidate.critique.strip()}"
        blocks.append(block)
    return "\n\n".join(blocks)


def any_critique(candidates: Sequence[Candidate]) -> bool:
    return any(c.critique for c in candidates)
