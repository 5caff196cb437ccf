"""MT-Bench's judge, as FastChat's ``llm_judge`` runs it (``gen_judgment.py``,
``common.py``): which prompt, filled with what, and how a reply is read.

The definition (:func:`judge_definition`) is read from the files beside the questions:
``judge_prompts.jsonl`` (FastChat's eight prompts) and ``reference_answer/gpt-4.jsonl``
(GPT-4's answers to the math, reasoning and coding questions). In pairwise mode the baseline's
answers are not in the definition but in each question's reference (``baseline``: its answer
to each turn), loaded with the questions.

Per question (:func:`judge_calls`), single grading:

- ``turn-1``: ``single-v1``, or ``single-math-v1`` with the reference answer's first turn for
  the categories of :data:`NEED_REF_CATEGORIES` (FastChat's ``NEED_REF_CATS``);
- ``turn-2``: ``single-v1-multi-turn`` / ``single-math-v1-multi-turn``, the whole
  conversation (and both reference turns).

Pairwise (option ``mode: pairwise``): the same per turn with ``pair-v2`` / ``pair-math-v1``
(and their multi-turn forms), two games each: ``turn-N-game-1`` shows the architecture as A and
the baseline as B, ``turn-N-game-2`` the other way round (FastChat's ``play_a_match_pair``).

Every call is the prompt's system message and the filled template as the user message,
temperature 0 and 2048 tokens at most, as FastChat asks an OpenAI judge. FastChat does not ask
again when it cannot read a grade (it records -1); itas asks once more as a new attempt
(:func:`follow_up`), then records the verdict as unparsed, which the score leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Scored
from benchmarks.files import read_jsonl
from benchmarks.judged.base import JudgeCall, JudgedSummary, JudgeReply, QuestionJudgment, Verdict
from benchmarks.judged.mt_bench_stats import Row, pairwise_summary, single_summary
from benchmarks.judged.mt_bench_verdicts import pair_outcome, pair_winner, parse_rating

__all__ = ["JUDGE_MAX_TOKENS", "NEED_REF_CATEGORIES", "judge_calls", "judge_definition",
           "judged_score", "read_model_answers", "read_verdict", "summarize"]

#: FastChat's ``NEED_REF_CATS`` (its fourth, arena-hard-200, is not an MT-Bench category).
NEED_REF_CATEGORIES = ("math", "reasoning", "coding")
#: FastChat's ``chat_completion_openai(..., temperature=0, max_tokens=2048)`` for the judge.
JUDGE_MAX_TOKENS = 2048

#: mode -> (general prompt, reference-guided prompt) for turn 1; turn 2 adds ``-multi-turn``.
_PROMPTS = {"single": ("single-v1", "single-math-v1"),
            "pairwise": ("pair-v2", "pair-math-v1")}


def judge_definition(questions: Path, mode: str) -> dict[str, Any]:
    """The judge's prompts and reference answers, read beside ``questions``; JSON-able."""
    folder = questions.parent
    prompt_file = folder / "judge_prompts.jsonl"
    prompts: dict[str, dict[str, str]] = {}
    for number, row in read_jsonl(prompt_file):
        try:
            prompts[str(row["name"])] = {key: str(row[key]) for key in (
                "type", "system_prompt", "prompt_template", "output_format")}
        except (KeyError, TypeError) as exc:
            raise BenchmarkError(f"{prompt_file}:{number}: expected a JSON object with 'name', "
                                 "'type', 'system_prompt', 'prompt_template' and "
                                 "'output_format'") from exc
    wanted = [name + suffix for name in _PROMPTS[mode] for suffix in ("", "-multi-turn")]
    missing = [name for name in wanted if name not in prompts]
    if missing:
        raise BenchmarkError(f"{prompt_file}: no judge prompt named {', '.join(missing)}")
    reference_file = folder / "reference_answer" / "gpt-4.jsonl"
    references = read_model_answers(reference_file)  # GPT-4's, in the same format
    for number, row in read_jsonl(questions):
        if row.get("category") in NEED_REF_CATEGORIES and \
                len(references.get(str(row.get("question_id")), [])) < len(row.get("turns", [])):
            raise BenchmarkError(f"{reference_file}: no reference answer to every turn of "
                                 f"question {row.get('question_id')} ({questions}:{number}, "
                                 f"category {row['category']})")
    return {"benchmark": "mt-bench", "mode": mode,
            "prompts": {name: prompts[name] for name in wanted},
            "reference_answers": references, "need_reference": list(NEED_REF_CATEGORIES),
            "temperature": 0.0, "max_tokens": JUDGE_MAX_TOKENS}


def judge_calls(definition: Mapping[str, Any], reference: Mapping[str, Any],
                answers: Sequence[str]) -> list[JudgeCall]:
    """One call per answered turn (single), or two games per answered turn (pairwise)."""
    turns = [str(turn) for turn in reference["turns"]]
    pairwise = definition["mode"] == "pairwise"
    guided = reference["category"] in definition["need_reference"]
    fields: dict[str, str] = {}
    for i, question in enumerate(turns, 1):
        fields[f"question_{i}"] = question
    if guided:
        for i, text in enumerate(definition["reference_answers"][str(reference["question_id"])],
                                 1):
            fields[f"ref_answer_{i}"] = text
    calls = []
    for turn in range(1, min(len(turns), len(answers)) + 1):
        name = _PROMPTS[definition["mode"]][guided] + ("-multi-turn" if turn > 1 else "")
        prompt = definition["prompts"][name]
        if not pairwise:
            filled = _answer_fields("", answers) | {"question": turns[0], "answer": answers[0]}
            calls.append(_call(definition, prompt, f"turn-{turn}", fields | filled,
                               {"turn": turn}))
            continue
        baseline = [str(text) for text in reference["baseline"]]
        for game, (a, b) in enumerate(((answers, baseline), (baseline, answers)), 1):
            filled = (_answer_fields("a_", a) | _answer_fields("b_", b)
                      | {"question": turns[0], "answer_a": a[0], "answer_b": b[0]})
            calls.append(_call(definition, prompt, f"turn-{turn}-game-{game}", fields | filled,
                               {"turn": turn, "game": game,
                                "architecture": "A" if game == 1 else "B"}))
    return calls


