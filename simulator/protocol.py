"""Prompt markers and reply formats shared by the techniques and the simulator.

The project owns both sides of every LLM call: the techniques (worker/) build prompts and parse
replies, the simulator recognises prompts and writes replies. This module is the single place
where that wire-level text is defined. It is pure: no I/O, no imports from the rest of itas.

A prompt is ordinary text that a real LLM also understands. It is a sequence of blocks, each
introduced by a heading line starting with ``### ``::

    ### Task: rank
    ### Question
    <the question, verbatim>
    ### Candidate 1
    <a candidate answer>
    ### Critique of candidate 1
    <a critique, as written by the critique role>
    ### Unit tests
    1. <a test>
    ### Instructions
    <what to do and the exact reply format, in plain words>

``### Task: <role>`` names the role; a prompt without it is a *generate* request and its
question is the ``### Question`` block if there is one, else the whole user text. Blocks may
come from any message (system and user contents are read in order, then concatenated).

Reply formats (what the simulator writes and the techniques parse; see the ``format_*`` and
``parse_*`` pairs below):

========================  ===============================================================
role                      reply
========================  ===============================================================
generate, fuse            reasoning lines, then a last line ``Answer: <number>``
critique                  one ``### Critique of candidate N`` block per candidate with
                          ``Strengths: ...``, ``Weaknesses: ...``,
                          ``Verdict hint: likely correct|likely incorrect``
rank                      reasoning, then a line ``Ranking: [3] > [1] > [2]`` (every
                          candidate exactly once, best first)
verify                    reasoning, then a line ``Verdict: correct|incorrect``
unit_test_generate        numbered lines ``1. <test>``
unit_test_evaluate        one line per test, in order: ``Test 1: pass|fail``
========================  ===============================================================

Parsers raise :class:`ProtocolParseError` instead of guessing: callers count and record the
failure and apply their own documented rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Critique",
    "ParsedPrompt",
    "ProtocolParseError",
    "Role",
    "build_prompt",
    "format_answer",
    "format_critiques",
    "format_ranking",
    "format_test_results",
    "format_unit_tests",
    "format_verdict",
    "normalize_number",
    "normalize_question",
    "parse_answer",
    "parse_critiques",
    "parse_messages",
    "parse_prompt",
    "parse_ranking",
    "parse_test_results",
    "parse_unit_tests",
    "parse_verdict",
]


class Role(StrEnum):
    """The roles a technique can ask of an LLM; the value is the text after ``### Task:``."""

    GENERATE = "generate"
    CRITIQUE = "critique"
    RANK = "rank"
    FUSE = "fuse"
    VERIFY = "verify"
    UNIT_TEST_GENERATE = "unit_test_generate"
    UNIT_TEST_EVALUATE = "unit_test_evaluate"


class ProtocolParseError(ValueError):
    """A reply does not follow the format of its role. The message says what was expected."""


@dataclass(frozen=True)
class Critique:
    """One candidate's critique: free-text strengths and weaknesses and the critic's hint."""

    strengths: str
    weaknesses: str
    likely_correct: bool


@dataclass(frozen=True)
class ParsedPrompt:
    """What a prompt asks: the role, the question and the material given with it.

    ``candidates`` are in prompt order (candidate numbers start at 1); ``critiques`` maps a
    candidate number to the raw text of its critique block.
    """

    role: Role
    question: str
    candidates: tuple[str, ...] = ()
    critiques: Mapping[int, str] = field(default_factory=dict)
    unit_tests: tuple[str, ...] = ()
    instructions: str = ""


