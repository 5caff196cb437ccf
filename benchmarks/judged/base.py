"""What a judged benchmark is: the judge's calls for an answer, the reading of its replies,
the question's score, and the benchmark's own statistics over many questions.

The flow, for one question of an evaluation (the worker runs it after the architecture's last
step, through the same cache, limiter and records as every LLM call)::

    definition = benchmark.judge_definition(data, options)      # scheduler, from the files
    calls = benchmark.judge_calls(definition, reference, answers)
    for call in calls:                                           # worker, through the workers'
        reply = <the judge LLM's reply to call>                  # LLMCaller
        verdict = benchmark.read_verdict(definition, call, reply)
        while verdict.value is None and (call := benchmark.follow_up(definition, call, reply)):
            ...                                        # asked again, as the benchmark does
    scored = benchmark.judged_score(definition, reference, answers, verdicts)

and over the questions of an evaluation (reports, ``itas run``, ``itas benchmarks score``)::

    summary = benchmark.summarize(definition, judgments)

Contracts:

- ``judge_definition`` reads the benchmark's judge files (prompts, templates, verdict formats,
  sampling settings) and returns plain JSON; it raises :class:`~benchmarks.base.BenchmarkError`
  naming the file when one is missing or malformed. Nothing else reads files.
- ``judge_calls`` is deterministic: the same inputs give the same calls (the same prompts are
  then one cached call in every trial and job). It may return no call (MixEval's multiple
  choice, when the rule-based parser finds the option).
- ``read_verdict`` never raises on any reply: a reply it cannot read is a :class:`Verdict` with
  ``value`` None and a ``note`` saying why.
- ``follow_up`` says what to ask when a verdict could not be read (Arena-Hard's continuation
  prompt, or the same call as a new attempt), None when the benchmark gives up. The caller
  stops after :data:`MAX_JUDGE_ATTEMPTS` asks of one call in any case.
- ``judged_score`` is the question's score from its verdicts (MT-Bench: the mean grade of its
  turns, 1-10; pairwise benchmarks: the architecture's share of the games, 0-1), or a Scored
  with ``score`` None when no verdict could be read: never a 0 for an unread verdict.
- ``summarize`` computes the benchmark's published statistic over judged questions, leaving
  unread verdicts out as the benchmark does, with an interval where the benchmark gives one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.base import Benchmark, Scored

__all__ = ["BASELINE", "BASELINE_SOURCE", "MAX_JUDGE_ATTEMPTS", "JudgeCall", "JudgeReply",
           "JudgedBenchmark", "JudgedSummary", "QuestionJudgment", "Verdict", "is_judged"]

#: A pairwise benchmark's baseline answer in an item's reference (a string, or one per turn).
#: Stored apart from the question (one question is judged against different baselines), in
#: the place the evaluation's judge definition names under :data:`BASELINE_SOURCE`, and put
#: back into the reference before ``judge_calls`` and ``summarize`` see it.
BASELINE = "baseline"
BASELINE_SOURCE = "baseline_source"

#: At most this many asks of one judge call (the first and its follow-ups): Arena-Hard's
#: ``number_of_judgment_attempts`` is 2; the others re-ask an unreadable reply once more.
MAX_JUDGE_ATTEMPTS = 3


@dataclass(frozen=True)
class JudgeCall:
    """One request to the benchmark's judge.

    ``key`` names the call within its question (``turn-1``, ``game-2``, ``preference``) and
    stays the same across follow-ups; ``attempt`` counts them (0 first). ``messages`` are
    (role, content) pairs, role ``system``, ``user`` or ``assistant``. ``top_logprobs`` > 0
    asks the endpoint for the first output token's top log-probabilities (AlpacaEval).
    ``context`` is what the reading needs beyond the reply (which answer was shown first, the
    turn), JSON-able.
    """

    key: str
    messages: tuple[tuple[str, str], ...]
    temperature: float = 0.0
    max_tokens: int = 2048
    top_logprobs: int = 0
    attempt: int = 0
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeReply:
    """What the judge answered: its text, and the first output token's top log-probabilities
    as (token, logprob) pairs, best first (empty when not asked for or not given)."""

    text: str
    top_logprobs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The reading of one judge call. ``value`` is the number the benchmark aggregates (a
    grade 1-10, a preference 1-2, a game's score, a 0-1 grade, an option index), None when the
    reply could not be read. ``label`` is what the judge wrote for it (``8``, ``A>>B``)."""

    key: str
    value: float | None
    label: str | None = None
    note: str | None = None
    attempts: int = 1
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parsed(self) -> bool:
        return self.value is not None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "label": self.label, "note": self.note,
                "attempts": self.attempts, "context": dict(self.context)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(key=str(data["key"]), value=data.get("value"), label=data.get("label"),
                   note=data.get("note"), attempts=int(data.get("attempts", 1)),
                   context=dict(data.get("context") or {}))


@dataclass(frozen=True)
class QuestionJudgment:
    """One judged question, as :meth:`JudgedBenchmark.summarize` takes it: the question's
    reference, the architecture's final answer to each turn, and the verdicts."""

    question_id: str
    reference: Mapping[str, Any]
    answers: tuple[str, ...]
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True)
class JudgedSummary:
    """A benchmark's headline figure over judged questions, on the benchmark's own scale
    (MT-Bench 1-10, win rates and Arena-Hard scores 0-100, MixEval 0-100), with its interval
    where the benchmark gives one. ``n`` counts the questions in the figure, ``unparsed`` the
    verdicts left out because they could not be read. ``figures`` holds the others
    (``turn_1``, ``lc_win_rate``, ``standard_error``, ...)."""

    score: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    unparsed: int = 0
    figures: Mapping[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n": self.n, "unparsed": self.unparsed, "figures": dict(self.figures)}


class JudgedBenchmark(Benchmark, Protocol):
    """A benchmark scored by an LLM judge (kind ``judged``); the contracts are the module's."""

    #: True when the judge compares the answer with a baseline's (AlpacaEval, Arena-Hard).
    pairwise: bool
    #: About how many judge calls one question takes (for cost estimates and budgets).
    judge_calls_per_question: float

    def judge_definition(self, data: Path | None,
                         options: Mapping[str, Any]) -> dict[str, Any]: ...

    def judge_calls(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                    answers: Sequence[str]) -> list[JudgeCall]: ...

    def read_verdict(self, definition: Mapping[str, Any], call: JudgeCall,
                     reply: JudgeReply) -> Verdict: ...

    def follow_up(self, definition: Mapping[str, Any], call: JudgeCall,
                  reply: JudgeReply) -> JudgeCall | None: ...

    def judged_score(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                     answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored: ...

    def summarize(self, definition: Mapping[str, Any],
                  judgments: Sequence[QuestionJudgment]) -> JudgedSummary: ...


def is_judged(benchmark: Benchmark) -> bool:
    """Whether ``benchmark`` is scored by a judge (and implements :class:`JudgedBenchmark`)."""
    return benchmark.kind == "judged" and hasattr(benchmark, "judge_calls")
