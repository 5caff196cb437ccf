"""The Optuna study of a search job: storage, sampler, pruner, directions — one place.

The study lives in Optuna's RDB storage in the same PostgreSQL as itas's tables (Optuna's
tables are ``studies``, ``trials``, ...; ours do not collide). Optuna's heartbeat does not cover
ask-and-tell, so the scheduler itself settles trials a dead scheduler left RUNNING (see
scheduler/search.py).
"""

from __future__ import annotations

from typing import Any, Literal

import optuna

from models.db import sqlalchemy_url
from models.errors import ConfigError

SAMPLERS = ("tpe", "gp", "random", "grid", "nsga2")
PRUNERS = ("successive_halving", "hyperband", "median", "wilcoxon", "none")


#: Any constant: the same in every itas process (models.db uses another for our schema).
_OPTUNA_SCHEMA_LOCK = 0x17A5_0B7A


def storage(database_url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on our database: the one place it is built.

    Building it creates Optuna's tables on first use; two processes doing that at once (a
    scheduler and `itas status`, say) collide on PostgreSQL's enum types, so the first build
    is serialised with an advisory lock.
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_OPTUNA_SCHEMA_LOCK,))
        try:
            return optuna.storages.RDBStorage(sqlalchemy_url(database_url),
                                              engine_kwargs={"pool_pre_ping": True})
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_OPTUNA_SCHEMA_LOCK,))


def directions(sampler: str) -> list[Literal["minimize", "maximize"]]:
    """Score up; with nsga2 also the estimated dollars per question down (a Pareto front)."""
    return ["maximize", "minimize"] if sampler == "nsga2" else ["maximize"]


class AskTellGridSampler(optuna.samplers.GridSampler):
    """GridSampler for ask-and-tell. Optuna's calls ``study.stop()`` once the grid is done,
    which only works inside ``optimize()`` and raises in ``tell()``; the scheduler counts
    trials itself, so there is nothing to stop."""

    def after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                    state: optuna.trial.TrialState, values: Any) -> None:
        return None


def ask_seed(job_seed: int, asked: int) -> int:
    """The sampler's seed for the ask that follows ``asked`` trials of a job seeded
    ``job_seed``: the same on every scheduler start, and unrelated across asks and jobs.
    (``job_seed + asked`` would make job 1's asks job 0's shifted by one: two "different"
    seeds proposing the same trials.)"""
    import numpy as np

    return int(np.random.SeedSequence([job_seed, asked]).generate_state(1)[0])


def make_sampler(name: str, *, seed: int, grid: dict[str, list[Any]] | None = None
                 ) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # constant_liar: trials in flight count as bad guesses, so parallel trials spread out.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=4)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        if grid is None:
            raise ConfigError("sampler grid: needs the search space")
        return AskTellGridSampler(grid, seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)
    if name == "gp":
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            raise ConfigError("sampler gp: Optuna's GPSampler needs PyTorch "
                              "(pip install torch), or choose tpe")
        return optuna.samplers.GPSampler(seed=seed)
    raise ConfigError(f"sampler: expected one of {', '.join(SAMPLERS)}, got {name!r}")


def make_pruner(name: str, *, rung_sizes: list[int], reduction_factor: int
                ) -> optuna.pruners.BasePruner:
    """A trial reports its score with step = the questions it has answered so far (the
    resource, in Optuna's terms), so successive halving and hyperband start at the first rung's
    size and check where a trial has answered that times ``reduction_factor``^k. Under
    wilcoxon a trial reports each question's score instead, step = the question's place among
    the search questions (see :func:`reports_per_question`)."""
    first, last = rung_sizes[0], rung_sizes[-1]
    if name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=first,
                                                      reduction_factor=reduction_factor)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=first, max_resource=max(last, first),
                                              reduction_factor=reduction_factor)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if name == "wilcoxon":
        # Question by question against the best trial so far (a paired signed-rank test):
        # prunes only when the questions answered show the trial worse at p < 0.1, so a
        # strong architecture that starts on a few unlucky questions is not lost to noise,
        # as it is when a rung of 4-22 questions ranks it (bench/search_replay.py). Trials
        # report each question's score (scheduler/trials.py). Optuna marks it experimental.
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"pruner: expected one of {', '.join(PRUNERS)}, got {name!r}")


def reports_per_question(pruner: str) -> bool:
    """Whether trials report every question's score (step = its place) rather than their mean
    so far (step = questions answered). A trial such a pruner stops is told to Optuna as
    COMPLETE with its mean so far, as Optuna advises for WilcoxonPruner: TPE ranks a PRUNED
    trial by its last report, which would be one question's score."""
    return pruner == "wilcoxon"


def open_study(database_url: str, *, study_name: str, sampler: optuna.samplers.BaseSampler,
               pruner: optuna.pruners.BasePruner, sampler_name: str) -> optuna.Study:
    """Create the study, or load it when a scheduler resumes the job."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=study_name, storage=storage(database_url),
                               sampler=sampler, pruner=pruner,
                               directions=directions(sampler_name), load_if_exists=True)
