"""What one question costs an architecture at most, estimated statically (no LLM is called),
and whether that fits a job's budget.

The figure is a *ceiling*: a trial admitted under a budget cannot spend more than it, as long
as the question is no longer than ``estimate.prompt_tokens``. Calls are counted by the one
statement of the call-planning rules (:func:`models.call_plan.plan_calls`, which the techniques
plan by), for the most candidates that can reach each layer (:func:`models.archon_types.hands_on`:
a verifier is assumed to pass them all), every call asked :data:`~models.call_plan.MAX_ATTEMPTS`
times, on every turn of the question (``turns``: MT-Bench has 2). Each call

- writes ``max_tokens`` tokens (its component's);
- reads P (``prompt_tokens``: the question, every turn, with the benchmark's instructions)
  and ``INSTRUCTION_TOKENS`` (the technique's own system prompt and instructions), plus the
  architecture's answers to the earlier turns (each at most the ``max_tokens`` of the last
  layer that wrote candidates), plus the unit tests once a unit-test generator has written
  them (at most its ``max_tokens``; twice for an evaluator, which also lists them), plus what
  it shows: each candidate at most the ``max_tokens`` of the component that wrote it, the
  critiques at most the ``max_tokens`` of the critics that wrote them, each item
  ``LISTING_TOKENS`` more for its number and header.

Prices are the registry's (:meth:`models.endpoints.LLM.cost_usd`). A search pays less than the
sum of its trials' ceilings: sample *i* of an LLM on a question is one cached call shared by
every architecture containing it, most replies are shorter than ``max_tokens``, and most are
read at the first attempt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.architecture import Architecture, parse_architecture
from models.archon_types import ComponentType, hands_on, hands_on_critiques
from models.call_plan import (
    INSTRUCTION_TOKENS,
    LISTING_TOKENS,
    MAX_ATTEMPTS,
    CallPlan,
    plan_calls,
)

if TYPE_CHECKING:
    from models.architecture_schema import Component
    from models.endpoints import Registry
    from models.search_job import Budget

__all__ = ["CostEstimate", "estimate_cost", "job_estimate", "judge_estimate", "over_budget"]

T = ComponentType


@dataclass(frozen=True)
class CostEstimate:
    """Calls, tokens and dollars (per question, unless multiplied)."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def __add__(self, other: CostEstimate) -> CostEstimate:
        return CostEstimate(self.calls + other.calls, self.tokens_in + other.tokens_in,
                            self.tokens_out + other.tokens_out, self.usd + other.usd)

    def times(self, questions: int) -> CostEstimate:
        return CostEstimate(self.calls * questions, self.tokens_in * questions,
                            self.tokens_out * questions, self.usd * questions)


def estimate_cost(architecture: dict[str, Any] | Architecture, registry: Registry, *,
                  prompt_tokens: int, turns: int = 1) -> CostEstimate:
    """The most one question of ``turns`` user turns can cost (see the module docstring).

    ``architecture`` is an Archon dict (checked with ``parse_architecture``, so an invalid one
    raises InvalidArchitecture) or an :class:`Architecture`. An LLM the registry does not know
    raises ConfigError.
    """
    arch = architecture if isinstance(architecture, Architecture) \
        else parse_architecture(architecture)[0]
    total = CostEstimate()
    answer = 0  # the most tokens of the architecture's answer to one turn
    for turn in range(turns):
        flow = _Flow()
        for layer in arch.layers:
            for c in layer:
                plan = plan_calls(c.type, samples=c.samples, candidates=flow.received,
                                  unit_tests=flow.unit_tests > 0,
                                  execute_tests=c.execute_tests)
                if not plan.calls:
                    continue
                calls = plan.calls * MAX_ATTEMPTS
                tokens_in = prompt_tokens + INSTRUCTION_TOKENS + turn * answer \
                    + flow.shown(plan)
                usd = registry.llm(c.model).cost_usd(tokens_in, c.max_tokens) * calls
                total += CostEstimate(calls, tokens_in * calls, c.max_tokens * calls, usd)
            flow = flow.after(layer)
        answer = flow.candidate_tokens
    return total


@dataclass(frozen=True)
class _Flow:
    """What reaches a layer, at most: candidates, their size, critiques and unit tests."""

    received: int = 0
    candidate_tokens: int = 0  # one candidate
    critique_tokens: int = 0  # all critiques together (one critic reply covers every one)
    unit_tests: int = 0  # tokens of the unit tests appended to the query

    def shown(self, plan: CallPlan) -> int:
        """The tokens a call of ``plan`` reads beyond the question and the earlier turns."""
        n = plan.candidates_shown
        tokens = n * (self.candidate_tokens + LISTING_TOKENS)
        if plan.shows_critiques and self.critique_tokens:
            tokens += self.critique_tokens + n * LISTING_TOKENS
        if self.unit_tests:
            tests = self.unit_tests + LISTING_TOKENS  # appended to the query, under a header
            tokens += 2 * tests if plan.lists_unit_tests else tests
        return tokens

    def after(self, layer: Sequence[Component]) -> _Flow:
        shapes = [c.shape for c in layer]
        producers = [c.max_tokens for c in layer if c.type in (T.GENERATOR, T.FUSER)]
        size = self.candidate_tokens
        if any(c.type is T.GENERATOR for c in layer):
            size = 0  # generators replace what reached them (a fuser may hand that on)
            if any(c.type is T.FUSER for c in layer):
                size = self.candidate_tokens
        if producers:
            size = max([size, *producers])
        critics = [c.max_tokens for c in layer if c.type is T.CRITIC]
        critiques = sum(critics) if critics else (
            self.critique_tokens if hands_on_critiques(shapes, self.critique_tokens > 0)
            else 0)
        writers = [c.max_tokens for c in layer if c.type is T.UNIT_TEST_GENERATOR]
        return _Flow(received=hands_on(shapes, self.received) or 0, candidate_tokens=size,
                     critique_tokens=critiques,
                     unit_tests=sum(writers) if writers else self.unit_tests)


