"""Reading a number from an answer span, for the numeric benchmarks (synth-math, gsm8k).

Rules, each for a way real replies go wrong:

- a span holding a time of day (``1:00 PM``, ``9 a.m.``) states a time, not a number: it is
  never read as ``1`` (a real small model copied an ``Answer: <number>`` placeholder and wrote
  ``1:00 PM``, which the old parser read as 1);
- in ``18 - 3 = 15`` the number after the last ``=`` is the answer;
- otherwise the first number of the span (``78 apples, 3 more than before`` is 78);
- ``$1,234.50``, ``1{,}234``, ``−7``, ``78%``, ``3/4`` are numbers; ``18.0`` equals ``18``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = ["canonical", "read_number", "states_time", "to_fraction"]

_TIME = re.compile(
    r"(?<![\d.])\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?\s?m\b\.?)?"
    r"|(?<![\d.])\d{1,2}\s*[ap]\.?\s?m\.?(?![a-z])"
    r"|(?<![\d.])\d{1,2}\s*o'?clock",
    re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-−–]?)\s?\$?\s?(?P<sign2>[-−–]?)"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?:\s*/\s*(?P<den>\d+))?(?![\d,]*\d)")
_LATEX_NOISE = re.compile(r"\\text\s*\{[^{}]*\}|\\[,;!]|\\\$|\\%|\\\(|\\\)|\\\[|\\\]|\$")


def states_time(text: str) -> bool:
    """True when ``text`` states a time of day (``1:00 PM``, ``9 a.m.``, ``7 o'clock``)."""
    return _TIME.search(text) is not None


def to_fraction(text: str) -> Fraction | None:
    """The exact value of a plain number string (``1,234.50``, ``-7``, ``3/4``), or None."""
    match = _NUMBER.fullmatch(text.strip())
    return _value(match) if match else None


def _value(match: re.Match[str]) -> Fraction | None:
    digits = match["int"].replace(",", "") + (match["frac"] or "")
    try:
        value = Fraction(Decimal(digits))
    except InvalidOperation:
        return None
    if match["den"]:
        if int(match["den"]) == 0:
            return None
        value /= int(match["den"])
    return -value if (match["sign"] or match["sign2"]) else value


def read_number(span: str) -> Fraction | None:
    """The number a span states, by the rules of the module docstring; None when it states
    none or states a time."""
    text = _LATEX_NOISE.sub(" ", span.replace("{,}", ","))
    if states_time(text):
        return None
    text = re.split(r"=|≈|\\approx", text)[-1]
    match = _NUMBER.search(text)
    return _value(match) if match else None


def canonical(value: Fraction) -> str:
    """``18``, ``-7``, ``1234.5``, ``1/3``: the shortest exact text of a value."""
    if value.denominator == 1:
        return str(value.numerator)
    decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(decimal) == value:
        return format(decimal.normalize(), "f")
    return f"{value.numerator}/{value.denominator}"
