"""AlpacaEval 2.0's length-controlled win rate: alpaca_eval's GLM, fitted with scikit-learn.

The model (alpaca_eval ``metrics/glm_winrate.py``, GLM ``length_controlled_v1``), for one
system against the baseline, one row per instruction::

    logit P(system wins) = a * tanh(delta_len / std(delta_len))     # the length term
                         + b * difficulty[instruction]              # instruction difficulty
                         + c * not_gamed_baseline                   # the system's own term

with ``delta_len = len(baseline output) - len(system output)`` in characters, std with ddof 1
over the system's rows, no intercept. The target is the preference itself (0..1, a soft
label): each row is written twice, labelled 1 with weight p and 0 with weight 1 - p, and an L1
logistic regression (liblinear, random_state 123, 10 values of C on a log grid) is chosen by
5-fold cross-validation grouped by instruction, scored by the log loss against p, and refitted
on all rows. The length-controlled win rate is the mean predicted preference with the length
term set to 0 (the system as if its outputs were as long as the baseline's), times 100; its
standard error is the sem of those predictions, times 100, as alpaca_eval reports it.

alpaca_eval regularises the fit towards two "gamed" baselines (the baseline prompted to be
verbose, and concise; ``not_gamed_baseline`` 0 for their rows, weight lambda / 2 = 0.1 each):
this keeps a system from buying win rate with length alone. Their judgments come in
``df_gamed.csv`` from the Hugging Face hub, which this project cannot reach; given that file
(:mod:`benchmarks.judged.alpaca_eval_gamed`), :func:`length_controlled` does the same; without
it, it fits the system's rows alone (alpaca_eval's GLM ``length_controlled_noreg``) and says so
in its result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import make_scorer
from sklearn.model_selection import GroupKFold

from benchmarks.judged.alpaca_eval_gamed import GamedRows
from benchmarks.judged.alpaca_eval_stats import normalise_preference, sem

__all__ = ["GAMED_LAMBDA", "LengthControlled", "fit_soft_logistic", "length_controlled"]

#: alpaca_eval's ``regularize_to_baseline_lambda`` of ``length_controlled_v1``.
GAMED_LAMBDA = 0.2
N_SPLITS = 5
#: The GLM's three terms, named as alpaca_eval's weights files name them.
TERMS = ("np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)")


@dataclass(frozen=True)
class LengthControlled:
    """The length-controlled win rate (0-100), its standard error, the GLM's weights by
    :data:`TERMS`, and whether the fit was regularised towards the gamed baselines."""

    win_rate: float
    standard_error: float | None
    weights: Mapping[str, float]
    regularised: bool


def _soft_log_loss(y_true: Any, y_pred: Any, true_prob: Any) -> float:
    # The rows are duplicated with hard labels; the loss is against the soft target p, the
    # same for both copies of a row (alpaca_eval's ``logloss_continuous``, unweighted).
    target = np.where(y_true == 1, true_prob, 1.0 - true_prob)
    predicted = np.clip(y_pred, 1e-15, 1.0 - 1e-15)
    return float(-np.mean(target * np.log(predicted) + (1.0 - target) * np.log(1.0 - predicted)))


def fit_soft_logistic(features: Any, targets: Sequence[float],
                      sample_weight: Sequence[float] | None = None,
                      n_splits: int = N_SPLITS) -> LogisticRegressionCV:
    """An L1 logistic regression of soft ``targets`` (0..1) on ``features`` (n x k, dense or
    scipy sparse; no intercept), C chosen by cross-validation grouped by row, as alpaca_eval's
    ``fit_LogisticRegressionCV(is_ytrue_proba=True)``. Raises ValueError when scikit-learn
    cannot fit (too few rows for the folds)."""
    import scipy.sparse as sparse  # only the joint difficulty fit passes a sparse matrix

    p = np.asarray(targets, dtype=float)
    n = len(p)
    stacked = sparse.vstack([features, features]).tocsr() if sparse.issparse(features) \
        else np.vstack([features, features])
    labels = np.r_[np.ones(n), np.zeros(n)]
    true_prob = np.r_[p, 1.0 - p]
    weight = true_prob if sample_weight is None else \
        true_prob * np.r_[sample_weight, sample_weight]
    groups = np.r_[np.arange(n), np.arange(n)]
    # Routing true_prob to the scorer, fold by fold, needs metadata routing; it is switched on
    # for this fit only, not for the process.
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(_soft_log_loss, response_method="predict_proba",
                             greater_is_better=False).set_score_request(true_prob=True)
        model = LogisticRegressionCV(cv=GroupKFold(n_splits=n_splits), scoring=scorer,
                                     l1_ratios=(1.0,), solver="liblinear", fit_intercept=False,
                                     random_state=123, use_legacy_attributes=False)
        model.set_fit_request(sample_weight=True)
        model.fit(stacked, labels, sample_weight=weight, groups=groups, true_prob=true_prob)
    return model


def length_controlled(preferences: Sequence[float | None], len_baseline: Sequence[int],
                      len_system: Sequence[int], difficulty: Sequence[float],
                      gamed: GamedRows | None = None) -> LengthControlled:
    """The length-controlled win rate of one system from its rows (one per instruction:
    preference 1..2 or None when unread, the two outputs' lengths in characters, the
    instruction's difficulty). Unread rows are left out of the fit and kept in the prediction,
    as alpaca_eval does. ``gamed``: regularise towards these rows (lambda 0.2); None: no
    regularisation. Raises ValueError when the rows are too few to fit (under 5 read ones)."""
    delta = np.asarray(len_baseline, dtype=float) - np.asarray(len_system, dtype=float)
    spread = float(np.std(delta, ddof=1)) if len(delta) > 1 else 0.0
    # Outputs all as long as the baseline's have no length term (the package divides by 0).
    length = np.tanh(delta / spread) if spread > 0 and math.isfinite(spread) \
        else np.zeros_like(delta)
    hardness = np.asarray(difficulty, dtype=float)
    read = [(i, p - 1.0) for i, p in enumerate(map(normalise_preference, preferences))
            if p is not None]
    if len(read) < N_SPLITS:
        raise ValueError(f"{len(read)} read preferences; the GLM's {N_SPLITS}-fold "
                         "cross-validation needs at least 5")
    rows = [i for i, _ in read]
    features = np.c_[length[rows], hardness[rows], np.ones(len(rows))]
    targets = [p for _, p in read]
    weights: list[float] | None = None
    if gamed is not None:
        features = np.r_[features, np.c_[np.tanh(gamed.std_delta_len), gamed.difficulty,
                                         np.zeros(len(gamed.index))]]
        targets += list(gamed.preference)
        weights = [1.0] * len(rows) + [GAMED_LAMBDA / 2] * len(gamed.index)
    model = fit_soft_logistic(features, targets, weights)
    as_long = np.c_[np.zeros(len(hardness)), hardness, np.ones(len(hardness))]
    predicted = [float(v) for v in model.predict_proba(as_long)[:, 1]]
    error = sem(predicted)
    return LengthControlled(
        win_rate=100.0 * math.fsum(predicted) / len(predicted),
        standard_error=None if error is None else 100.0 * error,
        weights=dict(zip(TERMS, (float(w) for w in model.coef_[0]), strict=True)),
        regularised=gamed is not None)
