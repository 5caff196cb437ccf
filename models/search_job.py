"""Search jobs: what to search (benchmark, LLMs, space), under which budget, and how.

A search job is a YAML file, documented field by field in ``docs/search-job.md`` and in
``examples/search-demo.yaml``; ``itas validate job.yaml`` checks it. In short::

    name: demo                          # required
    benchmark: synth-math               # `itas benchmarks list`; most need data:
    benchmark_options: {}               # the benchmark's own (mixeval: subsets: [MMLU])
    llms: [sim-frontier, sim-large]     # >= 1, names from the endpoints registry
    space: {samples: [1, 3, 5], fusion_layers: [0, 1, 2], ...}
    budget: {usd_per_question: 0.01, total_usd: 5}
    sampler: tpe                        # tpe | gp | random | grid | nsga2
    pruner: wilcoxon                    # wilcoxon | successive_halving | hyperband | median | none
    trials: 20

The space only lists *choices per axis*; how a choice becomes an Archon architecture (the
ordering rules) is :func:`scheduler.search_space.build_architecture`, so no file can write an
architecture that breaks them.

This module is the checked job (pydantic models, frozen); reading a file and reporting what is
wrong with it is :mod:`models.search_job_reader`.
"""

from __future__ import annotations

from enum import StrEnum
from math import prod
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from models.limits import (
    MAX_MAX_TOKENS,
    MAX_PARALLEL_TRIALS,
    MAX_SAMPLES,
    MAX_TOP_K,
    MAX_TRIALS,
)

__all__ = ["MAX_DEFAULT_GENERATORS", "Benchmark", "Budget", "FinalCheck", "Pruner", "Sampler",
           "SearchJob", "SearchSpace", "TokenEstimate"]

#: The default ``space.generators`` is 1..len(llms), capped here (the paper stops at 10 LLMs;
#: five keeps a default search affordable).
MAX_DEFAULT_GENERATORS = 5


class Benchmark(StrEnum):
    """The benchmarks a job can search on: the names of :data:`benchmarks.registry.BENCHMARKS`
    (a test keeps the two equal; the registry says what each is)."""

    SYNTH_MATH = "synth-math"
    GSM8K = "gsm8k"
    MATH = "math"
    MIXEVAL_HARD_MC = "mixeval-hard-mc"
    MIXEVAL_HARD_FREE = "mixeval-hard-free"
    MT_BENCH = "mt-bench"
    ALPACA_EVAL = "alpaca-eval"
    ARENA_HARD = "arena-hard"
    MIXEVAL = "mixeval"
    MIXEVAL_HARD = "mixeval-hard"
    HUMANEVAL = "humaneval"
    MBPP = "mbpp"
    CODE_CONTESTS = "code-contests"


class Sampler(StrEnum):
    TPE = "tpe"
    GP = "gp"
    RANDOM = "random"
    GRID = "grid"
    #: Multi-objective: score up, estimated cost down (the Pareto front).
    NSGA2 = "nsga2"


class Pruner(StrEnum):
    SUCCESSIVE_HALVING = "successive_halving"
    HYPERBAND = "hyperband"
    MEDIAN = "median"
    #: Question by question against the best trial (Optuna's WilcoxonPruner).
    WILCOXON = "wilcoxon"
    NONE = "none"


class FinalCheck(StrEnum):
    """What runs right before the last fuser (or the final pick when there is no fuser)."""

    NONE = "none"
    VERIFIER = "verifier"
    #: A unit_test_generator before the generators, a unit_test_evaluator here.
    UNIT_TESTS = "unit_tests"


_Count = Annotated[int, Field(ge=1)]
_Samples = Annotated[int, Field(ge=1, le=MAX_SAMPLES)]
_MaxTokens = Annotated[int, Field(ge=1, le=MAX_MAX_TOKENS)]
_TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K)]
_Positive = Annotated[float, Field(gt=0)]


class SearchSpace(BaseModel):
    """The choices of each axis. Every trial picks one value per axis (all are always
    suggested, so that grid search sees a fixed space)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    #: How many LLMs generate, taken best first from the power-ranked ``llms``.
    generators: list[_Count] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    #: Samples each generator writes.
    samples: list[_Samples] = Field(default_factory=lambda: [1, 3, 5], min_length=1)
    #: Fusion layers after the generators (0: a ranker or the first candidate answers).
    fusion_layers: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: [0, 1, 2], min_length=1)
    #: Fusers in each fusion layer but the last, which has one fuser (the paper's rule).
    fusers_per_layer: list[_Count] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    #: A critic before each fusion layer.
    critic: list[bool] = Field(default_factory=lambda: [False, True], min_length=1)
    #: A ranker before each fusion layer.
    ranker: list[bool] = Field(default_factory=lambda: [False, True], min_length=1)
    #: How many candidates a ranker hands on (capped by those that reach it).
    ranker_top_k: list[_TopK] = Field(default_factory=lambda: [5], min_length=1)
    #: What runs before the last fuser.
    final_check: list[Annotated[FinalCheck, Strict(False)]] = Field(
        default_factory=lambda: [FinalCheck.NONE, FinalCheck.VERIFIER, FinalCheck.UNIT_TESTS],
        min_length=1)
    #: Sampling temperature of every component.
    temperature: list[Annotated[float, Field(ge=0, le=2)]] = Field(
        default_factory=lambda: [0.7], min_length=1)
    #: max_tokens of every component.
    max_tokens: list[_MaxTokens] = Field(default_factory=lambda: [1024], min_length=1)

    def axes(self) -> dict[str, list[Any]]:
        """Axis name -> its choices, in a fixed order (the names trials suggest)."""
        return {name: [c.value if isinstance(c, FinalCheck) else c for c in getattr(self, name)]
                for name in type(self).model_fields}

    @property
    def size(self) -> int:
        """How many points the grid has (distinct parameter sets, not distinct stacks)."""
        return prod(len(choices) for choices in self.axes().values())


class Budget(BaseModel):
    """Limits, all optional. Per question: the static estimate of one architecture
    (``scheduler.search_space.estimate_cost``). Total: the whole job, every trial together."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    calls_per_question: _Count | None = None
    #: Input plus output tokens.
    tokens_per_question: _Count | None = None
    usd_per_question: _Positive | None = None
    total_calls: _Count | None = None
    total_tokens: _Count | None = None
    total_usd: _Positive | None = None


