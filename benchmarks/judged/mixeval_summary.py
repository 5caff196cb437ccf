"""MixEval's overall score: the two parts' mean scores weighed by the parts' sizes, 0-100.

MixEval (``compute_metrics.py``) scores each part as the mean of its questions' scores (free
form: the judge's 0.0-1.0 grades; multiple choice: 1 or 0 by the option read) and reports

    overall = free_form * n_ff / (n_ff + n_mc) + multiple_choice * n_mc / (n_ff + n_mc)

with ``n`` a part's number of questions: on the full benchmarks (2,000 + 2,000, 500 + 500) the
plain mean of the two parts. Here a part's size is its number of judged questions, read or
not, and its mean is over the questions with a score: an unread verdict leaves its question out
of its part's mean without shrinking the part's weight (MixEval instead assigns such a question
a random grade or option after its retries). A part with no scored question at all is left out
and the other part is the overall.

The interval is a seeded percentile bootstrap (95%, :data:`ROUNDS` rounds, seed
:data:`SEED`): each round resamples the scored questions of each part with replacement, the
weights staying the parts' sizes. MixEval reports no interval; itas shows one with every score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmarks.judged.base import JudgedSummary

__all__ = ["ROUNDS", "SEED", "summarize"]

ROUNDS = 1000
SEED = 0
_PARTS = ("multiple_choice", "free_form")


def summarize(scored: Sequence[tuple[str, float | None]], *, rounds: int = ROUNDS,
              seed: int = SEED) -> JudgedSummary:
    """The overall score (0-100) of questions given as (part, score 0..1 or None when the
    verdict was unread), with figures ``multiple_choice`` and ``free_form`` (0-100, None for a
    part with no scored question) and ``multiple_choice_n`` / ``free_form_n`` (scored)."""
    sizes = {part: sum(1 for p, _ in scored if p == part) for part in _PARTS}
    scores = {part: np.array([s for p, s in scored if p == part and s is not None], dtype=float)
              for part in _PARTS}
    kept = [part for part in _PARTS if scores[part].size]
    figures: dict[str, float | None] = {}
    for part in _PARTS:
        figures[part] = float(scores[part].mean()) * 100 if scores[part].size else None
        figures[f"{part}_n"] = float(scores[part].size)
    unparsed = sum(1 for _, s in scored if s is None)
    if not kept:
        return JudgedSummary(None, n=0, unparsed=unparsed, figures=figures)
    weights = np.array([sizes[part] for part in kept], dtype=float)
    weights /= weights.sum()
    means = np.array([scores[part].mean() for part in kept])
    rng = np.random.default_rng(seed)
    resampled = np.stack([
        scores[part][rng.integers(0, scores[part].size, size=(rounds, scores[part].size))]
        .mean(axis=1) for part in kept])
    overall = weights @ resampled * 100
    low, high = np.percentile(overall, [2.5, 97.5])
    return JudgedSummary(float(weights @ means) * 100, float(low), float(high),
                         n=sum(int(scores[part].size) for part in kept), unparsed=unparsed,
                         figures=figures)
