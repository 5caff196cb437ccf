"""What every technique shares: the calls it plans, their results, and the layer state.

A technique works in one round: from a layer's input state it *plans* LLM calls, the layer runs
all calls of all its components concurrently, then each technique *combines* its results into
its contribution. One round per layer keeps the thread pool flat (no task waits on a subtask in
the same pool) and lets every call of a layer overlap.

Replies are read by the technique's ``parse`` (its prompt module's parser) as soon as they
arrive. A reply that does not parse, or that was cut off at ``max_tokens``, is asked again with
the next *attempt* (see :data:`MAX_ATTEMPTS` and :meth:`CallSpec.retry`). How many calls each
technique plans is stated once, in models/call_plan.py (:func:`planned`). A result that is still
unusable after the last attempt carries its ``problem``; it is counted in
``LayerState.parse_failures``, marked on its call record, and handled by the rule written in the
technique's docstring — never turned into a default without a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

# MAX_ATTEMPTS is stated with the other call-planning rules, which the cost estimate reads too.
from models.call_plan import MAX_ATTEMPTS as MAX_ATTEMPTS
from models.call_plan import CallPlan, plan_calls
from worker.techniques.conversation import Conversation, Messages

#: Attempt *a* of sample *i* is sent with seed ``i + a * ATTEMPT_SEED_STRIDE``: a new sample,
#: far from the indices real samples use.
ATTEMPT_SEED_STRIDE = 100_000


class Role(StrEnum):
    """What a call asks of its LLM; recorded on every call."""

    GENERATE = "generate"
    CRITIQUE = "critique"
    RANK = "rank"
    FUSE = "fuse"
    VERIFY = "verify"
    UNIT_TEST_GENERATE = "unit_test_generate"
    UNIT_TEST_EVALUATE = "unit_test_evaluate"
    SCORE = "score"  # a reward model scoring candidates
    JUDGE = "judge"  # a judged benchmark's judge (benchmarks/judged/), not the architecture's


class ReplyError(ValueError):
    """A reply does not give what its prompt asked for; the message says what is missing."""


@dataclass(frozen=True)
class CallSpec:
    """One LLM call a technique wants.

    ``documents`` is set only for reward-model calls (role ``score``): the candidates to score
    against the last user message. ``top_logprobs`` > 0 asks for the first output token's
    ``top_logprobs`` most likely tokens with their log-probabilities (a judge reading its
    preference from them, as AlpacaEval's does); it is part of the cache key when set.
    ``reasoning_effort`` is the component's (None: the registry's default for the LLM, if any).
    """

    llm: str
    model_type: str | None
    messages: Messages
    temperature: float
    max_tokens: int
    sample_index: int
    role: Role
    attempt: int = 0
    documents: tuple[str, ...] = ()
    top_logprobs: int = 0
    reasoning_effort: str | None = None

    def __post_init__(self) -> None:
        if self.top_logprobs < 0:
            raise ValueError("CallSpec.top_logprobs: expected 0 (none) or more")

    @property
    def seed(self) -> int:
        """Sent as the provider's seed: the sample index, moved for a repeated attempt."""
        return self.sample_index + self.attempt * ATTEMPT_SEED_STRIDE

    def retry(self, attempt: int) -> CallSpec:
        return replace(self, attempt=attempt)

    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


@dataclass
class CallResult:
    """The outcome of a CallSpec.

    ``text`` is None when the call failed for good (``error_class`` says why). ``parsed`` is
    what the technique's parser read; ``problem`` says why a reply could not be used (it did
    not parse, or was truncated) after every attempt. ``top_logprobs`` is the first output
    token's top (token, log-probability) pairs, best first, when the spec asked for them and
    the endpoint gave them (empty otherwise: Anthropic's API, many local servers); a cache
    hit gives the same as the paid call.
    """

    spec: CallSpec
    text: str | None
    error_class: str | None = None
    request_hash: str | None = None
    finish_reason: str | None = None
    parsed: Any = None
    problem: str | None = None
    top_logprobs: tuple[tuple[str, float], ...] = ()
    #: The provider's reason when it refused the question's prompt (QuestionRefused: over
    #: the context window, a content filter); then ``text`` is None.
    refusal: str | None = None

    @property
    def usable(self) -> bool:
        return self.text is not None and self.problem is None


@dataclass
class Candidate:
    text: str
    critique: str | None = None


@dataclass
class LayerState:
    """What a layer hands to the next; stored per (evaluation, question, layer) as JSON."""

    candidates: list[Candidate] = field(default_factory=list)
    unit_tests: list[str] = field(default_factory=list)
    parse_failures: int = 0
    failed_calls: int = 0
    #: The first reason a provider gave for refusing a call of this question (this layer's
    #: or an earlier one's): a question left without an answer is then ``refused``.
    refusal: str | None = None
    #: An executed unit-test evaluator's results in this layer, one per candidate that reached
    #: it, in input order (:meth:`CodeTestReport.summary`); None when no test ran here.
    test_results: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "candidates": [{"text": c.text, "critique": c.critique} for c in self.candidates],
            "unit_tests": list(self.unit_tests),
            "parse_failures": self.parse_failures,
            "failed_calls": self.failed_calls,
        }
        if self.refusal is not None:  # left out otherwise: states stored before it exist
            data["refusal"] = self.refusal
        if self.test_results is not None:
            data["test_results"] = self.test_results
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LayerState:
        if not data:
            return cls()
        return cls(
            candidates=[Candidate(c["text"], c.get("critique")) for c in data["candidates"]],
            unit_tests=list(data.get("unit_tests", [])),
            parse_failures=int(data.get("parse_failures", 0)),
            failed_calls=int(data.get("failed_calls", 0)),
            refusal=data.get("refusal"),
            test_results=data.get("test_results"),
        )


