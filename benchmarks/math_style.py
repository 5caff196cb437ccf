r"""MATH-style problems: the answer is a LaTeX expression, the last ``\boxed{...}`` of the
reference solution, and a reply is right when the math-verify library finds its answer
equivalent (``\frac{1}{2}`` = ``0.5`` = ``1/2``; ``2\sqrt{3}`` = ``\sqrt{12}``; intervals,
tuples, sets, equations ``x = 2, y = 5``). No regex decides equivalence.

Data: Hendrycks MATH's JSONL rows ``{"problem", "solution", "level"?, "type"?, "id"?}``, or
MATH-500's (``"subject"`` for the type, ``"unique_id"`` such as ``test/precalculus/807.json``);
the default is the project's own small set, ``benchmarks/data/math-style.jsonl`` (no MATH file
ships beside the project). Ids are the row's ``id``, else its ``unique_id`` (so results line up
with other tools' MATH-500 results), else ``math-<row>`` (row from 0).

Reading a reply: the first answer span (:mod:`benchmarks.answers`) that holds an expression;
from a marker's line, the last ``$...$`` / ``\(...\)`` / ``\[...\]`` in it when there is one,
else its text. The reply's last line is read only for such a math environment. A time of day is
never read as a number.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.answers import answer_spans, last_boxed
from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_jsonl
from benchmarks.numbers import states_time
from benchmarks.options import check_known, int_list_option

__all__ = ["DEFAULT_DATA", "MATH_FRAMING", "MathStyle", "math_equivalent", "parse_answer"]

DEFAULT_DATA = Path(__file__).with_name("data") / "math-style.jsonl"

MATH_FRAMING = (
    "Solve the problem, showing your reasoning. Write the final answer in simplest form, in "
    "LaTeX, inside \\boxed{} at the very end of your reply.")

_LEVEL = re.compile(r"^(?:level\s*)?([1-5])$", re.IGNORECASE)
_MATH_ENV = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
#: Seconds math-verify may spend on one parse or comparison. Its timeout is a SIGALRM, which
#: only the main thread may set; in other threads it runs without one (see _timeout).
TIMEOUT_S = 5


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def parse_answer(latex: str) -> list[Any]:
    """math-verify's reading of one answer written in LaTeX (empty: nothing it can read)."""
    from math_verify import parse  # imported when first needed: it pulls in sympy

    if not latex.strip():
        return []
    parsed: list[Any] = parse(f"\\boxed{{{latex}}}", parsing_timeout=_timeout())
    return parsed


def math_equivalent(gold: str, answer: str) -> bool:
    """True when math-verify finds ``answer`` equivalent to ``gold`` (both LaTeX)."""
    from math_verify import verify

    gold_parsed, answer_parsed = parse_answer(gold), parse_answer(answer)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(gold_parsed, answer_parsed, timeout_seconds=_timeout()))


def _expression(text: str, how: str) -> str | None:
    environments = [next(g for g in m.groups() if g is not None)
                    for m in _MATH_ENV.finditer(text)]
    if environments:
        return environments[-1].strip()
    if how == "last line":
        return None
    return text.rstrip(" .").strip() or None


def read_math_answer(reply: str) -> tuple[str | None, str | None]:
    """(the answer's LaTeX, a note) of a reply, by the rule of the module docstring."""
    for span in answer_spans(reply):
        expression = span.text if span.how == "boxed" else _expression(span.text, span.how)
        if not expression or (span.how != "boxed" and states_time(expression)):
            continue
        if parse_answer(expression):
            note = {"boxed": None, "final answer": None, "####": None,
                    "answer": "no \\boxed{} answer; read the answer after 'answer'",
                    "last line": "no \\boxed{} answer; read the reply's last line"}[span.how]
            return expression, note
    return None, "the reply states no final answer math-verify can read"


class MathStyle:
    """MATH-style problems with LaTeX answers, scored with math-verify."""

    name = "math"
    kind = "math"
    description = ("MATH-style competition problems with LaTeX answers (Hendrycks MATH JSONL); "
                   "default: the project's own 40+ problems")
    needs_data = False
    data_file: str | None = None
    data_help: str | None = ("a MATH JSONL file (rows with 'problem' and a 'solution' ending in "
                             "\\boxed{...})")
    option_help: Mapping[str, str] = {
        "levels": "a list of difficulty levels 1-5 to keep (default: all)",
        "types": "a list of problem types to keep, as the data's 'type' (default: all)",
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "levels" in options:
            problems += int_list_option(options, "levels", range(1, 6))
        types = options.get("types")
        if "types" in options and (not isinstance(types, list) or not types
                                   or not all(isinstance(t, str) for t in types)):
            problems.append(f"types: expected a non-empty list of type names, got {types!r}")
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        path = data or DEFAULT_DATA
        levels, types = options.get("levels"), options.get("types")
        items = []
        for number, row in read_jsonl(path):
            try:
                problem, solution = row["problem"], row["solution"]
                answer = last_boxed(solution)
                if not isinstance(problem, str) or not answer:
                    raise ValueError("no \\boxed{} answer")
                level = _level(row.get("level"))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BenchmarkError(f"{path}:{number}: expected a JSON object with 'problem' "
                                     "and a 'solution' ending in \\boxed{...}") from exc
            kind = row.get("type") or row.get("subject")  # MATH's name, MATH-500's
            if levels and level not in levels or types and kind not in types:
                continue
            item_id = str(row.get("id") or row.get("unique_id") or f"math-{number - 1}")
            items.append(Item(item_id, (f"{problem.strip()}\n\n{MATH_FRAMING}",), None,
                              {"answer": answer, "level": level, "type": kind}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        answer, note = read_math_answer(reply)
        if answer is None:
            return Scored(None, 0.0, note)
        return Scored(answer, 1.0 if math_equivalent(str(reference["answer"]), answer) else 0.0,
                      note)


def _level(value: Any) -> int | None:
    """1..5 from ``3`` or ``"Level 3"``; None when absent or unknown (MATH has ``Level ?``)."""
    match = _LEVEL.match(str(value).strip()) if value is not None else None
    return int(match[1]) if match else None
