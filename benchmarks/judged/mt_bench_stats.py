"""MT-Bench's figures over judged (question, turn) rows, as FastChat's ``show_result.py``
computes them, with a bootstrap interval FastChat does not give.

Single grading (:func:`single_summary`): the score is the mean grade over every parsed
(question, turn) row, each turn's mean over its rows (FastChat drops the rows scored -1, then
takes ``groupby(model).mean()``: a row judged twice counts twice, as there). Pairwise
(:func:`pairwise_summary`): FastChat's ``win_rate_adjusted``, (wins + ties / 2) / rows, on the
0-100 scale; rows with an unparsed game are left out, as ``show_result`` drops the ``error``
rows.

The interval (not FastChat's: it prints none) is a percentile bootstrap of the same figure,
resampling *questions* with replacement (a question's two turns are graded on one conversation,
so they go together), :data:`BOOTSTRAP_ROUNDS` rounds from a fixed seed: the same rows give the
same interval.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from benchmarks.judged.base import JudgedSummary

__all__ = ["BOOTSTRAP_ROUNDS", "BOOTSTRAP_SEED", "Row", "bootstrap_interval",
           "pairwise_summary", "single_summary"]

BOOTSTRAP_ROUNDS = 1000
BOOTSTRAP_SEED = 0

#: (question, turn 1 or 2, value or None when unparsed): a grade 1-10, or a pairwise outcome
#: (1 win, 0.5 tie, 0 loss).
Row = tuple[Hashable, int, float | None]


def single_summary(rows: Sequence[Row]) -> JudgedSummary:
    """Mean grade overall (the score, 1-10) and per turn (``turn_1``, ``turn_2``)."""
    return _summary(rows, scale=1.0)


def pairwise_summary(rows: Sequence[Row]) -> JudgedSummary:
    """Win rate against the baseline, ties counting half (the score, 0-100); ``win_rate``
    without the ties' half, ``wins``, ``ties``, ``losses`` and each turn's adjusted rate."""
    summary = _summary(rows, scale=100.0)
    outcomes = [value for _, _, value in rows if value is not None]
    wins, ties = outcomes.count(1.0), outcomes.count(0.5)
    figures = dict(summary.figures)
    figures.update(wins=float(wins), ties=float(ties),
                   losses=float(len(outcomes) - wins - ties),
                   win_rate=100.0 * wins / len(outcomes) if outcomes else None)
    return JudgedSummary(summary.score, summary.ci_low, summary.ci_high, summary.n,
                         summary.unparsed, figures)


def _summary(rows: Sequence[Row], *, scale: float) -> JudgedSummary:
    parsed = [(question, turn, value) for question, turn, value in rows if value is not None]
    figures: dict[str, float | None] = {}
    for turn in sorted({turn for _, turn, _ in rows}):
        values = [value for _, t, value in parsed if t == turn]
        figures[f"turn_{turn}"] = scale * float(np.mean(values)) if values else None
    groups: dict[Hashable, list[float]] = {}
    for question, _, value in parsed:
        groups.setdefault(question, []).append(value)
    unparsed = len(rows) - len(parsed)
    if not parsed:
        return JudgedSummary(None, n=0, unparsed=unparsed, figures=figures)
    score = scale * float(np.mean([value for _, _, value in parsed]))
    low, high = bootstrap_interval(list(groups.values()))
    return JudgedSummary(score, scale * low, scale * high, n=len(groups), unparsed=unparsed,
                         figures=figures)


def bootstrap_interval(groups: Sequence[Sequence[float]], *, rounds: int = BOOTSTRAP_ROUNDS,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile interval of the mean of all values, resampling the groups (questions)
    with replacement ``rounds`` times from ``seed``."""
    sums = np.array([sum(group) for group in groups], dtype=float)
    counts = np.array([len(group) for group in groups], dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(groups), size=(rounds, len(groups)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)
