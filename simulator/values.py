"""Answer values: what a final answer *is* for each kind of question, and how a reader finds it.

A simulated judge perceives answers, not wording (simulator/README.md, "Skill model"): two
responses that end in the same value are judged alike. This module says what "the same value"
means per :class:`Kind` and reads the value out of a response written in any common form:

* ``number`` (synth-math, GSM8K): ``\\boxed{42}``, ``Answer: 42``, ``#### 42``,
  ``The answer is 42``, else the last number.
* ``choice`` (multiple choice): ``(B)``, ``Answer: B``, ``The answer is B``, ``\\boxed{B}``, a
  reply that is just the letter, else the one option whose text the reply quotes.
* ``latex`` (MATH-style): the last ``\\boxed{...}`` (nested braces), else an ``Answer:`` line or
  ``The final answer is ...``; compared after light normalisation (spaces, ``\\left``,
  ``\\dfrac``, dollars), not by a computer-algebra check: the simulator only needs to recognise
  the values it writes itself and obvious rewritings of them.
* ``text`` (free form): an ``Answer:`` line or ``The answer is ...``, else a short reply as a
  whole; compared lower-cased without punctuation and articles.
* ``open`` (MT-Bench): no value; nothing is right or wrong.
* ``code`` (HumanEval, MBPP, CodeContests): a program; its value is which program it is (the
  reference or one of its mutations), read by simulator/code_judging.py, not here.
"""

from __future__ import annotations

import re
from enum import StrEnum

from simulator.text import normalize_number

__all__ = [
    "Kind",
    "boxed",
    "canonical",
    "extract",
    "latex_slips",
    "normalize_latex",
    "normalize_text",
    "number_slips",
]


class Kind(StrEnum):
    """What kind of final answer a question has."""

    NUMBER = "number"
    CHOICE = "choice"
    LATEX = "latex"
    TEXT = "text"
    OPEN = "open"
    CODE = "code"


_ANSWER_LINE = re.compile(
    r"^[\s>*_#-]*(?:final\s+)?answer\s*(?:is)?\s*\**\s*[:=]\s*\**\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_ANSWER_IS = re.compile(
    r"(?:final answer|the answer|answer)\s+is\s*:?\s*\**\s*(.+?)\s*(?:\*\*)?\s*(?:\.\s|\.?$)",
    re.IGNORECASE | re.MULTILINE,
)
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_NUMBERS = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_LETTER_PAREN = re.compile(r"\(([A-J])\)")
_LETTER_ALONE = re.compile(r"^\s*\**\(?([A-J])\)?\**[.:)]?\s*$")
_LETTER_LEAD = re.compile(r"^\s*\**(?:option\s+)?\(?([A-J])\)?\**(?:[.:)]|\s+-|\s*$)", re.I)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ |\$|\s")


def boxed(text: str) -> list[str]:
    """The contents of every ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced, in order."""
    out = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append(text[match.end() : i - 1])
    return out


def normalize_latex(text: str) -> str:
    """A LaTeX answer without spacing, ``\\left``/``\\right``, dollars and ``\\dfrac``."""
    text = text.strip().rstrip(".")
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = re.sub(r"\\text\{\s*([^{}]*)\}", r"\1", text)
    return _LATEX_NOISE.sub("", text)


def normalize_text(text: str) -> str:
    """Free-form answer identity: lower case, no punctuation, no articles, single spaces."""
    text = re.sub(r"[^\w\s]", " ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def canonical(kind: Kind, text: str) -> str | None:
    """The canonical form of an answer of ``kind`` (None when ``text`` holds none)."""
    if kind is Kind.NUMBER:
        return normalize_number(text)
    if kind is Kind.CHOICE:
        letter = text.strip().strip("()*. ").upper()
        return letter if len(letter) == 1 and letter.isalpha() else None
    if kind is Kind.LATEX:
        return normalize_latex(text) or None
    if kind is Kind.TEXT:
        return normalize_text(text) or None
    return None


def _declared(text: str) -> str | None:
    """The value a response declares as its final answer, in the last such statement."""
    found = [(m.start(), m.group(1)) for m in _ANSWER_LINE.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _ANSWER_IS.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _HASHES.finditer(text)]
    return max(found)[1] if found else None


def extract(kind: Kind, text: str, options: tuple[str, ...] = ()) -> str | None:
    """The canonical final answer of a response (see the module docstring), or None."""
    if kind is Kind.OPEN or kind is Kind.CODE:
        return None
    if kind is Kind.LATEX:
        box = boxed(text)
        raw = box[-1] if box else _declared(text)
        return canonical(kind, raw) if raw else None
    if kind is Kind.NUMBER:
        box = boxed(text)
        raw = box[-1] if box else _declared(text)
        value = normalize_number(raw) if raw else None
        if value is None:
            numbers = _NUMBERS.findall(text)
            value = normalize_number(numbers[-1]) if numbers else None
        return value
    if kind is Kind.CHOICE:
        return _choice(text, options)
    declared = _declared(text)
    if declared is None:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return None
        declared = lines[0] if len(lines[0].split()) <= 12 else lines[-1]
    return canonical(kind, declared)


def _choice(text: str, options: tuple[str, ...]) -> str | None:
    letters = "ABCDEFGHIJ"[: max(len(options), 2)] if options else "ABCDEFGHIJ"
    box = boxed(text)
    for candidate in ([box[-1]] if box else []) + [_declared(text) or ""]:
        if (m := _LETTER_LEAD.match(candidate)) and m.group(1).upper() in letters:
            return m.group(1).upper()
    for line in reversed(text.strip().splitlines()):
        if (m := _LETTER_ALONE.match(line)) and m.group(1) in letters:
            return str(m.group(1))
    parens: list[str] = [x for x in _LETTER_PAREN.findall(text) if x in letters]
    if parens:
        return parens[-1]
    quoted = [i for i, o in enumerate(options) if o.strip() and o.strip().lower() in text.lower()]
    return letters[quoted[-1]] if len(quoted) == 1 else None


def number_slips(answer: str) -> list[str]:
    """Generic slips of an exact number (for keys with too few recorded mistakes)."""
    try:
        x = float(answer)
    except ValueError:
        return []
    out = [x * 2, x + 10, x - 1, x / 2, x + 1]
    found = [normalize_number(str(int(v) if v == int(v) else v)) for v in out if v >= 0]
    return [v for v in found if v is not None and v != answer]


def latex_slips(answer: str) -> list[str]:
    """Plausible wrong LaTeX answers: the right one with a number nudged, doubled or swapped."""
    out: list[str] = []
    numbers = list(re.finditer(r"\d+", answer))
    if numbers:
        first, last = numbers[0], numbers[-1]
        n = int(first.group())
        out.append(answer[: first.start()] + str(n + 1) + answer[first.end() :])
        m = int(last.group())
        out.append(answer[: last.start()] + str(m * 2) + answer[last.end() :])
        if n > 1:
            out.append(answer[: first.start()] + str(n - 1) + answer[first.end() :])
    frac = re.search(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", answer)
    if frac:
        out.append(answer[: frac.start()] + f"\\frac{{{frac.group(2)}}}{{{frac.group(1)}}}"
                   + answer[frac.end() :])
    out.append(answer[1:] if answer.startswith("-") else f"-{answer}")
    if not numbers:
        out.append(f"2{answer}")
    seen: list[str] = []
    for value in out:
        if normalize_latex(value) != normalize_latex(answer) and value not in seen:
            seen.append(value)
    return seen
