"""Arena-Hard-Auto v0.1: 500 hard prompts, each judged in two games against a baseline's
answer, scored by a Bradley-Terry fit with the baseline at 50 (lmarena/arena-hard-auto).

Data: ``arena_hard/question.jsonl`` (:mod:`benchmarks.judged.arena_hard_files`). Ids are
``ah-<question_id>``; one turn, the prompt as written. The reference holds ``question_id``,
``category``, ``cluster``, ``turns`` (the prompt, which the judge's template quotes) and
``baseline``: the baseline's answer, from ``model_answer/gpt-4-0314.jsonl`` beside the
questions (v0.1's baseline), or option ``baseline`` (a name under ``model_answer/`` or a path).

The judge (``judge_config.yaml`` beside the questions, read whole into the definition): per
question two calls, ``game-1`` with the baseline as assistant A and the architecture as B,
``game-2`` with the two swapped, each the config's system prompt then its template(s) filled
with ``question_1``, ``answer_1`` (A) and ``answer_2`` (B), at the config's temperature and
max_tokens. A reply is read as arena-hard's ``get_score`` reads it: every match of the config's
``regex_pattern``; none -> asked again with the continuation of :func:`ArenaHard.follow_up`, up
to ``number_of_judgment_attempts`` asks in all; several different ones -> unparsed, not asked
again; one -> the verdict, unparsed too when it is not one of the five labels
``show_result.py`` scores (it gives them no weight).

A verdict's ``value`` is the architecture's margin in that game, whichever position it had:
+2 much better (``>>``), +1 better, 0 a tie, -1 worse, -2 much worse. A question's score
(:meth:`ArenaHard.judged_score`) is the architecture's share of its games weighted as
``show_result.py`` weighs them: a strong verdict counts 3 times, a tie half a win, so games
+2 and 0 give (3 + 0.5) / 4 = 0.875. :meth:`ArenaHard.summarize` is the Bradley-Terry score
with its bootstrap interval (:mod:`benchmarks.judged.arena_hard_stats`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.judged.arena_hard_files import read_answers, read_questions
from benchmarks.judged.arena_hard_stats import STRONG_WEIGHT, Battle, leaderboard
from benchmarks.judged.base import JudgeCall, JudgedSummary, JudgeReply, QuestionJudgment, Verdict
from benchmarks.options import check_known

__all__ = ["FOLLOW_UP", "MARGINS", "ArenaHard"]

#: The user message arena-hard-auto's gen_judgment.py sends after a reply without a verdict
#: (it is in its code, not in judge_config.yaml): the benchmark's own wording, kept as is.
FOLLOW_UP = "continue your judgment and finish by outputting a final verdict label"
#: Label -> the margin of assistant B over assistant A.
MARGINS: Mapping[str, int] = {"A>>B": -2, "A>B": -1, "A=B": 0, "B>A": 1, "B>>A": 2}
_CONFIG_KEYS = ("system_prompt", "prompt_template", "regex_pattern",
                "number_of_judgment_attempts", "temperature", "max_tokens", "baseline_model")


class ArenaHard:
    """Arena-Hard-Auto v0.1 (contracts: :class:`~benchmarks.judged.base.JudgedBenchmark`)."""

    name = "arena-hard"
    kind = "judged"
    description = "Arena-Hard-Auto v0.1, 500 prompts judged against gpt-4-0314's answers"
    needs_data = True
    data_file: str | None = "arena_hard/question.jsonl"
    data_help: str | None = "Arena-Hard-Auto's question.jsonl or the folder holding it"
    option_help: Mapping[str, str] = {
        "baseline": "the baseline's answers: a name under model_answer/ beside the questions "
                    "(default gpt-4-0314) or a path to such a JSONL file",
    }
    pairwise = True
    judge_calls_per_question = 2.0

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "baseline" in options and not isinstance(options["baseline"], str):
            problems.append(f"baseline: expected a name or a path, got {options['baseline']!r}")
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        questions = read_questions(self._data(data))
        name = str(options.get("baseline", "gpt-4-0314"))
        path = baseline_file(self._data(data), name)
        answers = read_answers(path)
        items = []
        for q in questions:
            if q.question_id not in answers:
                raise BenchmarkError(f"{path}: no answer to question {q.question_id}")
            items.append(Item(f"ah-{q.question_id}", (q.prompt,), None, {
                "question_id": q.question_id, "category": q.category, "cluster": q.cluster,
                "turns": [q.prompt], "baseline": answers[q.question_id]}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(None, None, "judged benchmark: its score comes from the LLM judge "
                                  "(judge_calls, judged_score), not from this scorer")

    def judge_definition(self, data: Path | None, options: Mapping[str, Any]) -> dict[str, Any]:
        path = self._data(data).parent / "judge_config.yaml"
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise BenchmarkError(f"{path}: cannot read the judge config: {exc}") from exc
        missing = [key for key in _CONFIG_KEYS if not isinstance(config, dict) or key not in config]
        if missing:
            raise BenchmarkError(f"{path}: no {', '.join(missing)}")
        definition = {key: config[key] for key in _CONFIG_KEYS}
        templates = definition["prompt_template"]
        if isinstance(templates, str):
            templates = [templates]
        try:
            re.compile(str(definition["regex_pattern"]))
        except re.error as exc:
            raise BenchmarkError(f"{path}: regex_pattern is not a regular expression: "
                                 f"{exc}") from exc
        return {**definition, "benchmark": "arena-hard",
                "prompt_template": [str(t) for t in templates],
                "number_of_judgment_attempts": int(definition["number_of_judgment_attempts"]),
                "temperature": float(definition["temperature"]),
                "max_tokens": int(definition["max_tokens"]),
                "baseline_model": str(options.get("baseline", definition["baseline_model"])),
                "follow_up": FOLLOW_UP}

    def judge_calls(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                    answers: Sequence[str]) -> list[JudgeCall]:
        question, baseline, answer = str(reference["turns"][0]), str(reference["baseline"]), \
            str(answers[-1])
        calls = []
        for game, (a, b) in enumerate(((baseline, answer), (answer, baseline)), 1):
            fields = {"question_1": question, "answer_1": a, "answer_2": b}
            # str.format fills the template only: braces in an answer are never fields.
            messages = [("system", str(definition["system_prompt"]))] + [
                ("user", template.format_map(fields)) for template in definition["prompt_template"]]
            calls.append(JudgeCall(f"game-{game}", tuple(messages),
                                   temperature=float(definition["temperature"]),
                                   max_tokens=int(definition["max_tokens"]),
                                   context={"game": game, "architecture": "B" if game == 1
                                            else "A"}))
        return calls

    def read_verdict(self, definition: Mapping[str, Any], call: JudgeCall,
                     reply: JudgeReply) -> Verdict:
        found, again = _get_score(definition, reply.text)
        attempts = call.attempt + 1
        if found is None:
            note = ("no verdict label in the judge's reply" if again else
                    "several different verdict labels in the judge's reply")
            return Verdict(call.key, None, note=note, attempts=attempts, context=call.context)
        if found not in MARGINS:
            return Verdict(call.key, None, label=found, note=f"verdict {found!r} is none of "
                           "the five Arena-Hard scores", attempts=attempts, context=call.context)
        sign = 1 if call.context["architecture"] == "B" else -1
        return Verdict(call.key, float(sign * MARGINS[found]), label=found, attempts=attempts,
                       context=call.context)

    def follow_up(self, definition: Mapping[str, Any], call: JudgeCall,
                  reply: JudgeReply) -> JudgeCall | None:
        """The conversation so far, the judge's reply and :data:`FOLLOW_UP`, when the reply
        held no verdict label and ``number_of_judgment_attempts`` allows another ask."""
        found, again = _get_score(definition, reply.text)
        if not again or call.attempt + 1 >= int(definition["number_of_judgment_attempts"]):
            return None
        messages = (*call.messages, ("assistant", reply.text), ("user", FOLLOW_UP))
        return JudgeCall(call.key, messages, call.temperature, call.max_tokens,
                         call.top_logprobs, call.attempt + 1, call.context)

    def judged_score(self, definition: Mapping[str, Any], reference: Mapping[str, Any],
                     answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored:
        battles = margin_battles("architecture", str(reference.get("question_id")), verdicts)
        shown = ", ".join(f"{v.key}: {v.label or '-'}" for v in verdicts) or None
        if not battles:
            return Scored(shown, None, "no verdict of the judge could be read")
        share = sum(1.0 if b.winner == "model" else 0.5 if b.winner == "tie" else 0.0
                    for b in battles) / len(battles)
        unread = sum(not v.parsed for v in verdicts)
        return Scored(shown, share, f"{unread} game(s) left out: the judge's verdict could "
                                    "not be read" if unread else None)

    def summarize(self, definition: Mapping[str, Any],
                  judgments: Sequence[QuestionJudgment]) -> JudgedSummary:
        battles: list[Battle] = []
        for j in judgments:
            battles += margin_battles("architecture", j.question_id, j.verdicts)
        unparsed = sum(not v.parsed for j in judgments for v in j.verdicts)
        n = sum(any(v.parsed for v in j.verdicts) for j in judgments)
        lines = leaderboard(battles, str(definition["baseline_model"]))
        if not lines:
            return JudgedSummary(None, n=0, unparsed=unparsed)
        line = lines[0]
        return JudgedSummary(line.score, line.ci_low, line.ci_high, n=n, unparsed=unparsed,
                             figures={"elo": line.elo})

    def _data(self, data: Path | None) -> Path:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        return data


def baseline_file(questions: Path, baseline: str) -> Path:
    """``model_answer/<baseline>.jsonl`` beside the questions, else ``baseline`` as a path."""
    named = questions.parent / "model_answer" / f"{baseline}.jsonl"
    if named.is_file():
        return named
    if Path(baseline).is_file():
        return Path(baseline)
    raise BenchmarkError(f"baseline: neither {named} nor a file {baseline!r} exists")


def margin_battles(model: str, question: str, verdicts: Sequence[Verdict]) -> list[Battle]:
    """The battle rows of a question's read verdicts, in game order (a strong one 3 times)."""
    battles: list[Battle] = []
    for v in sorted(verdicts, key=lambda v: v.key):
        if v.value is None:
            continue
        winner = "model" if v.value > 0 else "baseline" if v.value < 0 else "tie"
        battles += [Battle(model, question, winner)] * (STRONG_WEIGHT if abs(v.value) == 2
                                                        else 1)
    return battles


def _get_score(definition: Mapping[str, Any], text: str) -> tuple[str | None, bool]:
    """arena-hard's ``get_score``: (the one label found, or None; whether to ask again)."""
    matches = [m for m in re.findall(str(definition["regex_pattern"]), text) if m != ""]
    if not matches:
        return None, True
    if len(set(matches)) > 1:
        return None, False
    return str(matches[0]).strip("\n"), False
