"""What a prompt asks for: the role, and the reply format it names.

Read from the prompt's *instructions* (the text left once the quoted question and the candidate
responses are taken out, simulator/reading.py), the way a reader skims for the verb:

========================  ==============================================================
role                      cue (first that matches wins, in this order)
========================  ==============================================================
fuse                      synthesise / fuse / combine / merge ... into a single response
rank                      rank / ranking / order the responses / best to worst / ``[] > []``
critique                  strengths and weaknesses / critique each response
apply_tests               passes each unit test / ``[Passed]`` (needs a candidate)
verify                    ``[Correct]`` / verdict / whether the response is correct
reason                    reasoning for why the response ... (Archon's verifier, step 1)
write_tests               generate / write ... unit tests (no candidate needed)
generate                  anything else; also any judging role given no candidate
========================  ==============================================================

The order matters: a fuser or ranker prompt mentions critiques ("with their critiques of
strengths and weaknesses") and may quote a query with unit tests appended ("should pass the
following unit tests"), so the roles that *consume* material are recognised first. When the user
message holds no cue, the system message is read (Archon's "You are a helpful assistant who
ranks multiple answers").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Asks", "Role", "infer_role", "read_asks"]


class Role(StrEnum):
    """What an LLM is asked to do."""

    GENERATE = "generate"
    CRITIQUE = "critique"
    RANK = "rank"
    FUSE = "fuse"
    VERIFY = "verify"
    REASON = "reason"
    WRITE_TESTS = "write_tests"
    APPLY_TESTS = "apply_tests"


_I = re.IGNORECASE
_IS = re.IGNORECASE | re.DOTALL
_CUES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    (Role.FUSE, re.compile(
        r"synthesi[sz]|\bfuse\b|\bfusing\b|\bcombine\b|\bmerge\b|\baggregate\b"
        r"|(?:a|one) single,? (?:[\w-]+ ){0,3}(?:response|answer)"
        r"|(?:one|a) (?:better|improved|refined|stronger) (?:response|answer)", _I)),
    (Role.RANK, re.compile(
        r"\brank(?:s|ing|ed)?\b|\border (?:the|these|all) (?:\w+ )?(?:responses|candidates|answers)"
        r"|best to worst|most to least|\[\d*\] ?> ?\[\d*\]", _I)),
    (Role.CRITIQUE, re.compile(
        r"strengths?\b.{0,200}?\bweakness|\bcritique (?:each|every|all|the|these)\b"
        r"|\b(?:review|assess|evaluate|critici[sz]e) (?:each|every|all)\b"
        r"|\bwrite (?:a )?critiques?\b|\bcritiques? for (?:each|every)\b", _IS)),
    (Role.APPLY_TESTS, re.compile(
        r"\b(?:pass(?:es)?|fails?)\s+(?:each|every|all|any)\b|\beach (?:unit )?test\b|\[passed\]"
        r"|\bpass(?:ed)? or fail(?:ed)?\b|\bapply (?:the|these|each|every) (?:unit )?tests?\b"
        r"|\b(?:against|per) (?:the|these|each) (?:unit )?tests?\b", _I)),
    (Role.VERIFY, re.compile(
        r"\[correct\]|\bverdict\b|whether (?:or not )?(?:the|this) (?:\w+ )?"
        r"(?:response|answer|solution|candidate) is (?:correct|right|accurate)"
        r"|\bis (?:the|this) (?:\w+ )?(?:response|answer|solution|candidate) (?:correct|right)\b"
        r"|\bcorrect or (?:incorrect|not)\b|\bverify\b", _I)),
    (Role.REASON, re.compile(
        r"reasoning for why|explain why the (?:response|answer)|reasons? (?:why|that) the response",
        _I)),
    (Role.WRITE_TESTS, re.compile(
        r"\b(?:generate|write|create|produce|propose|list|draft|come up with|give)\b[^.\n]{0,60}"
        r"\btests?\b|\bunit tests? (?:that|which) (?:would|will|could)\b", _I)),
)
_NEEDS_CANDIDATES = {Role.FUSE, Role.RANK, Role.CRITIQUE, Role.APPLY_TESTS, Role.VERIFY,
                     Role.REASON}


def _cue(text: str, has_candidates: bool) -> Role | None:
    for role, pattern in _CUES:
        if (has_candidates or role not in _NEEDS_CANDIDATES) and pattern.search(text):
            return role
    return None


def infer_role(instructions: str, system: str, has_candidates: bool) -> Role:
    """The role asked (see the module docstring); judging without candidates is generate."""
    return _cue(instructions, has_candidates) or _cue(system, has_candidates) or Role.GENERATE


@dataclass(frozen=True)
class Asks:
    """The reply format a prompt names, each field None when it names none.

    ``answer``: ``boxed``, ``hashes`` (``#### x``), ``answer_line`` (``Answer: x``),
    ``answer_is`` (``The answer is x``), ``letter`` (the option letter alone), ``short``
    (a few words). ``ranking_first``: the ranking goes on the first line; ``ranking_prefix``:
    ``Answer: `` or ``Ranking: `` before it; ``ranking_bare``: ``2 > 1 > 3`` without brackets.
    ``verdict``: ``brackets`` (``[Correct]``), ``line`` (``Verdict: correct``), ``yes_no``,
    ``true_false``. ``tests``: ``python_list``, ``bullets`` or ``numbered``.
    ``results``: ``archon`` (``Unit Test #1: [Passed]``) or ``plain`` (``Test 1: pass``).
    ``critique_header``: a heading the prompt prescribes per critique, ``N`` standing for the
    candidate number (``### Critique of candidate N``); ``overall``: the label of the closing
    judgement line (``Overall`` unless the prompt names one such as ``Verdict hint``).
    """

    answer: str | None = None
    ranking_first: bool = False
    ranking_prefix: str = ""
    ranking_bare: bool = False
    verdict: str | None = None
    tests: str | None = None
    results: str | None = None
    critique_header: str | None = None
    overall: str = "Overall"


def _answer_form(text: str) -> str | None:
    lowered = text.lower()
    if "\\boxed" in text or "boxed{" in lowered:
        return "boxed"
    if "####" in text:
        return "hashes"
    if re.search(r"option letter|letter (?:of|from) the|only the letter|just the letter", lowered):
        return "letter"
    if re.search(r"\banswer\*{0,2}\s*:", text, _I):
        return "answer_line"
    if re.search(r"the (?:final )?answer is", lowered):
        return "answer_is"
    if re.search(r"\bshort(?:ly)?\b|\bconcise(?:ly)?\b|few words|one word|briefly", lowered):
        return "short"
    return None


def read_asks(instructions: str) -> Asks:
    """The reply format named in ``instructions`` (see :class:`Asks`)."""
    lowered = instructions.lower()
    ranking_first = bool(re.search(r"first line|start (?:with|by)|begin (?:with|by)", lowered))
    prefix = ""
    if re.search(r"(?:start|begin)s? with\s*['\"`]?answer:", lowered):
        prefix = "Answer: "
    elif "ranking:" in lowered:
        prefix = "Ranking: "
    example = re.search(r"(\[?\d+\]?)\s*>\s*(\[?\d+\]?)", instructions)
    bare = example is not None and not example.group(1).startswith("[")
    verdict = None
    if "[correct]" in lowered:
        verdict = "brackets"
    elif "verdict:" in lowered or re.search(r"\bverdict\b", lowered):
        verdict = "line"
    elif re.search(r"\byes\b.{0,12}\bno\b", lowered):
        verdict = "yes_no"
    elif re.search(r"\btrue\b.{0,12}\bfalse\b", lowered):
        verdict = "true_false"
    tests = None
    if re.search(r"list of strings|\[\s*['\"]", instructions):
        tests = "python_list"
    elif re.search(r"bullet|^\s*-\s", instructions, re.MULTILINE):
        tests = "bullets"
    elif re.search(r"numbered|^\s*1[.)]", instructions, re.MULTILINE):
        tests = "numbered"
    results = "archon" if re.search(r"\[passed\]", lowered) else (
        "plain" if re.search(r"test\s*#?\s*\d+\s*:\s*(?:pass|fail)", lowered) else None)
    header = re.search(
        r"((?:#{1,6} )?(?:critique|review|evaluation) (?:of|for) (?:candidate|response|answer) )"
        r"N\b",
        instructions, re.IGNORECASE)
    overall = "Verdict hint" if "verdict hint" in lowered else "Overall"
    return Asks(_answer_form(instructions), ranking_first, prefix, bare, verdict, tests, results,
                header.group(1) + "N" if header else None, overall)
