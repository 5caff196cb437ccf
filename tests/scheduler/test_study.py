"""The pruners as the scheduler builds them: a trial's step is the questions it has answered.

Pure Optuna (an in-memory study): what is checked is where the pruner decides, not storage.
"""

from __future__ import annotations

import optuna
import pytest

from scheduler.search_context import rung_sizes
from scheduler.study import ask_seed, make_pruner, make_sampler


def test_rung_sizes_grow_without_repeats() -> None:
    assert rung_sizes(200, [0.11, 0.33, 1.0]) == [22, 66, 200]
    assert rung_sizes(40, [0.25, 0.5, 1.0]) == [10, 20, 40]
    assert rung_sizes(3, [0.1, 0.2, 1.0]) == [1, 3]  # 0.1 and 0.2 of 3 both round to one


def _pruned_at(study: optuna.Study, scores: list[float], steps: list[int]) -> int | None:
    """Report ``scores`` at ``steps`` as the scheduler does, stopping where the pruner says;
    the step the trial was pruned at, or None when it ran to the end."""
    trial = study.ask()
    for score, step in zip(scores, steps, strict=True):
        trial.report(score, step=step)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return step
    study.tell(trial, scores[-1])
    return None


@pytest.mark.parametrize(("rungs", "factor", "second_checked"), [
    ([0.11, 0.33, 1.0], 3, True),    # 22, then 66 = 22 x 3
    ([0.25, 0.5, 1.0], 2, True),     # 50, then 100 = 50 x 2
    ([0.25, 0.5, 1.0], 3, False),    # 50, then 150: no check at 100
])
def test_successive_halving_checks_at_the_first_rung_times_the_factor(
        rungs: list[float], factor: int, second_checked: bool) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sizes = rung_sizes(200, rungs)
    study = optuna.create_study(direction="maximize", pruner=make_pruner(
        "successive_halving", rung_sizes=sizes, reduction_factor=factor))
    for _ in range(2 * factor):  # strong trials fill both checks
        assert _pruned_at(study, [0.9, 0.9], sizes[:2]) is None
    assert _pruned_at(study, [0.1, 0.1], sizes[:2]) == sizes[0]
    # Good on the first rung, poor by the second: pruned there only if the pruner checks there.
    assert _pruned_at(study, [0.95, 0.1], sizes[:2]) == (sizes[1] if second_checked else None)



def _asked_points(job_seed: int, trials: int) -> list[tuple[int, int]]:
    """The points a random-search job asks, its sampler reseeded before each ask as the
    scheduler does (scheduler.search_context.SearchContext.reseed_sampler)."""
    study = optuna.create_study(direction="maximize")
    points = []
    for asked in range(trials):
        study.sampler = make_sampler("random", seed=ask_seed(job_seed, asked))
        trial = study.ask()
        points.append((trial.suggest_int("a", 0, 99), trial.suggest_int("b", 0, 99)))
        study.tell(trial, 0.0)
    return points


def test_jobs_of_neighbouring_seeds_ask_different_trials() -> None:
    # Seeding each ask with job seed + trials asked made seed 1 ask what seed 0 asks one
    # trial later: two "different" searches proposing the same architectures.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    zero, one = _asked_points(0, 12), _asked_points(1, 12)
    assert _asked_points(0, 12) == zero  # a restarted scheduler asks the same again
    assert len(set(zero[1:]) & set(one[:-1])) <= 1
