"""Judge prompts for the simulator tests: the benchmarks' own, read from the dataset files and
filled here, and paraphrases of each in other words and delimiters.

The benchmarks' prompts come from ``../shared/datasets`` (mt_bench/judge_prompts.jsonl,
arena_hard/judge_config.yaml, alpaca_eval/judge/.../alpaca_eval_clf.txt,
mixeval_hard/judge_prompts.json); placeholders are filled by plain replacement. Readers of the
verdicts, as a client would write them, follow.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .conftest import datasets_dir

Messages = list[dict[str, str]]


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


@cache
def mt_bench_judges() -> dict[str, dict[str, Any]]:
    path = datasets_dir() / "mt_bench" / "judge_prompts.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["name"]: row for row in rows}


@cache
def mt_bench_references() -> dict[int, list[str]]:
    path = datasets_dir() / "mt_bench" / "reference_answer" / "gpt-4.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {row["question_id"]: row["choices"][0]["turns"] for row in rows}


def mt_bench_single(turns: list[str], answers: list[str], reference: list[str] | None = None
                    ) -> Messages:
    """FastChat's single-grade prompt for the last of ``answers`` (turn 1 or 2)."""
    two = len(answers) == 2
    name = ("single-math-v1" if reference else "single-v1") + ("-multi-turn" if two else "")
    judge = mt_bench_judges()[name]
    values = {"question": turns[0], "answer": answers[0], "question_1": turns[0],
              "answer_1": answers[0]}
    if two:
        values.update(question_2=turns[1], answer_2=answers[1])
    if reference:
        values.update(ref_answer_1=reference[0], ref_answer_2=reference[-1])
    return [{"role": "system", "content": judge["system_prompt"]},
            {"role": "user", "content": _fill(judge["prompt_template"], **values)}]


def mt_bench_pair(question: str, answer_a: str, answer_b: str) -> Messages:
    judge = mt_bench_judges()["pair-v2"]
    return [{"role": "system", "content": judge["system_prompt"]},
            {"role": "user", "content": _fill(judge["prompt_template"], question=question,
                                              answer_a=answer_a, answer_b=answer_b)}]


@cache
def arena_config() -> dict[str, Any]:
    return dict(yaml.safe_load((datasets_dir() / "arena_hard" / "judge_config.yaml").read_text()))


def arena_pair(question: str, answer_a: str, answer_b: str) -> Messages:
    config = arena_config()
    user = _fill(config["prompt_template"][0], question_1=question, answer_1=answer_a,
                 answer_2=answer_b)
    return [{"role": "system", "content": config["system_prompt"]},
            {"role": "user", "content": user}]


def alpaca_pair(instruction: str, output_1: str, output_2: str) -> Messages:
    """AlpacaEval's ChatML prompt, turned into system and user messages as alpaca_eval does."""
    path = (datasets_dir() / "alpaca_eval" / "judge" / "alpaca_eval_clf_gpt4_turbo"
            / "alpaca_eval_clf.txt")
    text = _fill(path.read_text(), instruction=instruction, output_1=output_1,
                 output_2=output_2)
    return [{"role": m.group(1), "content": m.group(2)}
            for m in re.finditer(r"<\|im_start\|>(\w+)\n(.*?)\n?<\|im_end\|>", text, re.DOTALL)]


@cache
def mixeval_judges() -> dict[str, str]:
    path = datasets_dir() / "mixeval_hard" / "judge_prompts.json"
    return {row["name"]: row["text"] for row in json.loads(path.read_text())}


def mixeval_free_form(prompt: str, targets: list[str], response: str) -> Messages:
    judges = mixeval_judges()
    gold = "; ".join(f"<answer {i + 1}> {t}" for i, t in enumerate(targets))
    user = _fill(judges["closeended_freeform_judge/user"], prompt=prompt, gold_ans=gold,
                 response=response)
    return [{"role": "system", "content": judges["closeended_freeform_judge/system"]},
            {"role": "user", "content": user}]


def mixeval_choice(prompt: str, options: list[str], response: str) -> Messages:
    judges = mixeval_judges()
    listed = "\n".join(f"{'ABCDEFGHIJ'[i]}. {o}" for i, o in enumerate(options))
    user = _fill(judges["closeended_multiplechoice_parser/user"], prompt=prompt,
                 options=listed, response=response)
    return [{"role": "system", "content": judges["closeended_multiplechoice_parser/system"]},
            {"role": "user", "content": user}]


# --- paraphrases: the same tasks in other words and delimiters ------------------------------

def other_single(question: str, answer: str) -> Messages:
    text = (f"Question from a user:\n{question}\n\n<answer>\n{answer}\n</answer>\n\n"
            "How good is this reply? Give it a score from 1 to 10 after one or two sentences "
            "of justification, written as [[N]].")
    return [{"role": "user", "content": text}]


def other_pair(question: str, answer_a: str, answer_b: str) -> Messages:
    text = (f"Here is a prompt and two candidate replies.\n\nPrompt: {question}\n\n"
            f"<response_a>\n{answer_a}\n</response_a>\n\n<response_b>\n{answer_b}\n"
            "</response_b>\n\nWhich reply is better? Explain briefly, then end with [[A]] if "
            "the first is better, [[B]] if the second is, or [[C]] for a tie.")
    return [{"role": "user", "content": text}]


def other_five(question: str, answer_a: str, answer_b: str) -> Messages:
    text = (f"Compare two assistants on this request:\n{question}\n\nResponse A:\n{answer_a}\n\n"
            f"Response B:\n{answer_b}\n\nDecide which is better and by how much. Conclude "
            "with exactly one label: [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]].")
    return [{"role": "user", "content": text}]


def other_prefer(instruction: str, output_1: str, output_2: str) -> Messages:
    text = (f"Task given to two systems: {instruction}\n\n<output_x>\n{output_1}\n</output_x>\n\n"
            f"<output_y>\n{output_2}\n</output_y>\n\nReply with nothing but the identifier of "
            "the best output: x or y.")
    return [{"role": "user", "content": text}]


def other_free_form(prompt: str, targets: list[str], response: str) -> Messages:
    text = (f"Grade a short answer.\nQuestion: {prompt}\nCorrect answers: {' | '.join(targets)}\n"
            f"Student's answer: {response}\n\nGive a score between 0 and 1 in the form [[0.7]].")
    return [{"role": "user", "content": text}]


def other_choice(prompt: str, options: list[str], response: str) -> Messages:
    listed = "\n".join(f"({'ABCDEFGHIJ'[i]}) {o}" for i, o in enumerate(options))
    text = (f"{prompt}\nChoices:\n{listed}\nModel response: {response}\n\nWhich of the listed "
            "options did the model pick? Reply with its letter as [[X]].")
    return [{"role": "user", "content": text}]


# --- readers --------------------------------------------------------------------------------

def rating(text: str) -> int:
    found = re.findall(r"\[\[(\d+)\]\]", text)
    assert found, f"no [[rating]] in {text!r}"
    return int(found[-1])


def label(text: str) -> str:
    found = re.findall(r"\[\[([ABC]|[AB<>=]{3,4})\]\]", text)
    assert found, f"no verdict label in {text!r}"
    return found[-1]


def score(text: str) -> float:
    found = re.findall(r"\[\[(\d+(?:\.\d+)?)\]\]", text)
    assert found, f"no [[score]] in {text!r}"
    return float(found[-1])


def data(*parts: str) -> Path:
    return datasets_dir().joinpath(*parts)
