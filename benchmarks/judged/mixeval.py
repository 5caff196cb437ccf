"""MixEval and MixEval-Hard as MixEval scores them: free-form answers graded 0.0-1.0 by a judge
LLM, multiple-choice options read by rule and, where the rule finds none, by a judge LLM.

Two benchmarks, ``mixeval`` (``mixeval/``: 2,000 free-form + 2,000 multiple-choice questions)
and ``mixeval-hard`` (``mixeval_hard/``: 500 + 500), each holding both parts: items
``ff-<key>`` and ``mc-<key>``, loaded and framed by the deterministic ``mixeval-hard-free`` and
``mixeval-hard-mc`` (:mod:`benchmarks.free_form`, :mod:`benchmarks.multiple_choice`), with the
part (``free_form``, ``multiple_choice``) and the bare question the judge reads added to the
reference. Options: ``parts`` (one part alone, or both: the default), ``subsets`` (source
benchmarks), ``judge_prompts`` (another judge_prompts.json).

Data: the folder holding ``free-form.json`` and ``multiple-choice.json``, or either file, the
other being read beside it; ``data_file`` is the free-form file, so ``--data`` and
``$ITAS_DATASETS`` resolve as for every benchmark. A part that is not asked for need not exist.
The judge's prompts (:mod:`benchmarks.judged.mixeval_judge`) are the ``judge_prompts`` option,
else ``judge_prompts.json`` beside the data, else ``../mixeval_hard/judge_prompts.json`` from
the data's folder: the one judge of both benchmarks.

A question's calls and score (:meth:`MixEvalJudged.judge_calls`, ``judged_score``):

- free form: one call, key ``grade``, to the grader with the question, the gold answers and
  the reply; the score is the grade (0..1), None when it could not be read;
- multiple choice: :func:`benchmarks.multiple_choice.read_choice` first; when it reads an
  option, no call and the score is 1 or 0 by the key; else one call, key ``extract``, to the
  option extractor, and the score is 1 or 0 by the option it names, None when unread.

An unread verdict is asked again (``follow_up``: the same call as the next attempt, up to
:data:`~benchmarks.judged.base.MAX_JUDGE_ATTEMPTS`), then left out of the score and counted.
The overall score is :func:`benchmarks.judged.mixeval_summary.summarize`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.answers import answer_spans
from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_keyed_rows
from benchmarks.free_form import MIXEVAL_FREE_SUBSETS, MixEvalHardFree
from benchmarks.judged.base import (
    MAX_JUDGE_ATTEMPTS,
    JudgeCall,
    JudgedSummary,
    JudgeReply,
    QuestionJudgment,
    Verdict,
)
from benchmarks.judged.mixeval_judge import (
    fill,
    gold_answers,
    option_lines,
    read_grade,
    read_judges,
    read_option,
)
from benchmarks.judged.mixeval_summary import summarize
from benchmarks.multiple_choice import LETTERS, MIXEVAL_MC_SUBSETS, MixEvalHardMC, read_choice
from benchmarks.options import check_known, choice_list_option

__all__ = ["MIXEVAL", "MIXEVAL_HARD", "PARTS", "MixEvalJudged"]

PARTS = ("multiple_choice", "free_form")
#: Part -> the prefix of its item ids (those of mixeval-hard-mc and mixeval-hard-free).
PREFIX = {"multiple_choice": "mc", "free_form": "ff"}
FREE_FORM_FILE = "free-form.json"
MC_FILE = "multiple-choice.json"
JUDGE_PROMPTS_FILE = "judge_prompts.json"
#: Where the judge's prompts are, from the data's folder, when ``judge_prompts`` is not given.
JUDGE_PROMPTS_BESIDE = (Path(JUDGE_PROMPTS_FILE), Path("..", "mixeval_hard", JUDGE_PROMPTS_FILE))
SUBSETS = tuple(dict.fromkeys(MIXEVAL_FREE_SUBSETS + MIXEVAL_MC_SUBSETS))


class MixEvalJudged:
    """One of MixEval's two benchmarks (both parts), judged; see the module docstring."""

    kind = "judged"
    pairwise = False
    needs_data = True
    #: Every free-form answer takes a call; a multiple-choice answer only when the rule reads
    #: no option (a small share of real replies, which state the letter as framed).
    judge_calls_per_question = 0.55
    option_help: Mapping[str, str] = {
        "parts": "a list of parts to keep (multiple_choice, free_form; default: both)",
        "subsets": "a list of source benchmarks to keep (benchmark_name: "
                   + ", ".join(SUBSETS) + "; default: all)",
        "judge_prompts": "the judge's prompts file (default: judge_prompts.json beside the "
                         "data, else ../mixeval_hard/judge_prompts.json from the data's folder)",
    }

    def __init__(self, name: str, folder: str, description: str) -> None:
        self.name = name
        self.description = description
        self.data_file: str | None = f"{folder}/{FREE_FORM_FILE}"
        self.data_help: str | None = (f"the folder holding {FREE_FORM_FILE} and {MC_FILE} "
                                      f"({folder}/), or either file (the other is read beside it)")

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "parts" in options:
            problems += choice_list_option(options, "parts", PARTS)
        if "subsets" in options:
            problems += choice_list_option(options, "subsets", SUBSETS)
        prompts = options.get("judge_prompts")
        if "judge_prompts" in options and (not isinstance(prompts, str) or not prompts.strip()):
            problems.append(f"judge_prompts: expected the path of a judge_prompts.json, got "
                            f"{prompts!r}")
        return problems

    # -- loading --------------------------------------------------------------------------

    def part_files(self, data: Path | None) -> dict[str, Path]:
        """Part -> its file, from the resolved data (either file; the other beside it)."""
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data ({self.data_help})")
        beside = data.parent
        if data.name == MC_FILE:
            return {"free_form": beside / FREE_FORM_FILE, "multiple_choice": data}
        return {"free_form": data, "multiple_choice": beside / MC_FILE}

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        files = self.part_files(data)
        items: list[Item] = []
        # Free form first: the order fixes which questions the seeded split searches on.
        for part, loader in (("free_form", MixEvalHardFree()),
                             ("multiple_choice", MixEvalHardMC())):
            if part not in (options.get("parts") or PARTS):
                continue
            path = files[part]
            if not path.is_file():
                raise BenchmarkError(f"{path} does not exist: {self.name} reads its {part} "
                                     f"part from {path.name}, beside the other part's file "
                                     f"(or give the option parts without {part})")
            # The deterministic loader frames and checks the rows; the judge reads the bare
            # question, which it does not keep, so the file is read a second time for it.
            questions = {f"{PREFIX[part]}-{key}": row.get("prompt")
                         for key, row in read_keyed_rows(path)}
            for item in loader.load(path, options):
                reference = {**item.reference, "part": part,
                             "question": str(questions[item.item_id]).strip()}
                items.append(replace(item, reference=reference))
        return items

    # -- judging --------------------------------------------------------------------------

    def judge_prompts_path(self, data: Path | None, options: Mapping[str, Any]) -> Path:
        """The judge_prompts.json to read (see the module docstring)."""
        if options.get("judge_prompts"):
            return Path(str(options["judge_prompts"]))
        if data is None:
            raise BenchmarkError(f"{self.name}: no data to find {JUDGE_PROMPTS_FILE} beside; "
                                 "give the option judge_prompts")
        tried = [data.parent / where for where in JUDGE_PROMPTS_BESIDE]
        for path in tried:
            if path.is_file():
                return path
        raise BenchmarkError(f"{self.name}: no judge prompts at {' or '.join(map(str, tried))}"
                             "; give the option judge_prompts (MixEval's judge_prompts.json)")

    def judge_definition(self, data: Path | None,
                         options: Mapping[str, Any]) -> dict[str, Any]:
        return {"benchmark": self.name, **read_judges(self.judge_prompts_path(data, options))}

    def judge_calls(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                    answers: Sequence[str]) -> list[JudgeCall]:
        reply = answers[-1] if answers else ""
        if reference["part"] == "free_form":
            key, judge = "grade", definition["free_form"]
            values = {"prompt": reference["question"],
                      "gold_ans": gold_answers(list(reference["targets"])), "response": reply}
            context: dict[str, Any] = {"part": "free_form"}
        else:
            options = [str(option) for option in reference["options"]]
            if read_choice(reply, options)[0] is not None:
                return []  # the rule read the option: MixEval's extractor is not needed
            key, judge = "extract", definition["multiple_choice"]
            values = {"prompt": reference["question"], "options": option_lines(options),
                      "response": reply}
            context = {"part": "multiple_choice", "options": len(options)}
        messages = (("system", str(judge["system"])), ("user", fill(judge["user"], values)))
        return [JudgeCall(key, messages, temperature=float(definition["temperature"]),
                          max_tokens=int(definition["max_tokens"]), context=context)]

    def read_verdict(self, definition: Mapping[str, Any], call: JudgeCall,
                     reply: JudgeReply) -> Verdict:
        if call.key == "grade":
            value, label, note = read_grade(reply.text)
        elif call.key == "extract":
            index, label, note = read_option(reply.text, int(call.context["options"]))
            value = None if index is None else float(index)
        else:
            value, label, note = None, None, f"not a MixEval judge call: {call.key!r}"
        return Verdict(call.key, value, label, note, attempts=call.attempt + 1,
                       context=call.context)

    def follow_up(self, definition: Mapping[str, Any], call: JudgeCall,
                  reply: JudgeReply) -> JudgeCall | None:
        # MixEval asks the same prompt again (a new sample, at the judge's temperature).
        if call.attempt + 1 >= MAX_JUDGE_ATTEMPTS:
            return None
        return replace(call, attempt=call.attempt + 1)

    def judged_score(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                     answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored:
        reply = answers[-1] if answers else ""
        if reference["part"] == "free_form":
            verdict = _last(verdicts, "grade")
            answer = next((s.text for s in answer_spans(reply) if s.text.strip()), None)
            if verdict is None or verdict.value is None:
                return Scored(answer, None, _unread(verdict, "grade"))
            return Scored(answer, verdict.value, f"judge's score: {verdict.label}")
        options = [str(option) for option in reference["options"]]
        letter, note = read_choice(reply, options)
        if letter is None:
            verdict = _last(verdicts, "extract")
            if verdict is None or verdict.value is None:
                return Scored(None, None, _unread(verdict, "option extraction"))
            letter = LETTERS[int(verdict.value)]
            note = f"option extracted by the judge (the rule found none: {note})"
        return Scored(letter, 1.0 if letter == reference["answer"] else 0.0, note)

    def summarize(self, definition: Mapping[str, Any],
                  judgments: Sequence[QuestionJudgment]) -> JudgedSummary:
        scored = [(str(j.reference["part"]), self.judged_score(
            definition, j.reference, j.answers, j.verdicts).score) for j in judgments]
        return summarize(scored)

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        """The score without a judge: a multiple-choice option the rule reads, else None."""
        return self.judged_score({}, reference, (reply,), ())


def _last(verdicts: Sequence[Verdict], key: str) -> Verdict | None:
    return next((v for v in reversed(verdicts) if v.key == key), None)


def _unread(verdict: Verdict | None, what: str) -> str:
    if verdict is None:
        return f"not judged yet: the {what} needs the judge's verdict"
    return f"the judge's {what} could not be read ({verdict.note}; {verdict.attempts} attempts)"


MIXEVAL = MixEvalJudged("mixeval", "mixeval", "MixEval (2024-06-01), 2,000 free-form + 2,000 "
                        "multiple-choice questions, graded by an LLM judge")
MIXEVAL_HARD = MixEvalJudged("mixeval-hard", "mixeval_hard", "MixEval-Hard, 500 free-form + "
                             "500 multiple-choice questions, graded by an LLM judge")
