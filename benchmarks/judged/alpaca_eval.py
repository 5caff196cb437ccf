"""AlpacaEval 2.0: 805 instructions, each answer judged pairwise against a baseline's, scored
as ``weighted_alpaca_eval_gpt4_turbo`` scores it (raw and length-controlled win rate).

Data: ``alpaca_eval/reference_outputs.json``, a list of ``{"instruction", "output",
"generator", "dataset"}`` (the baseline gpt4_1106_preview's outputs). Ids are ``ae-<row>``; the
row's position is the instruction's ``index`` in alpaca_eval's annotations. Option ``baseline``:
another baseline's outputs, same format, matched by instruction. Option ``gamed``: alpaca_eval's
``df_gamed.csv``, for the official difficulty and the GLM's regularisation.

Beside the data file, the judge's definition (``judge/``, :mod:`.alpaca_eval_judge`) and the
recorded judgments of many systems (``annotations/``), from which the per-instruction
difficulty of the length-controlled GLM is estimated (:mod:`.alpaca_eval_difficulty`) when
the gamed baselines' file is not given.

One judge call per question (``preference``): the judge sees the baseline's and the
architecture's outputs as ``m`` and ``M``, in alpaca_eval's per-instruction order, and answers
one token. The preference (1..2, 2: the architecture wins) is read from that token's top
log-probabilities when the endpoint returns them, else from the label written. An answer equal
to the baseline's is a draw (1.5) with no call, as in alpaca_eval. The question's score is
``preference - 1``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_json
from benchmarks.judged.alpaca_eval_gamed import GamedRows, difficulty_from_gamed, read_gamed_csv
from benchmarks.judged.alpaca_eval_judge import fill_messages, is_switched, read_judge
from benchmarks.judged.alpaca_eval_stats import (
    DRAW,
    preference_from_label,
    preference_from_logprobs,
    win_rate,
)
from benchmarks.judged.base import (
    MAX_JUDGE_ATTEMPTS,
    JudgeCall,
    JudgedSummary,
    JudgeReply,
    QuestionJudgment,
    Verdict,
)
from benchmarks.options import check_known

__all__ = ["AlpacaEval"]

KEY = "preference"


class AlpacaEval:
    """AlpacaEval 2.0 against gpt4_1106_preview's outputs (or another baseline's)."""

    name = "alpaca-eval"
    kind = "judged"
    description = ("AlpacaEval 2.0, 805 instructions judged pairwise against a baseline; raw "
                   "and length-controlled win rate")
    needs_data = True
    data_file: str | None = "alpaca_eval/reference_outputs.json"
    data_help: str | None = "AlpacaEval's reference_outputs.json or the folder holding it"
    option_help: Mapping[str, str] = {
        "baseline": "a JSON file of baseline outputs in reference_outputs.json's format, "
                    "matched by instruction (default: gpt4_1106_preview's)",
        "gamed": "alpaca_eval's df_gamed.csv: the official instruction difficulty and the "
                 "gamed baselines the length-controlled GLM is regularised towards",
    }
    pairwise = True
    judge_calls_per_question = 1.0

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        for name in ("baseline", "gamed"):
            value = options.get(name)
            if value is not None and not (isinstance(value, str) and Path(value).is_file()):
                problems.append(f"{name}: expected the path of a file, got {value!r}")
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        rows = _outputs(self._data(data))
        baseline = _outputs(Path(options["baseline"])) if options.get("baseline") else None
        by_instruction = {row[0]: row for row in baseline} if baseline else {}
        items = []
        for index, (instruction, output, generator, dataset) in enumerate(rows):
            if baseline is not None:
                if instruction not in by_instruction:
                    raise BenchmarkError(f"baseline: {options['baseline']} has no output for "
                                         f"instruction {index} ({instruction[:60]!r})")
                _, output, generator, _ = by_instruction[instruction]
            items.append(Item(f"ae-{index}", (instruction,), None, {
                "index": index, "instruction": instruction, "dataset": dataset,
                "baseline": output, "baseline_generator": generator}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(None, None, "judged benchmark: its score comes from the AlpacaEval judge")

    def judge_definition(self, data: Path | None,
                         options: Mapping[str, Any]) -> dict[str, Any]:
        folder = self._data(data).parent
        definition = {"benchmark": self.name, **read_judge(folder / "judge")}
        gamed = read_gamed_csv(Path(options["gamed"])) if options.get("gamed") else None
        definition["gamed"] = None if gamed is None else {
            "index": list(gamed.index), "preference": list(gamed.preference),
            "std_delta_len": list(gamed.std_delta_len), "difficulty": list(gamed.difficulty)}
        if gamed is not None:
            definition["difficulty"] = difficulty_from_gamed(gamed)
            definition["difficulty_source"] = f"instruction_difficulty of {options['gamed']}"
        elif (folder / "annotations").is_dir():
            definition["difficulty"] = _difficulty(folder / "annotations")
            definition["difficulty_source"] = f"joint fit over {folder / 'annotations'}"
        else:
            definition["difficulty"] = None
            definition["difficulty_source"] = None
        return definition

    def judge_calls(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                    answers: Sequence[str]) -> list[JudgeCall]:
        output, baseline = (answers[-1] if answers else ""), str(reference["baseline"])
        if output == baseline:
            return []  # a draw without a call, as alpaca_eval
        instruction = str(reference["instruction"])
        switched = is_switched(instruction)
        first, second = (output, baseline) if switched else (baseline, output)
        messages = fill_messages(definition["messages"], {
            "instruction": instruction, "output_1": first, "output_2": second})
        return [JudgeCall(KEY, messages, temperature=float(definition["temperature"]),
                          max_tokens=int(definition["max_tokens"]),
                          top_logprobs=int(definition["top_logprobs"]),
                          context={"switched": switched, "index": reference.get("index")})]

    def read_verdict(self, definition: Mapping[str, Any], call: JudgeCall,
                     reply: JudgeReply) -> Verdict:
        switched = bool(call.context.get("switched"))
        numerator = str(definition["numerator_token"])
        denominators = [str(t) for t in definition["denominator_tokens"]]
        label = reply.text.strip() or None

        def verdict(value: float | None, note: str | None = None) -> Verdict:
            return Verdict(call.key, value, label=label, note=note, attempts=call.attempt + 1,
                           context=dict(call.context))

        if reply.top_logprobs:
            value = preference_from_logprobs(reply.top_logprobs, numerator, denominators,
                                             switched=switched)
            if value is not None:
                return verdict(value)
        value = preference_from_label(reply.text, numerator, denominators, switched=switched)
        if value is not None:
            why = "no log-probabilities" if not reply.top_logprobs \
                else "no label among the first token's top log-probabilities"
            return verdict(value, f"read from the label written ({why})")
        return verdict(None, f"unparsed: neither {' nor '.join(denominators)} among the first "
                       f"token's top log-probabilities nor as the reply "
                       f"({reply.text.strip()[:40]!r})")

    def follow_up(self, definition: Mapping[str, Any], call: JudgeCall,
                  reply: JudgeReply) -> JudgeCall | None:
        # alpaca_eval has no follow-up prompt: an unreadable reply is asked again as is.
        return replace(call, attempt=call.attempt + 1) \
            if call.attempt + 1 < MAX_JUDGE_ATTEMPTS else None

    def judged_score(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                     answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored:
        preference, note = _preference(reference, answers, verdicts)
        if preference is None:
            return Scored(None, None, note)
        label = next((v.label for v in verdicts if v.key == KEY), None)
        return Scored(label, preference - 1.0, note)

    def summarize(self, definition: Mapping[str, Any],
                  judgments: Sequence[QuestionJudgment]) -> JudgedSummary:
        preferences = [_preference(j.reference, j.answers, j.verdicts)[0] for j in judgments]
        raw, error, n = win_rate(preferences)
        figures: dict[str, float | None] = {"win_rate": raw, "standard_error": error,
                                            "lc_win_rate": None, "lc_standard_error": None}
        difficulty = definition.get("difficulty")
        if difficulty is not None and judgments:
            from benchmarks.judged.alpaca_eval_glm import length_controlled  # scikit-learn

            gamed = definition.get("gamed")
            try:
                fitted = length_controlled(
                    preferences, [len(str(j.reference["baseline"])) for j in judgments],
                    [len(j.answers[-1]) if j.answers else 0 for j in judgments],
                    [difficulty[int(j.reference["index"])] for j in judgments],
                    GamedRows(index=tuple(gamed["index"]), preference=tuple(gamed["preference"]),
                              std_delta_len=tuple(gamed["std_delta_len"]),
                              difficulty=tuple(gamed["difficulty"])) if gamed else None)
                figures.update(lc_win_rate=fitted.win_rate,
                               lc_standard_error=fitted.standard_error,
                               lc_regularised=float(fitted.regularised))
            except ValueError:
                pass  # too few judged questions for the GLM: lc_win_rate stays None
        half = None if error is None else 1.96 * error
        # A win rate lies in 0..100: the normal interval is cut there (a few questions whose
        # preferences sit near one end would reach past it).
        return JudgedSummary(score=raw,
                             ci_low=None if raw is None or half is None else max(0.0, raw - half),
                             ci_high=None if raw is None or half is None
                             else min(100.0, raw + half), n=n,
                             unparsed=len(judgments) - n, figures=figures)

    def _data(self, data: Path | None) -> Path:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        return data


def _outputs(path: Path) -> list[tuple[str, str, str, str]]:
    """(instruction, output, generator, dataset) of each row of an outputs file."""
    rows = read_json(path)
    if not isinstance(rows, list) or not rows:
        raise BenchmarkError(f"{path}: expected a JSON list of outputs")
    read = []
    for number, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("instruction"), str) \
                or not isinstance(row.get("output"), str):
            raise BenchmarkError(f"{path}: row {number}: expected an object with 'instruction' "
                                 "and 'output' (strings)")
        read.append((row["instruction"], row["output"], str(row.get("generator", "")),
                     str(row.get("dataset", ""))))
    return read


def _preference(reference: Mapping[str, Any], answers: Sequence[str],
                verdicts: Sequence[Verdict]) -> tuple[float | None, str | None]:
    """A question's preference and why it has none (or how it was read)."""
    verdict = next((v for v in verdicts if v.key == KEY), None)
    if verdict is None:
        if (answers[-1] if answers else "") == str(reference.get("baseline")):
            return DRAW, "the same output as the baseline's: a draw, not judged"
        return None, "not judged"
    return verdict.value, verdict.note


@functools.lru_cache(maxsize=4)
def _difficulty_cached(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[float, ...]:
    # Imported here: scikit-learn takes most of a second to import, and only the scheduler
    # making a judge definition and the statistics need it, not every process that lists
    # the benchmarks.
    from benchmarks.judged.alpaca_eval_data import read_annotations_folder
    from benchmarks.judged.alpaca_eval_difficulty import instruction_difficulty

    return tuple(instruction_difficulty(read_annotations_folder(Path(folder))))


def _difficulty(folder: Path) -> list[float]:
    """The joint-fit difficulty over ``folder``'s annotations, computed once per process for a
    given state of the files (the fit takes seconds)."""
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                  for p in sorted(folder.glob("*.jsonl")))
    try:
        return list(_difficulty_cached(str(folder), stamp))
    except ValueError as exc:
        raise BenchmarkError(f"{folder}: cannot estimate the instruction difficulty: {exc}") \
            from exc
