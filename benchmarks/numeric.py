"""The numeric benchmarks: synth-math (the project's own) and GSM8K (grade-school math).

Both ask a word problem whose answer is a number, and both are framed the same way: the
problem, then :data:`NUMERIC_FRAMING`. The scorer reads the number of the first answer span
(:mod:`benchmarks.answers`) that states one (:mod:`benchmarks.numbers`) and compares it exactly
with the key (``18.0`` equals ``18``; ``1/3`` does not equal ``0.33``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.answers import answer_spans
from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_jsonl
from benchmarks.numbers import canonical, read_number, states_time, to_fraction
from benchmarks.options import check_known, int_option
from benchmarks.synth_math import generate

__all__ = ["GSM8K", "NUMERIC_FRAMING", "SYNTH_MATH_COUNT", "SYNTH_MATH_SEED", "SynthMath",
           "score_number"]

#: How a numeric answer is asked for. No placeholder a model could copy into its answer
#: (an ``Answer: <number>`` template was copied verbatim by a real small model).
NUMERIC_FRAMING = (
    "Work through the problem step by step. Then finish your reply with one line that states "
    "the final answer as a bare number (digits only, no units), after the words "
    "\"Final answer:\".")

SYNTH_MATH_SEED = 0
SYNTH_MATH_COUNT = 1000


def frame_numeric(question: str) -> tuple[str, ...]:
    return (f"{question.strip()}\n\n{NUMERIC_FRAMING}",)


def score_number(reference: Mapping[str, Any], reply: str) -> Scored:
    """Score ``reply`` against ``reference["answer"]`` (a number as text)."""
    key = to_fraction(str(reference["answer"]))
    for span in answer_spans(reply):
        value = read_number(span.text)
        if value is None and states_time(span.text) and span.how != "last line":
            return Scored(span.text, 0.0, "the answer states a time of day, not a number")
        if value is None:
            continue
        note = None if span.how != "last line" else \
            "no final-answer line; read the number of the reply's last line"
        return Scored(canonical(value), 1.0 if value == key else 0.0, note)
    return Scored(None, 0.0, "the reply states no number as its final answer")


class SynthMath:
    """synth-math: arithmetic word problems generated from a seed (benchmarks.synth_math)."""

    name = "synth-math"
    kind = "numeric"
    description = ("the project's own multi-step arithmetic word problems, generated from a "
                   "seed (1,000 by default); known to the simulator")
    needs_data = False
    data_file: str | None = None
    data_help: str | None = None
    option_help: Mapping[str, str] = {
        "seed": f"the generator's seed, an integer >= 0 (default {SYNTH_MATH_SEED})",
        "count": f"how many problems, an integer >= 1 (default {SYNTH_MATH_COUNT})",
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        for name, least in (("seed", 0), ("count", 1)):
            if name in options:
                problems += int_option(options, name, least)
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        seed = int(options.get("seed", SYNTH_MATH_SEED))
        count = int(options.get("count", SYNTH_MATH_COUNT))
        return [Item(f"s{seed}-{i}", frame_numeric(problem.question), None,
                     {"answer": problem.answer})
                for i, problem in enumerate(generate(seed=seed, count=count))]

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return score_number(reference, reply)


class GSM8K:
    """GSM8K's test split: JSONL rows ``{"question", "answer"}``, the answer a worked solution
    ending ``#### N``. Ids are ``test-<row>`` (row counted from 0)."""

    name = "gsm8k"
    kind = "numeric"
    description = "GSM8K grade-school math word problems (test split, 1,319)"
    needs_data = True
    data_file: str | None = "gsm8k/test.jsonl"
    data_help: str | None = "GSM8K's test.jsonl or the folder holding it"
    option_help: Mapping[str, str] = {}

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        return check_known(options, self.option_help)

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        if data is None:
            raise BenchmarkError(f"gsm8k needs its data file ({self.data_help})")
        items = []
        for number, row in read_jsonl(data):
            try:
                answer = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
                question = row["question"]
                if to_fraction(answer) is None or not isinstance(question, str):
                    raise ValueError(answer)
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                raise BenchmarkError(f"{data}:{number}: expected a JSON object with 'question' "
                                     "and an 'answer' ending in '#### N'") from exc
            items.append(Item(f"test-{number - 1}", frame_numeric(question), None,
                              {"answer": answer}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return score_number(reference, reply)

