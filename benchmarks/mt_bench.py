"""MT-Bench: 80 two-turn questions (writing, roleplay, reasoning, math, coding, extraction,
STEM, humanities), graded by an LLM judge as FastChat's ``llm_judge`` grades them.

Data: ``mt_bench/questions.jsonl``, rows ``{"question_id", "category", "turns": [two user
turns]}``. Ids are ``mt-<question_id>``. The turns are sent as written (no framing: the judge
reads the whole reply). The reference holds ``question_id``, ``category`` and ``turns`` (the
judge's prompt quotes the questions) and, in pairwise mode, ``baseline``: the baseline's
answer to each turn.

Judged (:mod:`benchmarks.judged.mt_bench_judge`): single grading 1-10 per turn by default;
option ``mode: pairwise`` judges each turn against the answers of option ``baseline`` (a file
in FastChat's ``model_answer`` format: a name under ``model_answer/`` beside the questions,
or a path). :meth:`MTBench.score` returns no score (None), never a 0: the score is the judge's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_jsonl
from benchmarks.judged import mt_bench_judge
from benchmarks.judged.base import JudgeCall, JudgedSummary, JudgeReply, QuestionJudgment, Verdict
from benchmarks.judged.mt_bench_judge import read_model_answers
from benchmarks.options import check_known, choice_list_option

__all__ = ["MT_BENCH_CATEGORIES", "MTBench", "read_model_answers"]

MT_BENCH_CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction",
                       "stem", "humanities")
MODES = ("single", "pairwise")


class MTBench:
    """MT-Bench's two-turn questions, judged (the contracts are
    :class:`~benchmarks.judged.base.JudgedBenchmark`'s)."""

    name = "mt-bench"
    kind = "judged"
    description = "MT-Bench, 80 two-turn questions graded 1-10 by an LLM judge"
    needs_data = True
    #: The most user turns a question has; the cost estimate counts every turn's calls.
    max_turns = 2
    data_file: str | None = "mt_bench/questions.jsonl"
    data_help: str | None = "MT-Bench's questions.jsonl or the folder holding it"
    option_help: Mapping[str, str] = {
        "categories": "a list of categories to keep (" + ", ".join(MT_BENCH_CATEGORIES)
                      + "; default: all)",
        "mode": "single (a grade 1-10 per turn; the default) or pairwise (against baseline)",
        "baseline": "pairwise mode: the baseline's answers, FastChat model_answer JSONL (a "
                    "name under model_answer/ beside the questions, or a path)",
    }
    #: Single grading by default; ``mode: pairwise`` makes an evaluation pairwise.
    pairwise = False
    judge_calls_per_question = 2.0

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "categories" in options:
            problems += choice_list_option(options, "categories", MT_BENCH_CATEGORIES)
        mode = options.get("mode", "single")
        if mode not in MODES:
            problems.append(f"mode: expected single or pairwise, got {mode!r}")
        elif mode == "pairwise" and "baseline" in options \
                and not isinstance(options["baseline"], str):
            # Without one, the baseline is an architecture's (`--baseline-architecture`), or
            # the run is refused before anything is queued (scheduler/baselines.py).
            problems.append("baseline: expected the baseline's answers (a name under "
                            "model_answer/ or a path)")
        elif mode == "single" and "baseline" in options:
            problems.append("baseline: only in pairwise mode (mode: pairwise)")
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        categories = options.get("categories")
        baseline = (read_model_answers(_baseline_file(data, str(options["baseline"])))
                    if options.get("mode") == "pairwise" and options.get("baseline") else None)
        items = []
        for number, row in read_jsonl(data):
            try:
                turns = tuple(str(turn) for turn in row["turns"])
                question_id, category = row["question_id"], str(row["category"])
                if not turns or not all(t.strip() for t in turns):
                    raise ValueError("empty turn")
            except (KeyError, TypeError, ValueError) as exc:
                raise BenchmarkError(f"{data}:{number}: expected a JSON object with "
                                     "'question_id', 'category' and 'turns' (a list of "
                                     "non-empty user turns)") from exc
            if categories and category not in categories:
                continue
            reference: dict[str, Any] = {"question_id": question_id, "category": category,
                                         "turns": list(turns)}
            if baseline is not None:
                answer = baseline.get(str(question_id))
                if answer is None or len(answer) < len(turns):
                    raise BenchmarkError(f"baseline {options['baseline']}: no answer to every "
                                         f"turn of question {question_id} ({data}:{number})")
                reference["baseline"] = answer[:len(turns)]
            items.append(Item(f"mt-{question_id}", turns, None, reference))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(None, None, "judged benchmark: its score comes from the LLM judge "
                                  "(judge_calls, judged_score), not from this scorer")

    def judge_definition(self, data: Path | None, options: Mapping[str, Any]) -> dict[str, Any]:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        return mt_bench_judge.judge_definition(data, str(options.get("mode", "single")))

    def judge_calls(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                    answers: Sequence[str]) -> list[JudgeCall]:
        return mt_bench_judge.judge_calls(definition, reference, answers)

    def read_verdict(self, definition: Mapping[str, Any], call: JudgeCall,
                     reply: JudgeReply) -> Verdict:
        return mt_bench_judge.read_verdict(definition, call, reply)

    def follow_up(self, definition: Mapping[str, Any], call: JudgeCall,
                  reply: JudgeReply) -> JudgeCall | None:
        return mt_bench_judge.follow_up(definition, call, reply)

    def judged_score(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                     answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored:
        return mt_bench_judge.judged_score(definition, reference, answers, verdicts)

    def summarize(self, definition: Mapping[str, Any],
                  judgments: Sequence[QuestionJudgment]) -> JudgedSummary:
        return mt_bench_judge.summarize(definition, judgments)


def _baseline_file(questions: Path, baseline: str) -> Path:
    named = questions.parent / "model_answer" / f"{baseline}.jsonl"
    if named.is_file():
        return named
    path = Path(baseline)
    if path.is_file():
        return path
    raise BenchmarkError(f"baseline: neither {named} nor a file {baseline!r} exists")