def answer_ceiling(architecture: Architecture) -> int:
    """The most tokens of the architecture's answer to one turn: the ``max_tokens`` of the
    component that wrote its final candidate, at most."""
    flow = _Flow()
    for layer in architecture.layers:
        flow = flow.after(layer)
    return flow.candidate_tokens


def judge_estimate(judge_llm: str, calls_per_question: float, registry: Registry, *,
                   prompt_tokens: int, answer_ceiling: int, other_answer_tokens: int,
                   turns: int = 1) -> CostEstimate:
    """The most a judged benchmark's judge adds per question, a ceiling like the rest: its
    calls (the benchmark's ``judge_calls_per_question``, rounded up), each asked up to
    :data:`~benchmarks.judged.base.MAX_JUDGE_ATTEMPTS` times, each shown the question and, for
    every turn, the architecture's answer (at most ``answer_ceiling``) and the one it is
    compared with (a baseline's or a reference, ``other_answer_tokens``: the job's
    ``estimate.answer_tokens``, since that answer is not the architecture's), and writing at
    most JudgeCall's ``max_tokens`` (an explanation and a verdict)."""
    from benchmarks.judged.base import MAX_JUDGE_ATTEMPTS, JudgeCall

    calls = math.ceil(calls_per_question) * MAX_JUDGE_ATTEMPTS
    tokens_in = prompt_tokens + INSTRUCTION_TOKENS \
        + turns * (answer_ceiling + other_answer_tokens)
    tokens_out = JudgeCall.max_tokens
    usd = registry.llm(judge_llm).cost_usd(tokens_in, tokens_out) * calls
    return CostEstimate(calls, tokens_in * calls, tokens_out * calls, usd)


def job_estimate(architecture: dict[str, Any] | Architecture, registry: Registry,
                 job: Any) -> CostEstimate:
    """An architecture's estimate per question in a search job (``models.search_job``): its
    own calls and, on a judged benchmark, its ``benchmark_judge``'s (which count in budgets
    like the architecture's). The one estimate `itas validate` and the scheduler both use."""
    from benchmarks.registry import get, get_judged

    arch = architecture if isinstance(architecture, Architecture) \
        else parse_architecture(architecture)[0]
    turns = getattr(get(str(job.benchmark)), "max_turns", 1)
    estimate = estimate_cost(arch, registry, prompt_tokens=job.estimate.prompt_tokens,
                             turns=turns)
    judged = get_judged(str(job.benchmark))
    if judged is not None and job.benchmark_judge is not None:
        estimate = estimate + judge_estimate(
            job.benchmark_judge, judged.judge_calls_per_question, registry,
            prompt_tokens=job.estimate.prompt_tokens, answer_ceiling=answer_ceiling(arch),
            other_answer_tokens=job.estimate.answer_tokens, turns=turns)
    return estimate


#: (budget field, what it limits, how to read the figure), per question then in total.
_LIMITS = (
    ("calls_per_question", "calls", "{:,}"),
    ("tokens_per_question", "tokens", "{:,}"),
    ("usd_per_question", "usd", "${:.4f}"),
)


def over_budget(estimate: CostEstimate, budget: Budget, questions: int, *,
                spent: CostEstimate | None = None) -> str | None:
    """Why an architecture costing ``estimate`` per question does not fit, or None if it does.

    Per-question limits compare the estimate itself; total limits compare ``estimate`` times
    ``questions`` (those the trial will answer) plus what the job has ``spent`` so far. The
    reason names the limit and both figures, e.g. ``budget.usd_per_question: estimated
    $0.0123 per question, limit $0.0100``.
    """
    for field, attr, fmt in _LIMITS:
        limit = getattr(budget, field)
        value = getattr(estimate, attr)
        if limit is not None and value > limit:
            return (f"budget.{field}: estimated {fmt.format(value)} per question, "
                    f"limit {fmt.format(limit)}")
    needed = estimate.times(questions)
    before = spent or CostEstimate()
    for field, attr, fmt in _LIMITS:
        total_field = "total_" + field.removesuffix("_per_question")
        limit = getattr(budget, total_field)
        value = getattr(needed, attr) + getattr(before, attr)
        if limit is not None and value > limit:
            already = f" ({fmt.format(getattr(before, attr))} already spent)" if spent else ""
            return (f"budget.{total_field}: estimated {fmt.format(value)} for {questions} "
                    f"questions{already}, limit {fmt.format(limit)}")
    return None