def _answer_fields(prefix: str, answers: Sequence[str]) -> dict[str, str]:
    return {f"answer_{prefix}{i}": str(text) for i, text in enumerate(answers, 1)}


def _call(definition: Mapping[str, Any], prompt: Mapping[str, str], key: str,
          fields: Mapping[str, str], context: Mapping[str, Any]) -> JudgeCall:
    # str.format fills the template only: braces inside an answer are never read as fields.
    user = prompt["prompt_template"].format_map(fields)
    return JudgeCall(key=key, messages=(("system", prompt["system_prompt"]), ("user", user)),
                     temperature=float(definition["temperature"]),
                     max_tokens=int(definition["max_tokens"]), context=dict(context))


def read_verdict(definition: Mapping[str, Any], call: JudgeCall, reply: JudgeReply) -> Verdict:
    """A grade 1-10 (single), or the game's outcome for the architecture: 1 it is better, 0.5
    a tie, 0 the baseline is better (pairwise); value None when the reply states none."""
    attempts = call.attempt + 1
    if definition["mode"] != "pairwise":
        grade = parse_rating(reply.text)
        if grade is None:
            return Verdict(call.key, None, note="no [[rating]] (nor [rating]) in the judge's "
                           "reply", attempts=attempts, context=call.context)
        return Verdict(call.key, grade, label=f"{grade:g}", attempts=attempts,
                       context=call.context)
    winner = pair_winner(reply.text)
    if winner is None:
        return Verdict(call.key, None, note="no [[A]], [[B]] or [[C]] in the judge's reply",
                       attempts=attempts, context=call.context)
    value = 0.5 if winner == "tie" else float(winner == call.context["architecture"])
    return Verdict(call.key, value, label=winner, attempts=attempts, context=call.context)


def follow_up(definition: Mapping[str, Any], call: JudgeCall,
              reply: JudgeReply) -> JudgeCall | None:
    """The same call once more as a new attempt when the reply could not be read; then None."""
    if call.attempt >= 1 or read_verdict(definition, call, reply).parsed:
        return None
    return replace(call, attempt=call.attempt + 1)


def rows(definition: Mapping[str, Any], question: str,
         verdicts: Sequence[Verdict]) -> list[Row]:
    """The (question, turn, value) rows of a question's verdicts: each single grade, or each
    turn's pairwise outcome merged from its two games (:func:`pair_outcome`)."""
    if definition["mode"] != "pairwise":
        return [(question, int(v.context.get("turn", v.key.split("-")[1])), v.value)
                for v in verdicts]
    games: dict[int, dict[int, float | None]] = {}
    for v in verdicts:
        games.setdefault(int(v.context["turn"]), {})[int(v.context["game"])] = v.value
    return [(question, turn, pair_outcome(both.get(1), both.get(2)))
            for turn, both in sorted(games.items())]


def judged_score(definition: Mapping[str, Any], reference: Mapping[str, Any],
                 answers: Sequence[str], verdicts: Sequence[Verdict]) -> Scored:
    """The mean over the turns read: the grade 1-10 (single), or the outcome 0-1 (pairwise)."""
    read = rows(definition, str(reference.get("question_id")), verdicts)
    values = [value for _, _, value in read if value is not None]
    shown = ", ".join(f"turn {turn}: {'-' if value is None else f'{value:g}'}"
                      for _, turn, value in read)
    if not values:
        return Scored(shown or None, None, "no verdict of the judge could be read")
    unread = len(read) - len(values)
    note = f"{unread} turn(s) left out: the judge's verdict could not be read" if unread else None
    return Scored(shown, sum(values) / len(values), note)


def summarize(definition: Mapping[str, Any],
              judgments: Sequence[QuestionJudgment]) -> JudgedSummary:
    """FastChat's figures (:mod:`benchmarks.judged.mt_bench_stats`) over the questions."""
    every = [row for j in judgments for row in rows(definition, j.question_id, j.verdicts)]
    if definition["mode"] != "pairwise":
        return single_summary(every)
    # A pairwise row is a turn; the count shown is of the verdicts (games) left unread.
    unread = sum(not v.parsed for j in judgments for v in j.verdicts)
    return replace(pairwise_summary(every), unparsed=unread)


def read_model_answers(path: Path) -> dict[str, list[str]]:
    """question_id (as text) -> the answer to each turn, from FastChat's model_answer JSONL
    (``question_id``, ``choices[0].turns``)."""
    answers: dict[str, list[str]] = {}
    for number, row in read_jsonl(path):
        try:
            answers[str(row["question_id"])] = [str(t) for t in row["choices"][0]["turns"]]
        except (KeyError, IndexError, TypeError) as exc:
            raise BenchmarkError(f"{path}:{number}: expected FastChat's model_answer format "
                                 "('question_id', 'choices[0].turns')") from exc
    return answers
