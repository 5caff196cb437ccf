"""From a trial to an Archon architecture: the search space of a job and its ordering rules.

A trial picks one choice on every axis of ``job.space`` (:func:`suggest`); every axis is always
suggested, even one that does not matter for the picked configuration (``fusers_per_layer``
with one fusion layer), so that the space is the same fixed product for every sampler: the
grid sampler needs that, and TPE and the others simply learn that the axis has no effect. Two
trials may therefore describe the same stack; :func:`models.architecture.architecture_hash`
tells them apart and the response cache makes a repeat cost nothing.

:func:`build_architecture` applies the rules of thumb of the Archon paper (Sections 3-4) and
Archon's own layer rules (:mod:`models.archon_types`), in this order::

    [unit_test_generator]                    final_check == unit_tests: tests first, layer 0
    generators                               the best `generators` ranked LLMs, `samples` each
    for each fusion layer:
        [critic]                             critic: critiques travel with the candidates
        [ranker, top_k = min(ranker_top_k, candidates)]   ranker (skipped when one candidate)
        last fusion layer only:
            [verifier]                       final_check == verifier: wrong ones dropped
            [unit_test_evaluator, top_k = min(ranker_top_k, candidates)]
        fusers                               `fusers_per_layer` of them; the last layer one
    with no fusion layer, the same pre-fuser layers end the stack and pick the answer:
        a ranker keeps top 1 (or ranks for the verifier, whose first_k 1 then keeps the best
        ranked that passes), a unit_test_evaluator keeps the one passing most tests; with
        neither, the first candidate answers (Archon's rule, with a warning).

On a code benchmark (humaneval, mbpp, code-contests) the unit tests run: both unit-test
components get ``execute_tests: true`` (the generator writes tests as code, the evaluator runs
every candidate against them in the workers' sandbox, without an LLM call).

Fuser LLMs: ``job.fuser_llm`` if set (one fuser with ``fusers_per_layer`` samples, so the
fused answers are distinct calls); otherwise the best ``fusers_per_layer`` ranked LLMs, the
list wrapping around with extra samples. The last fusion layer has a single fuser, the
best-ranked (or ``fuser_llm``), as in the paper, so that the stack gives one answer. Judges
(critic, ranker, verifier, unit tests) are ``job.judge(ranked_llms)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.architecture import architecture_hash, parse_architecture
from models.search_job import FinalCheck, SearchJob, SearchSpace
from scheduler.cost_estimate import CostEstimate, estimate_cost, job_estimate, over_budget

if TYPE_CHECKING:
    import optuna

    from models.endpoints import Registry

__all__ = ["AXES", "CostEstimate", "SpaceSurvey", "build_architecture", "estimate_cost",
           "grid_points", "grid_space", "grid_summary", "model_type_for", "over_budget",
           "search_question_count", "space_size", "suggest", "survey"]

#: The axes, in the order trials suggest them (the field order of SearchSpace).
AXES = tuple(SearchSpace.model_fields)
#: The model_type written when no registry says which one an LLM's endpoint takes.
DEFAULT_MODEL_TYPE = "OpenAI_API"


def _is_code(benchmark: str) -> bool:
    from benchmarks.code.base import is_code
    from benchmarks.registry import BENCHMARKS

    known = BENCHMARKS.get(benchmark)
    return known is not None and is_code(known)


def suggest(trial: optuna.trial.BaseTrial, space: SearchSpace) -> dict[str, Any]:
    """One choice per axis, through ``suggest_categorical`` (any sampler, FixedTrial too)."""
    return {axis: trial.suggest_categorical(axis, choices)
            for axis, choices in space.axes().items()}


def grid_space(space: SearchSpace) -> dict[str, list[Any]]:
    """The search space as ``optuna.samplers.GridSampler`` takes it."""
    return space.axes()


def space_size(space: SearchSpace) -> int:
    """Points of the grid: the product of the choices of every axis."""
    return space.size


def model_type_for(llm: str, registry: Registry | None) -> str:
    """A ``model_type`` the LLM's endpoint serves (OpenAI_API when it serves any)."""
    if registry is None or llm not in registry.llms:
        return DEFAULT_MODEL_TYPE
    served = registry.endpoint_for(llm).model_types
    return DEFAULT_MODEL_TYPE if not served or DEFAULT_MODEL_TYPE in served else served[0]


