"""A MATH-style question set written for these tests (Hendrycks MATH JSONL form).

The benchmarks package may ship its own set; the simulator must know any file in this form, so
the tests generate theirs: problems whose answers are fractions, surds, ordered pairs and
integers, with nested braces in the boxed answers.
"""

from __future__ import annotations

import json
from math import gcd
from pathlib import Path


def _problem(i: int) -> dict[str, object]:
    a, b = 2 + i % 7, 3 + (i * 5) % 11
    shape = i % 4
    if shape == 0:
        n, d = a * 3 + i, b * 4 + 1
        g = gcd(n, d)
        answer = f"\\frac{{{n // g}}}{{{d // g}}}"
        problem = f"Simplify the fraction $\\frac{{{n}}}{{{d}}}$ (case {i})."
        solution = f"Divide numerator and denominator by {g}: the result is $\\boxed{{{answer}}}$."
    elif shape == 1:
        k = a * a * (b + 1)
        answer = f"{a}\\sqrt{{{b + 1}}}"
        problem = f"Write $\\sqrt{{{k}}}$ in simplest radical form (item {i})."
        solution = f"Since ${k} = {a * a} \\cdot {b + 1}$, we get $\\boxed{{{answer}}}$."
    elif shape == 2:
        answer = f"\\left( {a}, {b} \\right)"
        problem = (f"Find the point where the lines $x = {a}$ and $y = {b}$ meet, "
                   f"as an ordered pair (problem {i}).")
        solution = f"Both equations hold at $\\boxed{{{answer}}}$."
    else:
        answer = str(a * b + i)
        problem = f"Compute ${a} \\cdot {b} + {i}$ in problem number {i}."
        solution = f"We have ${a * b} + {i} = \\boxed{{{answer}}}$."
    return {
        "id": f"ms-{i}",
        "problem": problem,
        "solution": solution,
        "level": f"Level {1 + i % 5}",
        "type": "Algebra",
        "answer_for_tests": answer,
    }


def write_math_style(path: Path, count: int = 240) -> list[dict[str, object]]:
    """Write ``count`` problems to ``path`` (JSONL) and return them."""
    rows = [_problem(i) for i in range(count)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows
