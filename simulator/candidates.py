"""The material a judging prompt hands over: candidate responses, their critiques, unit tests.

Prompts delimit candidates in many ways; the simulator reads the common ones, trying the most
explicit first and keeping the first that finds any:

1. tags: ``<response_1>...</response_1>`` (also ``candidate``, ``answer``, ``solution``,
   ``output``; ``_``, ``-``, space or nothing before the number);
2. labels at the start of a line, with optional markdown heading or bold: ``Response 1:``,
   ``### Response 1``, ``**Candidate 2**``, ``Answer 3:``, ``Solution #4``;
3. bracketed numbers at the start of a line: ``[1] ...`` (Archon's critic and ranker);
4. numbered lines ``1. ...`` / ``1) ...`` after a line that announces responses (Archon's fuser);
5. one unnumbered candidate: ``Response: ...``, ``Candidate Response: ...`` (Archon's
   verifier and unit-test evaluator).

Numbers are taken in sequence (1, 2, 3, ...): a later "1." inside a candidate is part of it, not
a new candidate. When the prompt announces a count ("I will provide you with 3 responses"),
no more are taken. The last candidate ends at a section label (``Instruction:``,
``Reasoning:``, ``Unit Tests:``, ...), at a paragraph that gives an instruction ("Rank the ...",
"Please ..."), or where the question is quoted again. Inside a candidate, a ``Critique:`` line
starts that candidate's critique. A number that occurs several times (a numbered list inside a
candidate) starts the next candidate where it follows a final-answer line; a list inside a
candidate with no final answer can still be misread (simulator/README.md, "Not simulated").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["QUESTION_MARK", "Material", "read_material", "read_test_count", "read_unit_tests"]

#: What replaces the quoted question in a prompt before it is read (see simulator/reading.py).
QUESTION_MARK = "\n\u27e6Q\u27e7\n"

_NOUNS = (
    r"(?:candidate(?:[ \t]+(?:response|answer|solution))?|response|answer|solution|output|reply)"
)
_TAG = re.compile(
    rf"<({_NOUNS})[ _-]?(\d+)>(.*?)</\1[ _-]?\2>", re.IGNORECASE | re.DOTALL
)
_LABEL = re.compile(
    rf"^[ \t]*(?:#{{1,6}}[ \t]*)?(?:\*\*|__)?[ \t]*({_NOUNS})[ \t]*(?:#|no\.)?[ \t]*(\d+)"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?:[:.)\-]|\*\*|$)[ \t]*(?:\*\*|__)?",
    re.IGNORECASE | re.MULTILINE,
)
_BRACKET = re.compile(r"^[ \t]*\[(\d+)\][ \t]*:?", re.MULTILINE)
_NUMBERED = re.compile(r"^[ \t]*(\d+)[.)][ \t]+", re.MULTILINE)
_SINGLE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:candidate[ \t]+|the[ \t]+)?(?:response|answer|solution)"
    r"(?:[ \t]+to[ \t]+(?:check|verify|evaluate|judge|grade))?(?:\*\*)?[ \t]*:(?:\*\*)?",
    re.IGNORECASE | re.MULTILINE,
)
_ANNOUNCES = re.compile(r"(responses|candidates|answers|solutions|outputs)\b[^\n]*:?[ \t]*$",
                        re.IGNORECASE | re.MULTILINE)
_COUNT = re.compile(
    r"\b(\d+)[ \t]+(?:\w+[ \t]+)?(?:responses|candidates|candidate responses|answers|solutions)\b",
    re.IGNORECASE,
)
_SECTION = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:instructions?|query|question|task|reasoning"
    r"|unit[ \t]+tests?|tests|criteria|output[ \t]+format|format|your[ \t]+task|guidelines"
    r"|rubric)(?:\*\*)?[ \t]*(?::|$)",
    re.IGNORECASE | re.MULTILINE,
)
_INSTRUCTION_PARAGRAPH = re.compile(
    r"\n[ \t]*\n[ \t]*(?:\*\*)?(?:please|now|rank|order|evaluate|critique|synthesi[sz]e|combine"
    r"|merge|fuse|return|reply|respond|output|write|provide|remember|finally|check|verify"
    r"|decide|compare|judge|assess|give|answer with|the output|all (?:the|of the)|is (?:this|the)"
    r"|review|consider|weigh|identify|select|choose|pick|determine|for (?:each|every)"
    r"|does|do|how|what|which)\b(?![ \t]*:)",
    re.IGNORECASE,
)
_CRITIQUE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:critique|feedback|evaluation|review)(?:\*\*)?[ \t]*"
    r"(?::|$)(?:\*\*)?",
    re.IGNORECASE | re.MULTILINE,
)
# "### Critique of candidate 2" / "Critique for Response 2:": a critique section of its own.
_NUMBERED_CRITIQUE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*)?(?:critique|feedback|evaluation|review)[ \t]+(?:of|for)"
    rf"[ \t]+{_NOUNS}[ \t]*#?[ \t]*(\d+)(?:\*\*)?[ \t]*:?(?:\*\*)?",
    re.IGNORECASE | re.MULTILINE,
)
_ROLE_NOUN = re.compile(
    r"response|candidate|answer|draft|ranking|critique|verdict|unit test|identifier", re.IGNORECASE
)
_TEST_LINE = re.compile(
    r"^[ \t]*(?:[-*][ \t]*)?(?:\*\*)?(?:unit[ \t]+)?test[ \t]*(?:#|no\.)?[ \t]*(\d+)(?:\*\*)?[ \t]*"
    r"[:.)-][ \t]*(.+?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_TESTS_HEADING = re.compile(
    r"^(?:[^\n]*\btests?\b[^\n]*:|#{1,6}[^\n]*\btests?\b[^\n]*)[ \t]*\n",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*\u2022]|\d+[.)])[ \t]+(.+?)[ \t]*$")
_VERDICT_ONLY = re.compile(r"^\W*(passed|failed|pass|fail|correct|incorrect|yes|no)\W*$", re.I)
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10,
}
_TEST_COUNT = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)[ \t]+(?:\w+[ \t]+){0,2}?"
    r"(?:unit[ \t]+)?tests?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Material:
    """What a prompt gives to judge.

    ``style`` is how candidates were delimited (``tag``, ``label``, ``bracket``, ``numbered``,
    ``single`` or ``none``) and ``label`` the noun of a label/tag style ("Response"), so a reply
    can name candidates the way the prompt did. ``rest`` is the prompt without the candidates:
    the instructions, read for the role and the reply format.
    """

    candidates: tuple[str, ...] = ()
    critiques: dict[int, str] = field(default_factory=dict)
    style: str = "none"
    label: str = "Response"
    rest: str = ""


_FINAL_LINE = re.compile(r"answer|\\boxed|####|\[(?:correct|incorrect)\]", re.IGNORECASE)


def _sequence(
    text: str, marks: list[re.Match[str]], group: int, limit: int | None
) -> list[re.Match[str]]:
    """Markers numbered 1, 2, 3, ... in order. Where a number occurs several times (a list
    inside a candidate), the one right after a line that ends a response (a final answer) is
    the next candidate; failing that, the first."""
    taken: list[re.Match[str]] = []
    while limit is None or len(taken) < limit:
        after = taken[-1].start() if taken else -1
        options = [m for m in marks
                   if int(m.group(group)) == len(taken) + 1 and m.start() > after]
        if not options:
            break
        ending = [m for m in options if _after_final_line(text, m.start())]
        taken.append(ending[0] if ending and taken else options[0])
    return taken


def _after_final_line(text: str, start: int) -> bool:
    previous = text[:start].rstrip().rsplit("\n", 1)[-1]
    return _FINAL_LINE.search(previous) is not None


def _last_body_end(text: str, start: int) -> int:
    ends = [len(text)]
    if (m := _SECTION.search(text, start)) is not None:
        ends.append(m.start())
    for m in _INSTRUCTION_PARAGRAPH.finditer(text, start):
        paragraph = text[m.start() : text.find("\n\n", m.end()) % (len(text) + 1)]
        if _ROLE_NOUN.search(paragraph):
            ends.append(m.start())
            break
    if (q := text.find(QUESTION_MARK.strip(), start)) >= 0:
        ends.append(q)
    return min(ends)


def _numbered_critiques(text: str) -> tuple[str, dict[int, str]]:
    """Cut "Critique of candidate N" sections out of ``text``; returns the rest and them."""
    marks = list(_NUMBERED_CRITIQUE.finditer(text))
    critiques: dict[int, str] = {}
    spans = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else _last_body_end(text, mark.end())
        label = _LABEL.search(text, mark.end(), end)
        end = label.start() if label is not None else end
        critiques[int(mark.group(1))] = text[mark.end() : end].strip()
        spans.append((mark.start(), end))
    return (_without(text, spans) if spans else text), critiques


def _split_critique(body: str) -> tuple[str, str | None]:
    m = _CRITIQUE.search(body)
    if m is None:
        return body.strip(), None
    return body[: m.start()].strip(), body[m.end() :].strip()


def read_material(text: str) -> Material:
    """Candidates and critiques of ``text`` (see the module docstring for the styles read)."""
    text, separate = _numbered_critiques(text)
    count = _COUNT.search(text)
    limit = int(count.group(1)) if count else None
    tags = list(_TAG.finditer(text))
    if tags:
        by_number = {int(m.group(2)): m for m in tags}
        ordered = [by_number[n] for n in sorted(by_number)]
        bodies = [_split_critique(m.group(3)) for m in ordered]
        rest = _without(text, [(m.start(), m.end()) for m in ordered])
        return _material(bodies, "tag", ordered[0].group(1), rest, separate)
    for style, pattern, group in (("label", _LABEL, 2), ("bracket", _BRACKET, 1),
                                  ("numbered", _NUMBERED, 1)):
        marks = _sequence(text, list(pattern.finditer(text)), group, limit)
        if style == "numbered" and (len(marks) < 2 or not _announced(text, marks[0].start())):
            continue
        if marks:
            label = marks[0].group(1).strip().title() if style == "label" else "Response"
            return _bodies(text, marks, style, label, separate)
    single = list(_SINGLE.finditer(text))
    if single:
        return _bodies(text, single[-1:], "single", "Response", separate)
    return Material(rest=text)


def _announced(text: str, start: int) -> bool:
    before = text[max(0, start - 300) : start]
    return _ANNOUNCES.search(before) is not None


def _bodies(
    text: str, marks: list[re.Match[str]], style: str, label: str, separate: dict[int, str]
) -> Material:
    bodies = []
    spans = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else _last_body_end(text, mark.end())
        bodies.append(_split_critique(text[mark.end() : end]))
        spans.append((mark.start(), end))
    return _material(bodies, style, label, _without(text, spans), separate)


def _material(
    bodies: list[tuple[str, str | None]],
    style: str,
    label: str,
    rest: str,
    separate: dict[int, str],
) -> Material:
    critiques = {i: c for i, (_, c) in enumerate(bodies, start=1) if c}
    critiques.update({n: c for n, c in separate.items() if 1 <= n <= len(bodies)})
    return Material(tuple(b for b, _ in bodies), critiques, style, label.title(), rest)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for start, end in sorted(spans):
        out.append(text[at:start])
        at = max(at, end)
    out.append(text[at:])
    return "\n".join(out)


def read_unit_tests(text: str) -> tuple[str, ...]:
    """The unit tests a prompt lists: ``Unit Test #N: ...`` / ``Test N: ...`` lines (the last
    run numbered from 1, skipping format examples such as ``Unit Test #1: [Passed]``), else the
    items of the last list under a heading that names unit tests."""
    runs: list[list[str]] = []
    for m in _TEST_LINE.finditer(text):
        number, body = int(m.group(1)), m.group(2)
        if _VERDICT_ONLY.match(body):
            continue
        if number == 1:
            runs.append([body])
        elif runs and number == len(runs[-1]) + 1:
            runs[-1].append(body)
    if runs:
        return tuple(runs[-1])
    headings = list(_TESTS_HEADING.finditer(text))
    if not headings:
        return ()
    items: list[str] = []
    for line in text[headings[-1].end() :].splitlines():
        if (item := _LIST_ITEM.match(line)) is not None:
            items.append(item.group(1))
        elif items:
            break  # the list ended
    if not items:
        quoted = re.findall(r"'((?:[^'\\]|\\.)+)'|\"((?:[^\"\\]|\\.)+)\"",
                            text[headings[-1].end() :].split("\n\n")[0])
        items = [a or b for a, b in quoted]
    return tuple(items)


def read_test_count(text: str) -> int | None:
    """How many unit tests a prompt asks for ("a set of 5 unit tests"), if it says."""
    m = _TEST_COUNT.search(text)
    if m is None:
        return None
    raw = m.group(1).lower()
    return int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
