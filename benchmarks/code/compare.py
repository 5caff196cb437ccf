"""CodeContests' output comparison: whether a program's output matches the expected one.

The rule is DeepMind's (code_contests, ``execution/tester_sandboxer.cc``, as Archon's port in
``code_contests_utils/compare_results.py`` restates it):

- both outputs are split into tokens on whitespace (space, newline, tab, carriage return,
  vertical tab); empty tokens are dropped, so extra blank lines and trailing spaces never
  matter;
- the two token lists must have the same length;
- tokens are compared in lower case (``YES`` = ``yes``);
- two tokens that both read as numbers, at least one of them not an integer, are equal when
  they differ by less than :data:`FLOAT_TOLERANCE` (absolute: DeepMind's ``kDoublePrecision``
  = 1e-5); two integers must be equal; anything else is compared as text.

    >>> outputs_match("YES\\n0.333333\\n", "yes 0.3333333333")
    True
    >>> outputs_match("2", "2.0000001"), outputs_match("1 2", "1 2 3")
    (True, False)
"""

from __future__ import annotations

import math
import re

__all__ = ["FLOAT_TOLERANCE", "outputs_match", "tokens"]

#: Absolute tolerance for numbers that are not both integers (DeepMind's kDoublePrecision).
FLOAT_TOLERANCE = 1e-5

_SEPARATORS = re.compile(r"[ \n\t\r\v]+")
_INTEGER = re.compile(r"[+-]?\d+")


def tokens(output: str) -> list[str]:
    """The output's whitespace-separated tokens, in lower case."""
    return [token.lower() for token in _SEPARATORS.split(output) if token]


def _number(token: str) -> int | float | None:
    if _INTEGER.fullmatch(token):
        return int(token)
    try:
        value = float(token)
    except ValueError:
        return None
    # "nan" and "inf" read as floats but are words in an output: compare them as text.
    return value if math.isfinite(value) else None


def _tokens_match(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    a, b = _number(expected), _number(actual)
    if a is None or b is None:
        return False
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return abs(a - b) < FLOAT_TOLERANCE


def outputs_match(expected: str, actual: str) -> bool:
    """Whether ``actual`` matches ``expected`` under the rule of the module docstring."""
    want, got = tokens(expected), tokens(actual)
    return len(want) == len(got) and all(
        _tokens_match(w, g) for w, g in zip(want, got, strict=True))