# Only these headings start a block: a candidate that uses markdown headings of its own
# ("### Step 1") stays one candidate.
_HEADING = re.compile(
    r"^###[ \t]+(task:[ \t]*\w+|question|candidate[ \t]+\d+|critique of candidate[ \t]+\d+"
    r"|unit tests|instructions)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_TASK = re.compile(r"^task:\s*([a-z_]+)$", re.IGNORECASE)
_CANDIDATE = re.compile(r"^candidate\s+(\d+)$", re.IGNORECASE)
_CRITIQUE = re.compile(r"^critique of candidate\s+(\d+)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.+?)\s*$", re.MULTILINE)
_ANSWER = re.compile(r"^\s*\**answer\**\s*[:=]\s*\**\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_RANKING = re.compile(r"^\s*ranking\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_VERDICT = re.compile(
    r"^\s*verdict\s*:\s*\**\s*(correct|incorrect)\b", re.IGNORECASE | re.MULTILINE
)
_HINT = re.compile(r"verdict hint\s*:\s*likely\s+(correct|incorrect)", re.IGNORECASE)
_FIELD = re.compile(r"^\s*(strengths|weaknesses)\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_TEST_RESULT = re.compile(r"^\s*test\s+(\d+)\s*:\s*(pass|fail)\b", re.IGNORECASE | re.MULTILINE)

_INSTRUCTIONS: dict[Role, str] = {
    Role.GENERATE: "Solve the question step by step. End with a last line `Answer: <number>`.",
    Role.CRITIQUE: (
        "For every candidate write a block `### Critique of candidate N` with the lines "
        "`Strengths: ...`, `Weaknesses: ...` and `Verdict hint: likely correct` or "
        "`Verdict hint: likely incorrect`."
    ),
    Role.RANK: (
        "Rank the candidates from best to worst. End with one line such as "
        "`Ranking: [2] > [1] > [3]` that lists every candidate number exactly once."
    ),
    Role.FUSE: (
        "Combine the candidates (and critiques, if given) into one better answer, step by step. "
        "End with a last line `Answer: <number>`."
    ),
    Role.VERIFY: (
        "Check the candidate's reasoning and answer. End with a line `Verdict: correct` or "
        "`Verdict: incorrect`."
    ),
    Role.UNIT_TEST_GENERATE: (
        "Write unit tests that a correct answer to the question must pass, one per line, "
        "numbered `1.`, `2.`, ..."
    ),
    Role.UNIT_TEST_EVALUATE: (
        "Apply every unit test to the candidate. Answer with one line per test, in order: "
        "`Test 1: pass` or `Test 1: fail`."
    ),
}


def normalize_question(text: str) -> str:
    """Collapse all whitespace runs to one space and strip: the identity of a question."""
    return " ".join(text.split())


def normalize_number(text: str) -> str | None:
    """Canonical form of the first number in ``text``: no ``$``/commas, ``18.0`` -> ``18``.

    Returns None when ``text`` holds no number.
    """
    match = _NUMBER.search(text)
    if match is None:
        return None
    raw = match.group(0).replace("$", "").replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def build_prompt(
    role: Role,
    question: str,
    *,
    candidates: Sequence[str] = (),
    critiques: Mapping[int, str] | None = None,
    unit_tests: Sequence[str] = (),
    instructions: str | None = None,
    test_count: int | None = None,
) -> str:
    """Build the user prompt for ``role``.

    ``critiques`` maps candidate numbers (1-based) to critique text, either a bare body or a
    whole ``### Critique of candidate N`` block as the critique role replies. ``instructions``
    replaces the default instruction text (which states the reply format) when given.
    ``test_count`` asks unit_test_generate for that many tests ("Write N unit tests ...").
    """
    parts = [f"### Task: {role.value}", "### Question", question.strip()]
    for number, text in enumerate(candidates, start=1):
        parts += [f"### Candidate {number}", text.strip()]
    for number, text in sorted((critiques or {}).items()):
        body = _strip_heading(text.strip(), f"Critique of candidate {number}")
        parts += [f"### Critique of candidate {number}", body]
    if unit_tests:
        parts += ["### Unit tests", format_unit_tests(unit_tests)]
    default = _INSTRUCTIONS[role]
    if test_count is not None:
        default = f"Write {test_count} unit tests. {default}"
    parts += ["### Instructions", instructions or default]
    return "\n".join(parts) + "\n"


def _strip_heading(text: str, heading: str) -> str:
    first, _, rest = text.partition("\n")
    if first.lstrip("#").strip().lower() == heading.lower():
        return rest.strip()
    return text


def _blocks(text: str) -> list[tuple[str, str]]:
    """(heading, body) pairs in order; text before the first heading has heading ''."""
    blocks: list[tuple[str, str]] = []
    matches = list(_HEADING.finditer(text))
    preamble = text[: matches[0].start()] if matches else text
    if preamble.strip():
        blocks.append(("", preamble.strip()))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        blocks.append((match.group(1), text[match.end() : end].strip()))
    return blocks


def parse_prompt(text: str) -> ParsedPrompt:
    """Recognise the role and material of a prompt (see the module docstring).

    An unknown ``### Task:`` value, or none, is treated as generate.
    """
    role = Role.GENERATE
    question: str | None = None
    candidates: dict[int, str] = {}
    critiques: dict[int, str] = {}
    unit_tests: tuple[str, ...] = ()
    instructions = ""
    for heading, body in _blocks(text):
        if (m := _TASK.match(heading)) is not None:
            try:
                role = Role(m.group(1).lower())
            except ValueError:
                role = Role.GENERATE
        elif heading.lower() == "question" and question is None:
            question = body
        elif (m := _CANDIDATE.match(heading)) is not None:
            candidates[int(m.group(1))] = body
        elif (m := _CRITIQUE.match(heading)) is not None:
            critiques[int(m.group(1))] = body
        elif heading.lower() == "unit tests":
            unit_tests = tuple(parse_unit_tests(body, strict=False))
        elif heading.lower() == "instructions":
            instructions = body
    if question is None:
        question = "\n".join(body for heading, body in _blocks(text) if not heading) or text
    ordered = tuple(candidates[k] for k in sorted(candidates))
    return ParsedPrompt(
        role, normalize_question(question), ordered, critiques, unit_tests, instructions
    )


def parse_messages(messages: Iterable[Mapping[str, object]]) -> ParsedPrompt:
    """:func:`parse_prompt` over the text of chat messages (system and user, in order).

    Content may be a string or a list of ``{"type": "text", "text": ...}`` parts (both wire
    formats); assistant turns are ignored.
    """
    texts: list[str] = []
    for message in messages:
        if message.get("role") not in ("system", "user", "developer"):
            continue
        texts.append(content_text(message.get("content")))
    return parse_prompt("\n".join(texts))


def content_text(content: object) -> str:
    """The text of a message content in either wire format (string or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def format_answer(reasoning: str, answer: str) -> str:
    """A generate/fuse reply: reasoning, then ``Answer: <answer>`` as the last line."""
    return f"{reasoning.rstrip()}\nAnswer: {answer}"


def parse_answer(text: str) -> str:
    """The normalised number of the last ``Answer:`` line.

    Raises ProtocolParseError when there is no such line or it holds no number.
    """
    matches = _ANSWER.findall(text)
    if not matches:
        raise ProtocolParseError("no line 'Answer: <number>' in the reply")
    number = normalize_number(matches[-1])
    if number is None:
        raise ProtocolParseError(f"'Answer: {matches[-1]}' holds no number")
    return number


def format_critiques(critiques: Mapping[int, Critique]) -> str:
    """A critique reply: one ``### Critique of candidate N`` block per candidate, in order."""
    blocks = []
    for number, c in sorted(critiques.items()):
        hint = "likely correct" if c.likely_correct else "likely incorrect"
        blocks.append(
            f"### Critique of candidate {number}\nStrengths: {c.strengths}\n"
            f"Weaknesses: {c.weaknesses}\nVerdict hint: {hint}"
        )
    return "\n\n".join(blocks)


def parse_critiques(text: str) -> dict[int, Critique]:
    """Parse a critique reply (or the critique blocks of a prompt) into candidate -> Critique.

    A block without a ``Verdict hint`` line raises ProtocolParseError; so does a reply with no
    critique block at all.
    """
    result: dict[int, Critique] = {}
    for heading, body in _blocks(text):
        m = _CRITIQUE.match(heading)
        if m is None:
            continue
        result[int(m.group(1))] = parse_critique_body(body, int(m.group(1)))
    if not result:
        raise ProtocolParseError("no '### Critique of candidate N' block in the reply")
    return result


def parse_critique_body(body: str, number: int = 0) -> Critique:
    """Parse the body of one critique block (below its heading)."""
    hint = _HINT.search(body)
    if hint is None:
        raise ProtocolParseError(f"critique of candidate {number} has no 'Verdict hint:' line")
    fields = {k.lower(): v.strip() for k, v in _FIELD.findall(body)}
    return Critique(
        fields.get("strengths", ""),
        fields.get("weaknesses", ""),
        hint.group(1).lower() == "correct",
    )


def format_ranking(order: Sequence[int], reasoning: str = "") -> str:
    """A rank reply: optional reasoning, then ``Ranking: [a] > [b] > ...`` (best first)."""
    line = "Ranking: " + " > ".join(f"[{i}]" for i in order)
    return f"{reasoning.rstrip()}\n{line}" if reasoning.strip() else line


def parse_ranking(text: str, count: int) -> list[int]:
    """The candidate numbers (1-based, best first) of the last ``Ranking:`` line.

    Raises ProtocolParseError unless it names each of 1..count exactly once.
    """
    lines = _RANKING.findall(text)
    if not lines:
        raise ProtocolParseError("no line 'Ranking: [i] > [j] > ...' in the reply")
    order = [int(x) for x in re.findall(r"\[(\d+)\]", lines[-1])]
    if sorted(order) != list(range(1, count + 1)):
        raise ProtocolParseError(f"ranking {order} is not a permutation of candidates 1..{count}")
    return order


def format_verdict(reasoning: str, correct: bool) -> str:
    """A verify reply: reasoning, then ``Verdict: correct`` or ``Verdict: incorrect``."""
    return f"{reasoning.rstrip()}\nVerdict: {'correct' if correct else 'incorrect'}"


def parse_verdict(text: str) -> bool:
    """True for ``Verdict: correct``, False for ``incorrect`` (the last such line wins)."""
    found = _VERDICT.findall(text)
    if not found:
        raise ProtocolParseError("no line 'Verdict: correct|incorrect' in the reply")
    return bool(found[-1].lower() == "correct")


def format_unit_tests(tests: Sequence[str]) -> str:
    """Numbered lines ``1. <test>``; the unit_test_generate reply and the prompt block."""
    return "\n".join(f"{i}. {t.strip()}" for i, t in enumerate(tests, start=1))


def parse_unit_tests(text: str, *, strict: bool = True) -> list[str]:
    """The tests of numbered lines, in order. ``strict`` raises when there are none."""
    tests = [body for _, body in _NUMBERED.findall(text)]
    if strict and not tests:
        raise ProtocolParseError("no numbered unit test lines ('1. ...') in the reply")
    return tests


def format_test_results(results: Sequence[bool]) -> str:
    """The unit_test_evaluate reply: ``Test N: pass|fail``, one line per test in order."""
    return "\n".join(
        f"Test {i}: {'pass' if ok else 'fail'}" for i, ok in enumerate(results, start=1)
    )


def parse_test_results(text: str, count: int) -> list[bool]:
    """Pass (True) / fail (False) for tests 1..count; raises unless each appears once."""
    seen: dict[int, bool] = {}
    for number, outcome in _TEST_RESULT.findall(text):
        seen[int(number)] = outcome.lower() == "pass"
    if sorted(seen) != list(range(1, count + 1)):
        raise ProtocolParseError(f"expected 'Test N: pass|fail' for tests 1..{count}")
    return [seen[i] for i in range(1, count + 1)]