def build_architecture(params: dict[str, Any], ranked_llms: Sequence[str], job: SearchJob, *,
                       registry: Registry | None = None) -> dict[str, Any]:
    """The Archon architecture (JSON-ready dict) of one trial's ``params``.

    ``ranked_llms`` is ``job.llms`` in power-ranking order, best first. ``registry`` picks each
    component's ``model_type``; without it, OpenAI_API. See the module docstring for the rules.
    """
    p = _Params(params)
    ranked = list(ranked_llms)
    if p.generators > len(ranked):
        raise ValueError(f"generators={p.generators} but only {len(ranked)} ranked LLMs")
    judge = job.judge(ranked)

    def component(kind: str, llm: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "model": llm, "model_type": model_type_for(llm, registry),
                "temperature": p.temperature, "max_tokens": p.max_tokens, **fields}

    layers: list[list[dict[str, Any]]] = []
    label: list[str] = []
    tests_run = _is_code(str(job.benchmark))
    run_tests = {"execute_tests": True} if tests_run else {}
    if p.final_check is FinalCheck.UNIT_TESTS:
        layers.append([component("unit_test_generator", judge, **run_tests)])
        label.append("tests")
    layers.append([component("generator", llm, samples=p.samples)
                   for llm in ranked[:p.generators]])
    label.append(f"{p.generators}g x{p.samples}")
    candidates = p.generators * p.samples

    stages = max(p.fusion_layers, 1)  # with no fusion layer, one stage ends in a pick
    for stage in range(1, stages + 1):
        last = stage == stages
        picks = p.fusion_layers == 0  # this stage chooses the answer itself
        if p.critic:
            layers.append([component("critic", judge)])
            label.append("critic")
        checked = last and p.final_check is not FinalCheck.NONE
        if p.ranker and candidates > 1:
            top_k = 1 if picks and not checked else min(p.ranker_top_k, candidates)
            layers.append([component("ranker", judge, top_k=top_k, use_critiques=p.critic)])
            label.append(f"rank{top_k}")
            candidates = top_k
        if checked and p.final_check is FinalCheck.VERIFIER:
            extra = {"first_k": 1} if picks else {}
            layers.append([component("verifier", judge, **extra)])
            label.append("verify")
            candidates = 1 if picks else candidates
        elif checked:  # unit tests
            top_k = 1 if picks else min(p.ranker_top_k, candidates)
            layers.append([component("unit_test_evaluator", judge, top_k=top_k, **run_tests)])
            label.append(f"test{top_k}")
            candidates = top_k
        if picks:
            break
        fusers = _fusers(1 if last else p.fusers_per_layer, ranked, job.fuser_llm)
        layers.append([component("fuser", llm, samples=n) for llm, n in fusers])
        candidates = sum(n for _, n in fusers)
        label.append("fuse" if candidates == 1 else f"{candidates} fusers")
    if p.fusion_layers == 0 and candidates > 1:
        label.append("first")
    name = " > ".join(label) + _sampling_suffix(p, job.space)
    return {"name": name, "layers": layers}


class _Params:
    """A trial's params, typed; a missing axis is an error naming it."""

    def __init__(self, params: dict[str, Any]) -> None:
        missing = [axis for axis in AXES if axis not in params]
        if missing:
            raise KeyError(f"params lack {', '.join(missing)}")
        self.generators = int(params["generators"])
        self.samples = int(params["samples"])
        self.fusion_layers = int(params["fusion_layers"])
        self.fusers_per_layer = int(params["fusers_per_layer"])
        self.critic = bool(params["critic"])
        self.ranker = bool(params["ranker"])
        self.ranker_top_k = int(params["ranker_top_k"])
        self.final_check = FinalCheck(params["final_check"])
        self.temperature = float(params["temperature"])
        self.max_tokens = int(params["max_tokens"])


def _fusers(count: int, ranked: list[str], fuser_llm: str | None) -> list[tuple[str, int]]:
    """(LLM, samples) of the fusers of one layer, ``count`` fused candidates in all."""
    if fuser_llm is not None:
        return [(fuser_llm, count)]
    samples: dict[str, int] = {}
    for i in range(count):
        llm = ranked[i % len(ranked)]
        samples[llm] = samples.get(llm, 0) + 1
    return list(samples.items())


