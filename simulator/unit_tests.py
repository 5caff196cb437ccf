"""Unit tests for answers: how a simulated LLM writes them and how it applies them.

Written tests follow Archon's "The answer states ..." form. The first is qualitative; the others
state checkable properties of an answer: of the right one when the writer has insight
(``truthful``), else of the most common wrong one, so an unskilled writer's tests mislead the
way its answers would:

* number: "... a final value greater than N" / "less than N" / "an even (odd) number";
* choice: "The answer selects option (B)." / "... does not select option (C).";
* latex: "The answer gives a final result equivalent to $x$.";
* text: "The answer mentions X.";
* open questions, code problems (in sentence form) and unknown ones: qualitative tests
  only (executable tests of code: simulator/code_writing.py).

:func:`apply_test` checks such a property against a candidate's value; any other test (one the
simulator did not write) returns None and the judge decides it by its perception of the answer.
"""

from __future__ import annotations

import re

from simulator.answer_keys import AnswerKey
from simulator.skill import Sampler
from simulator.values import Kind, canonical, normalize_text

__all__ = ["apply_test", "write_test"]

_QUALITATIVE = (
    "The answer addresses every part of the question.",
    "The answer explains its reasoning before the final result.",
    "The answer states one clear final result.",
    "The answer uses the information given in the question.",
)
_GREATER = re.compile(r"greater than (-?\d+(?:\.\d+)?)")
_LESS = re.compile(r"less than (-?\d+(?:\.\d+)?)")
_PARITY = re.compile(r"an (even|odd) number")
_SELECTS = re.compile(r"(does not )?selects? option \(([A-J])\)", re.IGNORECASE)
_EQUIVALENT = re.compile(r"equivalent to \$(.+)\$")
_MENTIONS = re.compile(r"mentions (.+?)\.?$", re.IGNORECASE)


def write_test(key: AnswerKey | None, index: int, truthful: bool, sampler: Sampler) -> str:
    """Test number ``index`` (0-based) for ``key``'s question (see the module docstring)."""
    if key is None or index == 0 or key.kind in (Kind.OPEN, Kind.CODE):
        return _QUALITATIVE[index % len(_QUALITATIVE)]
    target = key.shown if truthful or not key.distractors else key.distractors[0]
    if key.kind is Kind.CHOICE:
        if index == 1:
            return f"The answer selects option ({target})."
        others = [x for x in "ABCDEFGHIJ"[: len(key.options)] if x != target]
        if not others:
            return _QUALITATIVE[index % len(_QUALITATIVE)]
        return f"The answer does not select option ({others[(index - 2) % len(others)]})."
    if key.kind is Kind.LATEX:
        return f"The answer gives a final result equivalent to ${target}$."
    if key.kind is Kind.TEXT:
        return f"The answer mentions {target}."
    return _number_property(target, index, sampler)


def _number_property(target: str, index: int, sampler: Sampler) -> str:
    try:
        x = float(target)
    except ValueError:
        return "The answer states a whole number as the final value."
    kind = index % 3
    if kind == 1:
        lo = int(x * (0.5 + 0.4 * sampler.uniform("lo", index)))
        return f"The answer states a final value greater than {lo}."
    if kind == 2:
        hi = int(x * (1.1 + 0.9 * sampler.uniform("hi", index))) + 1
        return f"The answer states a final value less than {hi}."
    parity = "even" if x == int(x) and int(x) % 2 == 0 else "odd"
    return f"The answer states an {parity} number as the final value."


def apply_test(test: str, kind: Kind, value: str | None, response: str) -> bool | None:
    """Whether a response with final ``value`` passes ``test``; None if it is not checkable."""
    if kind is Kind.CHOICE and (m := _SELECTS.search(test)):
        return (value == m.group(2).upper()) != bool(m.group(1))
    if kind is Kind.LATEX and (m := _EQUIVALENT.search(test)):
        return value is not None and value == canonical(Kind.LATEX, m.group(1))
    if kind is Kind.TEXT and (m := _MENTIONS.search(test)):
        return normalize_text(m.group(1)) in normalize_text(response)
    if kind is not Kind.NUMBER:
        return None
    number = _as_float(value)
    if m := _GREATER.search(test):
        return number is not None and number > float(m.group(1))
    if m := _LESS.search(test):
        return number is not None and number < float(m.group(1))
    if m := _PARITY.search(test):
        return (number is not None and number == int(number)
                and (int(number) % 2 == 0) == (m.group(1) == "even"))
    return None


def _as_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
