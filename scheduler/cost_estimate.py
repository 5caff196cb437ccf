"""What one question costs an architecture, estimated statically (no LLM is called), and
whether that fits a job's budget.

Calls are counted as the techniques plan them (``worker/techniques/``), for the most
candidates that can reach each layer (:func:`models.archon_types.hands_on`: a verifier is
assumed to pass them all):

=====================  =========================================  ==========================
component              calls                                      input tokens per call
=====================  =========================================  ==========================
generator              ``samples``                                P
unit_test_generator    1                                          P
critic                 1 (0 with no candidate)                    P + n*A
ranker                 1 (0 with fewer than 2 candidates)         P + n*A (+ n*A critiques)
fuser                  ``samples`` (0 with no candidate)          P + n*A (+ n*A critiques)
verifier               n (one per candidate)                      P + A
unit_test_evaluator    n (one per candidate)                      P + A + A (the tests)
=====================  =========================================  ==========================

P is ``prompt_tokens`` (the question and instructions), A is ``answer_tokens`` (one answer;
also one candidate or one critique shown in a prompt), n the candidates reaching the layer.
Every call writes ``min(A, max_tokens)`` tokens. Critiques count only where they are shown
(fusers always show those that reach them; rankers with ``use_critiques``). Prices are the
registry's (:meth:`models.endpoints.LLM.cost_usd`).

The figure is a ceiling for fresh calls: sample *i* of an LLM on a question is one cached call
shared by every architecture containing it, so a search pays less than the sum of its trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.architecture import Architecture, parse_architecture
from models.archon_types import ComponentType, hands_on, hands_on_critiques

if TYPE_CHECKING:
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
                  prompt_tokens: int, answer_tokens: int) -> CostEstimate:
    """The estimated cost of one question (see the module docstring for the counting rules).

    ``architecture`` is an Archon dict (checked with ``parse_architecture``, so an invalid one
    raises InvalidArchitecture) or an :class:`Architecture`. An LLM the registry does not know
    raises ConfigError.
    """
    arch = architecture if isinstance(architecture, Architecture) \
        else parse_architecture(architecture)[0]
    total = CostEstimate()
    received = 0
    critiques = False
    unit_tests = False
    for layer in arch.layers:
        for c in layer:
            calls, shown = _calls(c.type, c.samples, received, unit_tests)
            if not calls:
                continue
            shown_critiques = critiques and (
                c.type is T.FUSER or (c.type is T.RANKER and c.use_critiques))
            tokens_in = prompt_tokens + (shown + (received if shown_critiques else 0)) \
                * answer_tokens
            tokens_out = min(answer_tokens, c.max_tokens)
            usd = registry.llm(c.model).cost_usd(tokens_in, tokens_out) * calls
            total += CostEstimate(calls, tokens_in * calls, tokens_out * calls, usd)
        shapes = [c.shape for c in layer]
        received = hands_on(shapes, received) or 0
        critiques = hands_on_critiques(shapes, critiques)
        unit_tests = unit_tests or any(c.type is T.UNIT_TEST_GENERATOR for c in layer)
    return total


def judge_estimate(judge_llm: str, calls_per_question: float, registry: Registry, *,
                   prompt_tokens: int, answer_tokens: int) -> CostEstimate:
    """What a judged benchmark's judge adds per question: its calls (the benchmark's
    ``judge_calls_per_question``, rounded up), each shown the question and two answers (the
    architecture's and a baseline's or a reference; P + 2A in) and writing A (an explanation
    and a verdict). A ceiling like the rest: an answer judged once is a cached call after."""
    calls = math.ceil(calls_per_question)
    tokens_in = prompt_tokens + 2 * answer_tokens
    usd = registry.llm(judge_llm).cost_usd(tokens_in, answer_tokens) * calls
    return CostEstimate(calls, tokens_in * calls, answer_tokens * calls, usd)


def job_estimate(architecture: dict[str, Any] | Architecture, registry: Registry,
                 job: Any) -> CostEstimate:
    """An architecture's estimate per question in a search job (``models.search_job``): its
    own calls and, on a judged benchmark, its ``benchmark_judge``'s (which count in budgets
    like the architecture's). The one estimate `itas validate` and the scheduler both use."""
    from benchmarks.registry import get_judged

    tokens = {"prompt_tokens": job.estimate.prompt_tokens,
              "answer_tokens": job.estimate.answer_tokens}
    estimate = estimate_cost(architecture, registry, **tokens)
    judged = get_judged(str(job.benchmark))
    if judged is not None and job.benchmark_judge is not None:
        estimate = estimate + judge_estimate(job.benchmark_judge,
                                             judged.judge_calls_per_question, registry,
                                             **tokens)
    return estimate


def _calls(kind: ComponentType, samples: int, received: int,
           unit_tests: bool) -> tuple[int, int]:
    """(calls, answers shown in each prompt) of one component, as its technique plans them."""
    if kind is T.GENERATOR:
        return samples, 0
    if kind is T.UNIT_TEST_GENERATOR:
        return 1, 0
    if kind is T.CRITIC:
        return (1 if received else 0), received
    if kind is T.RANKER:
        return (1 if received >= 2 else 0), received
    if kind is T.FUSER:
        return (samples if received else 0), received
    if kind is T.VERIFIER:
        return received, 1
    # unit_test_evaluator: one call per candidate, the candidate and the tests in the prompt
    return (received if unit_tests else 0), 2


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