@dataclass
class Contribution:
    """A component's output.

    ``candidates``: the candidates it produces for the next layer (generators, fusers, and the
    filters: rankers, verifiers, unit-test evaluators). ``passthrough``: the input candidates,
    changed (a critic attaches critiques); they go on when no component of the layer produces.
    ``unusable``: results that stayed unusable after every attempt (counted as parse failures).
    """

    candidates: list[Candidate] | None = None
    passthrough: list[Candidate] | None = None
    unit_tests: list[str] | None = None
    unusable: list[CallResult] = field(default_factory=list)
    failed_calls: int = 0
    #: An executed unit-test evaluator's per-candidate results (LayerState.test_results).
    test_results: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class CodeTestReport:
    """Executed unit tests on each candidate (what a :class:`CodeTestRunner` returns).

    ``outcomes[i][t]`` is test ``t``'s result on candidate ``i``: ``pass``, or why not
    (``wrong_output``, ``error`` for a failed assert or a crash, ``timeout``, ``killed``,
    ``no_code`` when no code could be read from the candidate). Only the tests that could be
    turned into runs are there (``runnable`` of them); ``unreadable`` names the others, which
    no candidate can pass or fail."""

    outcomes: list[list[str]]
    runnable: int
    unreadable: list[str] = field(default_factory=list)

    def passed(self) -> list[int]:
        """Tests passed, per candidate."""
        return [sum(o == "pass" for o in row) for row in self.outcomes]

    def summary(self) -> list[dict[str, Any]]:
        """Small enough for the layer state: per candidate, tests passed and each outcome."""
        return [{"passed": n, "tests": self.runnable, "outcomes": row}
                for n, row in zip(self.passed(), self.outcomes, strict=True)]


class CodeTestRunner(Protocol):
    """Runs a question's generated unit tests against candidates' code: built by the layer
    task from the question's code benchmark and reference (worker/test_runs.py), injected into
    the executed unit-test evaluator, so that techniques never import the sandbox.

    Blocks until every run is done (they run in parallel, bounded by the sandbox's slots);
    raises :class:`~models.errors.SetupError` when the sandbox cannot run them (never a
    score)."""

    def run_tests(self, replies: Sequence[str], tests: Sequence[str]) -> CodeTestReport: ...


class Technique(Protocol):
    """One of Archon's techniques. Implementations are stateless and thread-safe."""

    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        """The calls to make for this layer input (none: the technique has nothing to do)."""
        ...

    def parse(self, component: Any, state: LayerState, spec: CallSpec, text: str) -> Any:
        """What the reply to ``spec`` says; raises :class:`ReplyError` when it does not say it."""
        ...

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        """The contribution, from the results of the planned calls (in plan order)."""
        ...


def spec(component: Any, role: Role, messages: Messages, sample_index: int) -> CallSpec:
    """A CallSpec from a component's LLM and sampling fields."""
    return CallSpec(
        llm=str(component.model),
        model_type=getattr(component, "model_type", None),
        messages=messages,
        temperature=float(getattr(component, "temperature", 0.7) or 0.0),
        max_tokens=int(getattr(component, "max_tokens", 2048) or 2048),
        sample_index=sample_index,
        role=role,
        reasoning_effort=getattr(component, "reasoning_effort", None),
    )


def planned(component: Any, state: LayerState) -> CallPlan:
    """How many calls ``component`` makes on ``state``, by the one statement of the rules
    (models/call_plan.py); every technique sizes its plan by it."""
    return plan_calls(str(component.type),
                      samples=int(getattr(component, "samples", 1) or 1),
                      candidates=len(state.candidates), unit_tests=bool(state.unit_tests),
                      execute_tests=bool(getattr(component, "execute_tests", False)))


def no_system(component: Any) -> bool:
    return bool(getattr(component, "no_system", False))


def free_text(text: str) -> str:
    """The parser of generators and fusers: any non-empty reply is a response. How a final
    answer is given is the benchmark's business (its framing and extractor), not theirs."""
    if not text.strip():
        raise ReplyError("the reply is empty")
    return text


def replies_as_candidates(results: Sequence[CallResult]) -> Contribution:
    """Generators' and fusers' rule: every usable reply is a candidate; an empty or truncated
    reply (after every attempt) is not a response, so it is dropped and counted; a failed call
    is counted and skipped."""
    out = Contribution(candidates=[])
    assert out.candidates is not None
    for result in results:
        if result.text is None:
            out.failed_calls += 1
        elif result.problem is not None:
            out.unusable.append(result)
        else:
            out.candidates.append(Candidate(result.text))
    return out
