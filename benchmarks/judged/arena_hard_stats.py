"""Arena-Hard-Auto v0.1's scores from verdicts, as its ``show_result.py`` computes them
(lmarena/arena-hard-auto, ``get_battles_from_row``, ``compute_mle_elo``,
``get_bootstrap_result``, ``predict_win_rate``), without pandas.

    >>> battles = battles_from_games("m", "q1", ["B>A", "A=B"])   # m better, then a tie
    >>> [(b.winner, b.question) for b in battles]
    [('model', 'q1'), ('tie', 'q1')]
    >>> round(fit_ratings(battles)["m"], 1)   # 1.5 of 2 games: Elo 1000 + 400 log10(3)
    1190.8

Battles (:func:`battles_from_games`): every verdict is a battle of the model against the
baseline. In game 1 the baseline is A, in game 2 the model is A (the positions swapped), so
``A>B`` is a baseline win in game 1 and a model win in game 2. A strong verdict (``>>``) is the
same battle :data:`STRONG_WEIGHT` (3) times; any other label (``None``, a malformed or unknown
one) is no battle: left out and counted. Battles of the baseline against itself are ignored.

Ratings (:func:`fit_ratings`): Bradley-Terry fitted by scikit-learn's ``LogisticRegression``
exactly as ``compute_mle_elo`` sets it up: one column per model, +ln 10 for the baseline side
and -ln 10 for the model's, the battles duplicated so that a tie is one baseline win and one
model win, no intercept, no penalty (``C=inf``, the current spelling of ``penalty=None``),
``tol=1e-8``; Elo = 400 x coefficient + 1000, shifted so that the baseline is 1000. The score
is the predicted win rate against the baseline, x 100 (:func:`win_rate`): the baseline is 50.
With every battle against the baseline the fit has a closed form, the model's weighted share
(wins + ties / 2) / battles, which the tests check the fit against.

One deviation: a model that won (or lost) every battle has no finite maximum-likelihood rating;
arena-hard's fit then stops at the iteration limit with some large coefficient and a
convergence warning. Here such a model is left out of the fit and rated at the limit,
:data:`SEPARATED_ELO` from the baseline (a score of 100, or 0).

Interval (:func:`bootstrap_ratings`): ``get_bootstrap_result``'s: :data:`BOOTSTRAP_ROUNDS`
(100) resamples, with replacement, of the battle rows (a strong verdict's three copies are
three rows, as there), each refitted; the 2.5th and 97.5th percentiles of each model's Elo,
turned into win rates. The draws are numpy's ``RandomState(42).choice(n, n)``, the draws
pandas' ``sample(frac=1, replace=True)`` makes after arena-hard's ``np.random.seed(42)``, so
battles in arena-hard's order give its interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BASELINE", "BOOTSTRAP_ROUNDS", "BOOTSTRAP_SEED", "SEPARATED_ELO", "STRONG_WEIGHT",
           "VERDICTS", "Battle", "ModelScore", "battles_from_games", "bootstrap_ratings",
           "fit_ratings", "leaderboard", "win_rate"]

SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0
STRONG_WEIGHT = 3
BOOTSTRAP_ROUNDS = 100
BOOTSTRAP_SEED = 42
#: arena-hard v0.1's baseline (``show_result.py --baseline``'s default, judge_config.yaml's).
BASELINE = "gpt-4-0314"
#: Elo above (below) the baseline of a model that won (lost) every battle: odds of 10^40.
SEPARATED_ELO = SCALE * 40

#: The five labels arena-hard scores -> (winner in game 1, in game 2, weight).
VERDICTS: Mapping[str, tuple[str, str, int]] = {
    "A>>B": ("baseline", "model", STRONG_WEIGHT), "A>B": ("baseline", "model", 1),
    "A=B": ("tie", "tie", 1),
    "B>A": ("model", "baseline", 1), "B>>A": ("model", "baseline", STRONG_WEIGHT)}


@dataclass(frozen=True)
class Battle:
    """One battle row of ``model`` against the baseline; ``winner`` is ``model``,
    ``baseline`` or ``tie``."""

    model: str
    question: str
    winner: str


@dataclass(frozen=True)
class ModelScore:
    """A model's line of the leaderboard: score and interval on the 0-100 scale."""

    model: str
    score: float
    ci_low: float
    ci_high: float
    elo: float


