"""Judging an answer of a judged benchmark: the benchmark's judge calls, made on the worker
like every LLM call (cache, single flight, limiter, ``llm_calls`` records with role ``judge``).

What the judge is asked and how its reply is read belong to the benchmark
(:mod:`benchmarks.judged.base`), from the definition the scheduler stored with the evaluation;
this module only makes the calls. The calls of one question run at once, each asked again as
its benchmark says (``follow_up``) while its verdict cannot be read, at most
:data:`~benchmarks.judged.base.MAX_JUDGE_ATTEMPTS` times; an unreadable reply is marked
``parse_failure`` on its record, as a technique's is.

Failures are never verdicts: a retryable error propagates (the layer task retries, and the
finished judge calls are cache hits then); a SetupError (refused key, unknown judge LLM)
propagates and stops the evaluation; a fatal refusal of a judge call (a 400: the prompt over
the judge's context, say) is raised as :class:`JudgeRefused`, which fails the question with
the cause: its answer then has no score, never a 0.

Judge calls are recorded at the step after the question's last (``judge_step``), so that they
are told apart from the architecture's own calls of any layer, and reconciliation (which reads
``layer_outputs``) never mistakes them for a step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchmarks.base import Scored
from benchmarks.judged.base import (
    MAX_JUDGE_ATTEMPTS,
    JudgeCall,
    JudgedBenchmark,
    JudgeReply,
    Verdict,
)
from models.errors import JudgeRefused
from worker.techniques.base import CallResult, CallSpec, Role

__all__ = ["Judged", "judge_answer", "judge_spec"]

Caller = Callable[[CallSpec], CallResult]


@dataclass(frozen=True)
class Judged:
    """The outcome of judging one answer: the question's score and what the answer row keeps
    (every verdict, and how many could not be read)."""

    scored: Scored
    verdicts: tuple[Verdict, ...]
    #: The answers judged, one per turn (the benchmark's statistics read them: AlpacaEval's
    #: length control, say).
    answers: tuple[str, ...] = ()

    @property
    def unparsed(self) -> int:
        return sum(1 for v in self.verdicts if not v.parsed)

    def judgment(self) -> dict[str, Any]:
        return {"verdicts": [v.to_json() for v in self.verdicts], "unparsed": self.unparsed,
                "answers": list(self.answers)}


def judge_spec(judge_llm: str, call: JudgeCall) -> CallSpec:
    """The LLM call of a judge call. Sample index 0: the same prompt to the same judge is
    the same call (one cached answer) in every trial and job; a follow-up is a new attempt,
    so it has a key and a seed of its own."""
    return CallSpec(llm=judge_llm, model_type=None, messages=tuple(call.messages),
                    temperature=call.temperature, max_tokens=call.max_tokens, sample_index=0,
                    role=Role.JUDGE, attempt=call.attempt, top_logprobs=call.top_logprobs)


def judge_answer(benchmark: JudgedBenchmark, definition: Mapping[str, Any],
                 reference: Mapping[str, Any], answers: Sequence[str], *, judge_llm: str,
                 call: Caller, pool: ThreadPoolExecutor,
                 on_unusable: Callable[[CallResult], None] | None = None) -> Judged:
    """Judge the architecture's ``answers`` (its final answer to each turn) of one question.

    A turn the architecture did not answer ("": every reply of its last layer failed, was
    empty or cut off) is not judged, nor is the question: a judge would grade the missing
    answer, and a score comes only from an answer the architecture gave. The question gets no
    score, with the reason, and is counted as unjudged."""
    missing = [turn + 1 for turn, answer in enumerate(answers) if not answer.strip()]
    if missing:
        return Judged(Scored(None, None, f"no answer to turn {missing[0]} to judge: not "
                                         "judged, no score"), (), tuple(answers))
    calls = benchmark.judge_calls(definition, reference, answers)
    futures = [pool.submit(_settle, benchmark, definition, judge_llm, first, call, on_unusable)
               for first in calls]
    verdicts = tuple(f.result() for f in futures)
    return Judged(benchmark.judged_score(definition, reference, answers, verdicts), verdicts,
                  tuple(answers))


def _settle(benchmark: JudgedBenchmark, definition: Mapping[str, Any], judge_llm: str,
            judge_call: JudgeCall, call: Caller,
            on_unusable: Callable[[CallResult], None] | None) -> Verdict:
    """Ask one judge call until its verdict can be read or the benchmark gives up."""
    current: JudgeCall | None = judge_call
    verdict: Verdict | None = None
    asks = 0
    while current is not None and asks < MAX_JUDGE_ATTEMPTS:
        asks += 1
        result = call(judge_spec(judge_llm, current))
        if result.text is None:
            raise JudgeRefused(f"the judge {judge_llm} refused judge call {judge_call.key!r} "
                               f"({result.refusal or result.error_class})")
        reply = JudgeReply(result.text, tuple(result.top_logprobs))
        if result.finish_reason == "length" and current.max_tokens > 1:
            # A reply cut at max_tokens is not read (AlpacaEval asks for one token on purpose).
            verdict = Verdict(judge_call.key, None, note="the judge's reply was cut at "
                              f"max_tokens ({current.max_tokens})", context=current.context)
        else:
            verdict = benchmark.read_verdict(definition, current, reply)
        if verdict.parsed:
            break
        if on_unusable is not None:
            result.problem = verdict.note or "no verdict could be read"
            on_unusable(result)
        current = benchmark.follow_up(definition, current, reply)
    assert verdict is not None  # at least one ask: MAX_JUDGE_ATTEMPTS >= 1
    return Verdict(verdict.key, verdict.value, verdict.label, verdict.note, attempts=asks,
                   context=verdict.context)
