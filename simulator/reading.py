"""Reading a chat request as an LLM does: which question, which role, what material, what form.

1. The question is found by content in the system and user messages (simulator/matching.py
   through :meth:`KeyStore.place`), whatever surrounds it.
2. In the last user message (what is being asked now), the passages that quote the question are
   replaced by a marker, so a question that happens to say "rank" or to hold a numbered list is
   not read as an instruction or as candidates.
3. The candidates, their critiques and the unit tests are read (simulator/candidates.py); what
   remains is the instructions, read for the role and the reply format (simulator/intent.py).

4. A benchmark's judge prompt (a grade, a pairwise verdict, a preference label, a free-form
   score, an extracted option: simulator/verdicts.py) is recognised first, over all the system
   and user messages with the question masked out; the answers it shows are read there.

Assistant turns are history: they are neither searched for the question nor read for the role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.answer_keys import KeyStore, Placement
from simulator.candidates import (
    QUESTION_MARK,
    Material,
    read_material,
    read_test_count,
    read_unit_tests,
)
from simulator.intent import Asks, Role, infer_role, read_asks
from simulator.text import content_text
from simulator.verdicts import JudgeTask, find_task

__all__ = ["Reading", "read_request"]

_REASONING = re.compile(
    r"^[ \t]*(?:\*\*)?reasoning(?:\*\*)?[ \t]*:(?:\*\*)?(.*?)(?=^[ \t]*(?:\*\*)?[A-Z][\w ]{0,30}:"
    r"|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Reading:
    """What one request asks (see the module docstring).

    ``instructions`` is the last user message without question and candidates; ``reasoning`` a
    ``Reasoning:`` section given to judge (Archon's verifier, second step), read as a hint about
    candidate 1. ``judged``: a benchmark judge's task, when the prompt is one (then ``role``
    is what the rest of the prompt would say, unused). ``framing``: the instructions and the
    system message, read for how long a reply should be. ``code_candidates``: for a code
    problem, the candidates read from the message *before* the question was masked (a
    HumanEval candidate repeats the prompt's signature and docstring, which is the question).
    """

    role: Role
    placement: Placement | None
    material: Material
    unit_tests: tuple[str, ...]
    test_count: int | None
    asks: Asks
    instructions: str
    reasoning: str | None
    judged: JudgeTask | None = None
    framing: str = ""
    code_candidates: tuple[str, ...] = ()


def _blank(text: str, spans: Sequence[tuple[int, int]], offset: int) -> str:
    inside = sorted((s - offset, e - offset) for s, e in spans if s >= offset)
    inside = [(s, e) for s, e in inside if e <= len(text)]
    out, at = [], 0
    for start, end in inside:
        if start < at:
            continue
        out.append(text[at:start])
        out.append(QUESTION_MARK)
        at = end
    out.append(text[at:])
    return "".join(out)


def read_request(messages: Sequence[Mapping[str, object]], keys: KeyStore) -> Reading:
    """Read a chat request's messages (both wire formats' content shapes)."""
    texts: list[str] = []
    system: list[str] = []
    last_user, last_offset, offset = "", 0, 0
    for message in messages:
        role = message.get("role")
        if role not in ("system", "developer", "user"):
            continue
        text = content_text(message.get("content"))
        if role == "user":
            last_user, last_offset = text, offset
        else:
            system.append(text)
        texts.append(text)
        offset += len(text) + 2
    joined = "\n\n".join(texts)
    placement = keys.place(joined)
    judged = find_task(joined, _blank(joined, placement.spans, 0) if placement else joined)
    current = _blank(last_user, placement.spans, last_offset) if placement else last_user
    material = read_material(current)
    instructions = material.rest
    system_text = "\n".join(system)
    found = _REASONING.search(instructions)
    code = placement is not None and placement.key.code is not None and material.candidates
    raw = read_material(last_user).candidates if code else ()
    return Reading(
        role=infer_role(instructions, system_text, bool(material.candidates)),
        placement=placement,
        material=material,
        unit_tests=read_unit_tests(instructions),
        test_count=read_test_count(instructions),
        asks=read_asks(f"{instructions}\n{system_text}"),
        instructions=instructions,
        reasoning=found.group(1).strip() if found else None,
        judged=judged,
        framing=f"{instructions}\n{system_text}",
        code_candidates=raw if len(raw) == len(material.candidates) else (),
    )