def battles_from_games(model: str, question: str,
                       labels: Sequence[str | None]) -> list[Battle]:
    """The battle rows of one question's games (game 1 first); unknown labels give none."""
    battles: list[Battle] = []
    for game, label in enumerate(labels[:2]):
        verdict = VERDICTS.get(label) if isinstance(label, str) else None
        if verdict is not None:
            winner_1, winner_2, weight = verdict
            battles += [Battle(model, question, winner_2 if game else winner_1)] * weight
    return battles


def fit_ratings(battles: Sequence[Battle], baseline: str = BASELINE) -> dict[str, float]:
    """Elo of every model of ``battles`` and of the baseline (1000), ``compute_mle_elo``'s."""
    models, index, outcome = _encode(battles, baseline)
    return _fit(models, index, outcome, baseline)


#: A battle's outcome as a number: the model won, a tie, the baseline won.
_MODEL, _TIE, _BASELINE = 0, 1, 2
_CODES = {"model": _MODEL, "tie": _TIE, "baseline": _BASELINE}


def _encode(battles: Sequence[Battle],
            baseline: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    kept = [b for b in battles if b.model != baseline]
    models = list(dict.fromkeys(b.model for b in kept))
    column = {model: i for i, model in enumerate(models)}
    return (models, np.array([column[b.model] for b in kept], dtype=int),
            np.array([_CODES[b.winner] for b in kept], dtype=int))


def _fit(models: Sequence[str], index: np.ndarray, outcome: np.ndarray,
         baseline: str) -> dict[str, float]:
    ratings = {baseline: INIT_RATING}
    fitted: list[int] = []
    for i, model in enumerate(models):
        seen = set(outcome[index == i].tolist())
        if not seen:
            continue
        if seen == {_MODEL}:
            ratings[model] = INIT_RATING + SEPARATED_ELO
        elif seen == {_BASELINE}:
            ratings[model] = INIT_RATING - SEPARATED_ELO
        else:
            fitted.append(i)
    if not fitted:
        return ratings
    # Column 0 is the baseline, as model_a of every battle is (compute_mle_elo lists model_a
    # first); the other columns follow in the order the models appear.
    column = np.zeros(len(models), dtype=int)
    column[fitted] = np.arange(1, len(fitted) + 1)
    keep = np.isin(index, fitted)
    cols = np.tile(column[index[keep]], 2)
    x = np.zeros((cols.size, len(fitted) + 1))
    x[:, 0] = math.log(BASE)
    x[np.arange(cols.size), cols] = -math.log(BASE)
    baseline_won = outcome[keep] == _BASELINE
    tie = outcome[keep] == _TIE
    # The duplicated battles: a tie is a baseline win in the first copy, a loss in the second.
    y = np.concatenate([baseline_won | tie, baseline_won]).astype(float)
    # Imported here: scikit-learn takes over a second to import, and every itas command and
    # worker imports this module through the registry.
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8).fit(x, y)
    elo = SCALE * fit.coef_[0] + INIT_RATING
    elo += INIT_RATING - elo[0]
    ratings.update({models[i]: float(elo[column[i]]) for i in fitted})
    return ratings


def win_rate(elo: float, baseline_elo: float = INIT_RATING) -> float:
    """``predict_win_rate`` against the baseline, x 100."""
    return 100.0 / (1.0 + math.pow(BASE, (baseline_elo - elo) / SCALE))


def bootstrap_ratings(battles: Sequence[Battle], baseline: str = BASELINE, *,
                      rounds: int = BOOTSTRAP_ROUNDS,
                      seed: int = BOOTSTRAP_SEED) -> dict[str, list[float]]:
    """Each model's Elo in every bootstrap round in which it has a battle."""
    models, index, outcome = _encode(battles, baseline)
    draws = np.random.RandomState(seed)
    n = len(index)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        picked = draws.choice(n, size=n, replace=True)
        for model, elo in _fit(models, index[picked], outcome[picked], baseline).items():
            samples.setdefault(model, []).append(elo)
    return samples


def leaderboard(battles: Iterable[Battle], baseline: str = BASELINE, *,
                rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED) -> list[ModelScore]:
    """Every model's score and 95% interval (the baseline excluded), best first."""
    battles = list(battles)
    if not battles:
        return []
    ratings = fit_ratings(battles, baseline)
    samples = bootstrap_ratings(battles, baseline, rounds=rounds, seed=seed)
    lines = []
    for model, elo in ratings.items():
        if model == baseline:
            continue
        low, high = np.percentile(samples.get(model) or [elo], [2.5, 97.5])
        lines.append(ModelScore(model, win_rate(elo), win_rate(float(low)),
                                win_rate(float(high)), elo))
    return sorted(lines, key=lambda line: -line.score)