def _sampling_suffix(p: _Params, space: SearchSpace) -> str:
    """Temperature and max_tokens in the name, when the space varies them."""
    parts = []
    if len(space.temperature) > 1:
        parts.append(f"t{p.temperature:g}")
    if len(space.max_tokens) > 1:
        parts.append(f"{p.max_tokens}tok")
    return f" @{' '.join(parts)}" if parts else ""


def grid_points(space: SearchSpace) -> Iterator[dict[str, Any]]:
    """Every params dict of the grid, in GridSampler's axis order."""
    axes = grid_space(space)
    for combo in itertools.product(*axes.values()):
        yield dict(zip(axes, combo, strict=True))


def search_question_count(job: SearchJob) -> int | None:
    """How many search questions a trial answers at most; None when the benchmark's data
    cannot be read here (the job then fails, saying why, when it starts)."""
    from benchmarks.base import BenchmarkError
    from benchmarks.registry import load_questions

    try:
        total = len(load_questions(str(job.benchmark), data=job.data, split="search",
                                   search_fraction=job.search_fraction,
                                   options=job.benchmark_options))
    except BenchmarkError:
        return job.questions
    return min(total, job.questions) if job.questions else total


#: Grids larger than this are not enumerated by :func:`survey` (it would take too long).
SURVEY_LIMIT = 100_000


@dataclass(frozen=True)
class SpaceSurvey:
    """The grid of a job, enumerated: how many distinct stacks, what they cost, which fit."""

    points: int
    distinct: int
    #: Distinct architectures the budget excludes, and one reason as an example.
    over_budget: int
    example_reason: str | None
    #: Grid points (params sets) whose architecture is over budget.
    over_budget_points: int
    #: Lowest and highest estimate per question over the distinct architectures (None:
    #: no registry, nothing estimated).
    usd_range: tuple[float, float] | None
    calls_range: tuple[int, int] | None


def survey(job: SearchJob, registry: Registry | None, ranked_llms: Sequence[str] | None = None,
           ) -> SpaceSurvey | None:
    """Build every architecture of the grid (``job.llms`` order standing in for the power
    ranking); with a registry, estimate each and check it against the budget. None when the
    grid has more than SURVEY_LIMIT points."""
    if job.space.size > SURVEY_LIMIT:
        return None
    ranked = list(ranked_llms or job.llms)
    questions = search_question_count(job) or 1
    seen: dict[str, str | None] = {}  # architecture hash -> why it is over budget
    costs: list[CostEstimate] = []
    points_over = 0
    for params in grid_points(job.space):
        arch, _ = parse_architecture(build_architecture(params, ranked, job, registry=registry))
        key = architecture_hash(arch)
        if key not in seen:
            seen[key] = None
            if registry is not None:
                estimate = job_estimate(arch, registry, job)
                costs.append(estimate)
                why = over_budget(estimate, job.budget, questions)
                seen[key] = None if why is None else f"{arch.name}: {why}"
        points_over += seen[key] is not None
    reasons = [why for why in seen.values() if why is not None]
    return SpaceSurvey(
        job.space.size, len(seen), len(reasons), reasons[0] if reasons else None, points_over,
        (min(e.usd for e in costs), max(e.usd for e in costs)) if costs else None,
        (min(e.calls for e in costs), max(e.calls for e in costs)) if costs else None)


def grid_summary(job: SearchJob, registry: Registry | None) -> str:
    """One line for ``itas validate``: the space's size and, with a registry, its costs."""
    found = survey(job, registry)
    if found is None:
        return f"space of {job.space.size:,} points (too many to enumerate)"
    text = f"space of {found.points:,} points, {found.distinct:,} distinct architectures"
    if found.usd_range is None or found.calls_range is None:
        return text + " (costs not estimated with --structure-only)"
    text += (f", estimated ${found.usd_range[0]:.4f} to ${found.usd_range[1]:.4f} and "
             f"{found.calls_range[0]} to {found.calls_range[1]} calls per question")
    if found.over_budget:
        text += (f", {found.over_budget} over budget ({found.over_budget_points} of the "
                 f"{found.points} points; recorded infeasible without a call; e.g. "
                 f"{found.example_reason})")
    else:
        text += ", none over budget"
    return text
