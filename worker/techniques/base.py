"""What every technique shares: the calls it plans, their results, and the layer state.

A technique works in one round: from a layer's input state it *plans* LLM calls, the layer runs
all calls of all its components concurrently, then each technique *combines* its results into
its contribution. One round per layer keeps the thread pool flat (no task waits on a subtask in
the same pool) and lets every call of a layer overlap.

Parse failures never pass silently: a reply that does not follow its role's format is counted
in ``LayerState.parse_failures``, marked on its call record, and handled by the rule written in
the technique's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from simulator.protocol import Role, build_prompt


@dataclass(frozen=True)
class CallSpec:
    """One LLM call a technique wants. ``sample_index`` is sent as the provider's seed."""

    llm: str
    model_type: str | None
    messages: tuple[tuple[str, str], ...]  # (role, content) pairs: hashable and ordered
    temperature: float
    max_tokens: int
    sample_index: int
    role: Role

    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


@dataclass
class CallResult:
    """The outcome of a CallSpec. ``text`` is None when the call failed for good."""

    spec: CallSpec
    text: str | None
    error_class: str | None = None
    request_hash: str | None = None


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

    def to_json(self) -> dict[str, Any]:
        return {
            "candidates": [{"text": c.text, "critique": c.critique} for c in self.candidates],
            "unit_tests": list(self.unit_tests),
            "parse_failures": self.parse_failures,
            "failed_calls": self.failed_calls,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LayerState:
        if not data:
            return cls()
        return cls(
            candidates=[Candidate(c["text"], c.get("critique")) for c in data["candidates"]],
            unit_tests=list(data.get("unit_tests", [])),
            parse_failures=int(data.get("parse_failures", 0)),
            failed_calls=int(data.get("failed_calls", 0)),
        )


@dataclass
class Contribution:
    """A component's output.

    ``candidates``: the candidates it produces for the next layer (generators, fusers, and the
    filters: rankers, verifiers, unit-test evaluators). ``passthrough``: the input candidates,
    changed (a critic attaches critiques); they go on when no component of the layer produces.
    """

    candidates: list[Candidate] | None = None
    passthrough: list[Candidate] | None = None
    unit_tests: list[str] | None = None
    parse_failures: list[CallResult] = field(default_factory=list)
    failed_calls: int = 0


class Technique(Protocol):
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]: ...

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution: ...


def spec(component: Any, role: Role, prompt: str, sample_index: int) -> CallSpec:
    """A CallSpec from a component's LLM and sampling fields."""
    return CallSpec(
        llm=str(component.model),
        model_type=getattr(component, "model_type", None),
        messages=(("user", prompt),),
        temperature=float(getattr(component, "temperature", 0.7) or 0.0),
        max_tokens=int(getattr(component, "max_tokens", 2048) or 2048),
        sample_index=sample_index,
        role=role,
    )


def prompt_with(role: Role, question: str, candidates: Sequence[Candidate],
                use_critiques: bool, unit_tests: Sequence[str] = ()) -> str:
    critiques = ({i: c.critique for i, c in enumerate(candidates, 1) if c.critique}
                 if use_critiques else None)
    return build_prompt(role, question, candidates=[c.text for c in candidates],
                        critiques=critiques, unit_tests=unit_tests)


def answers_as_candidates(results: Sequence[CallResult]) -> Contribution:
    """Generators' and fusers' rule: every reply is a candidate; one without an ``Answer:``
    line is still kept (its reasoning can help a later fuser) and counted as a parse failure;
    a failed call is counted and skipped."""
    from simulator.protocol import ProtocolParseError, parse_answer

    out = Contribution(candidates=[])
    assert out.candidates is not None
    for result in results:
        if result.text is None:
            out.failed_calls += 1
            continue
        out.candidates.append(Candidate(result.text))
        try:
            parse_answer(result.text)
        except ProtocolParseError:
            out.parse_failures.append(result)
    return out