class TokenEstimate(BaseModel):
    """What the static cost estimate assumes of one question (tokens, rough)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    #: The question with its instructions.
    prompt_tokens: _Count = 200
    #: One answer (a candidate, critique, ranking, verdict); also each candidate shown in a prompt.
    answer_tokens: _Count = 300


class SearchJob(BaseModel):
    """A checked search job. Read it with :func:`load_search_job` / :func:`parse_search_job`;
    constructing it directly skips the checks that span fields."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    benchmark: Benchmark = Field(strict=False)
    #: The benchmark's data file, or the folder holding it; relative to the job file. Required
    #: by the benchmarks that need data (gsm8k, mixeval-*, mt-bench); math has a packaged
    #: default; synth-math takes none.
    data: Path | None = Field(default=None, strict=False)
    #: The benchmark's own options (checked by the benchmark: ``itas benchmarks list --json``).
    benchmark_options: dict[str, Any] = Field(default_factory=dict)
    #: Share of the benchmark searched on; the rest ranks the finalists (the paper: 20/80).
    search_fraction: float = Field(default=0.2, gt=0, lt=1)
    #: At most this many search-split questions are used (None: all of them).
    questions: _Count | None = None
    #: At most this many held-out questions for the final ranking (None: all of them).
    final_questions: _Count | None = None
    #: How many of the best trials are re-evaluated on the held-out questions.
    final_top_k: _Count = 3
    #: The LLMs the search may use; the scheduler power-ranks them before the search.
    llms: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    #: Critic, ranker, verifier and unit tests; None: the best-ranked LLM.
    judge_llm: str | None = Field(default=None, min_length=1)
    #: The judged benchmark's own judge (mt-bench, alpaca-eval, arena-hard, mixeval*): the LLM
    #: that scores the answers, not a part of the architecture. Required for those benchmarks,
    #: refused for the others.
    benchmark_judge: str | None = Field(default=None, min_length=1)
    #: A pairwise judged benchmark's baseline made by an architecture instead of an answers
    #: file: in the file, a path to its Archon JSON (relative to the job file); once checked,
    #: the architecture itself, so the job means the same wherever its scheduler runs.
    baseline_architecture: dict[str, Any] | Annotated[Path, Strict(False)] | None = None
    #: Fusers; None: the best-ranked LLMs (the top ``fusers_per_layer`` in a layer).
    fuser_llm: str | None = Field(default=None, min_length=1)
    space: SearchSpace = Field(default_factory=SearchSpace)
    budget: Budget = Field(default_factory=Budget)
    estimate: TokenEstimate = Field(default_factory=TokenEstimate)
    sampler: Sampler = Field(default=Sampler.TPE, strict=False)
    #: Wilcoxon stops a trial only when its answers, question by question, show it worse than
    #: the best trial; successive halving ranks trials on a rung's few questions, and on the
    #: replay of a known space (bench/search_replay.py) lost the best architecture to that
    #: noise in 32 of 40 seeds (wilcoxon: 6 of 40), for about 0.6 of wilcoxon's calls.
    pruner: Pruner = Field(default=Pruner.WILCOXON, strict=False)
    #: Growing shares of the search questions a trial is evaluated on, reported to the pruner
    #: after each; strictly increasing, the last 1.0. The default grows by 3, matching
    #: ``reduction_factor``, so that every rung but the last is a pruning check.
    rungs: list[Annotated[float, Field(gt=0, le=1)]] = Field(
        default_factory=lambda: [0.11, 0.33, 1.0], min_length=1)
    #: Successive halving and hyperband keep the best 1/reduction_factor of the trials at each
    #: check; checks fall where a trial has answered rungs[0] x reduction_factor^k of the
    #: questions.
    reduction_factor: int = Field(default=3, ge=2)
    trials: int = Field(default=20, ge=1, le=MAX_TRIALS)
    parallel_trials: int = Field(default=4, ge=1, le=MAX_PARALLEL_TRIALS)
    #: Trials that could not be evaluated (a service down past every retry) are told to Optuna
    #: as FAIL and asked again with the same parameters, at most this many times in a job;
    #: one more and the job stops as failed for an infrastructure reason (resumed by the next
    #: scheduler start). A failure is never told to Optuna as a score.
    failed_trial_retries: int = Field(default=3, ge=0, le=100)
    seed: int = Field(default=0, ge=0)
    #: A code benchmark's code (answers, executed unit tests) runs on the workers as bare
    #: subprocesses, without the sandbox: only where none can be set up and the code is
    #: trusted. Recorded on every evaluation of the job; refused for other benchmarks.
    unsafe_no_sandbox: bool = False

    def judge(self, ranked_llms: list[str]) -> str:
        """The LLM of critics, rankers, verifiers and unit tests."""
        return self.judge_llm or ranked_llms[0]
