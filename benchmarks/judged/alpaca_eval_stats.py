"""AlpacaEval 2.0's reading of a judge's reply and its raw win rate: pure arithmetic.

A *preference* is alpaca_eval's number for one instruction: 1 when the baseline's output wins,
2 when the system's does, anything between for a weighted judge, 1.5 when both outputs are the
same text (no judge call). The judge sees the outputs as ``m`` (output_1) and ``M``
(output_2), in an order randomised per instruction; ``switched`` means the system's output was
shown first, and the reading is mapped back with ``3 - x``.

    >>> preference_from_logprobs([("M", -0.1), ("m", -2.4)], "m", ("m", "M"), switched=False)
    1.9088...
    >>> preference_from_label(" m\\n", "m", ("m", "M"), switched=True)
    2.0
    >>> win_rate([1.0, 2.0, 1.5, None])
    (50.0, 28.86..., 3)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["DRAW", "normalise_preference", "preference_from_label", "preference_from_logprobs",
           "sem", "unswitch", "win_rate"]

#: The preference of two identical outputs: alpaca_eval sets it without asking the judge.
DRAW = 1.5


def unswitch(preference: float, switched: bool) -> float:
    """The preference with output_2 = the system's, from one read in the order shown."""
    return 3.0 - preference if switched else preference


def preference_from_logprobs(top_logprobs: Iterable[tuple[str, float]], numerator: str,
                             denominators: Sequence[str], *, switched: bool) -> float | None:
    """alpaca_eval's ``logprob_parser`` with ``is_binarize: false``: 2 - P(numerator) / (sum of
    P over ``denominators``), from the first output token's top log-probabilities, then
    unswitched.

    Tokens are matched exactly (``" m"`` is not ``m``). A label missing from the top list has
    probability 0, as in the package: only ``M`` listed gives 2, only ``m`` gives 1. None when
    no label is listed at all (the package's NaN): the reply must then be read from its text.
    """
    wanted = {*denominators, numerator}
    found: dict[str, float] = {}
    for token, logprob in top_logprobs:
        if token in wanted:
            found[token] = float(logprob)  # a token listed twice: the last, as the package
    if not found:
        return None
    numerator_logprob = found.get(numerator, -math.inf)
    listed = [found[t] for t in denominators if t in found]
    if not listed or numerator_logprob == -math.inf:
        probability = 0.0
    else:
        top = max(listed)
        total = top + math.log(sum(math.exp(lp - top) for lp in listed))
        probability = math.exp(numerator_logprob - total)
    return unswitch(2.0 - probability, switched)


def preference_from_label(text: str, numerator: str, denominators: Sequence[str], *,
                          switched: bool) -> float | None:
    """The preference from the label the judge wrote (1 for ``numerator``, 2 for another
    label), as the binarised parser reads it, then unswitched; None unless the reply, stripped
    of white space and quotes, is exactly one of the labels. Case matters: ``m`` and ``M`` are
    the two labels."""
    label = text.strip().strip("\"'`").strip()
    if label == numerator:
        return unswitch(1.0, switched)
    if label in denominators:
        return unswitch(2.0, switched)
    return None


def normalise_preference(value: float | None) -> float | None:
    """A stored preference as alpaca_eval reads it: 0 (the old encoding of a draw) is 1.5, NaN
    is unread (None)."""
    if value is None or math.isnan(value):
        return None
    return DRAW if value == 0.0 else float(value)


def sem(values: Sequence[float]) -> float | None:
    """The standard error of the mean as pandas' ``Series.sem`` computes it: the sample
    standard deviation (ddof 1) over the square root of n; None under two values."""
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance) / math.sqrt(n)


def win_rate(preferences: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    """(win rate 0-100, its standard error, n) of preferences in 1..2, leaving unread ones
    (None, NaN) out as alpaca_eval does: the mean of ``preference - 1``, times 100."""
    kept = [p - 1.0 for p in map(normalise_preference, preferences) if p is not None]
    if not kept:
        return None, None, 0
    error = sem(kept)
    return (100.0 * math.fsum(kept) / len(kept), None if error is None else 100.0 * error,
            len(kept))
