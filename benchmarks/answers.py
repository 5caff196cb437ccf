r"""Where a reply states its final answer: one reading shared by every deterministic scorer.

The framing of each benchmark asks for the final answer after the words ``Final answer:``
(``\boxed{}`` for MATH-style problems), but real models write it in many ways: ``\boxed{14}``,
``#### 78``, ``#### Answer: 78``, ``**Final answer:** $1,234``, ``The answer is 78.``, a
markdown heading ``### Final Answer`` with the answer on the next line. :func:`answer_spans`
lists the places a reply may state its answer, **latest first**, because a model that
reconsiders states its last word last, and the first number of a reply is usually a number of
the question. The rule, in order of preference:

1. *strong markers* — ``Final answer``, ``\boxed{...}``, a line starting ``####`` — the
   latest first;
2. *weak markers* — ``answer is``, ``answer:``, ``answer =``, ``option is``, ``choice is`` —
   the latest first;
3. the last non-empty line of the reply (reported as such, so the scorer can say in its note
   that the answer was not where the framing asked for it).

Each benchmark takes the first span that holds an answer of its kind (a number, a letter, an
expression); a span that holds none ("I hope the answer is clear") is passed over. The text of a
span is what follows the marker up to the end of its line (or the next non-empty line when the
marker ends its line), or the contents of ``\boxed{...}`` with nested braces; markdown emphasis
and a leading "the answer is" are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Span", "answer_spans", "boxed_contents", "last_boxed", "plain"]

_STRONG = re.compile(
    r"final\s+answer(?:\s+is)?\s*[:：=]?"
    r"|\\(?:boxed|fbox)\s*\{"
    r"|^[ \t>]*####(?!#)",
    re.IGNORECASE | re.MULTILINE)
_WEAK = re.compile(
    r"\b(?:answer|option|choice)(?:\s+(?:is|would\s+be|will\s+be))\s*[:：]?"
    r"|\banswer\s*[:：=]",
    re.IGNORECASE)
_LEAD = re.compile(
    r"^\s*(?:(?:the|my)\s+)?(?:final\s+|correct\s+|best\s+)?(?:answer|option|choice)"
    r"(?:\s+(?:is|would\s+be|will\s+be))?\s*[:：=]?\s*", re.IGNORECASE)
_BOLD = re.compile(r"\*\*|__|`+|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")


@dataclass(frozen=True)
class Span:
    """A place where a reply may state its answer: ``text`` (cleaned) and ``how`` it was found:
    ``final answer``, ``boxed``, ``####``, ``answer`` (a weak marker) or ``last line``."""

    text: str
    how: str


def plain(text: str) -> str:
    """``text`` without markdown emphasis (``**``, ``__``, single ``*``, backticks), stripped."""
    return _BOLD.sub("", text).strip()


def boxed_contents(text: str, start: int) -> str | None:
    """The contents of the brace group opening at ``text[start] == "{"`` (nested braces
    counted); None when it never closes. Written here because the text inside the braces is
    needed as written, and regexes cannot count braces."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return None


def last_boxed(text: str) -> str | None:
    r"""The contents of the last complete ``\boxed{...}`` (or ``\fbox{...}``) of ``text``."""
    for match in reversed(list(re.finditer(r"\\(?:boxed|fbox)\s*\{", text))):
        contents = boxed_contents(text, match.end() - 1)
        if contents is not None:
            return contents.strip()
    return None


def _after(text: str, end: int) -> str:
    """The rest of the line after ``end``; the next non-empty line when that is empty."""
    rest = text[end:]
    line, _, following = rest.partition("\n")
    if plain(line).strip(" :：-—=") or not following:
        return line
    for next_line in following.splitlines():
        if plain(next_line):
            return next_line
    return ""


def _clean(text: str) -> str:
    cleaned = plain(text)
    cleaned = _LEAD.sub("", cleaned, count=1) if _LEAD.match(cleaned) else cleaned
    return plain(cleaned.strip(" \t:：=—"))


def answer_spans(reply: str) -> list[Span]:
    """Every place ``reply`` may state its final answer, in the order of preference of the
    module docstring; empty for an empty reply."""
    spans: list[Span] = []
    for match in reversed(list(_STRONG.finditer(reply))):
        marker = match.group(0)
        if marker.endswith("{"):
            contents = boxed_contents(reply, match.end() - 1)
            if contents is None:
                continue
            spans.append(Span(_clean(contents), "boxed"))
        elif "#" in marker:
            spans.append(Span(_clean(_after(reply, match.end())), "####"))
        else:
            spans.append(Span(_clean(_after(reply, match.end())), "final answer"))
    for match in reversed(list(_WEAK.finditer(reply))):
        spans.append(Span(_clean(_after(reply, match.end())), "answer"))
    lines = [line for line in reply.splitlines() if plain(line)]
    if lines:
        spans.append(Span(_clean(lines[-1]), "last line"))
    return spans
