"""Answer keys of the benchmarks beyond arithmetic, read in place from their data files.

* MixEval-Hard multiple choice (``multiple-choice.json``: ``prompt``, ``options``, ``target``
  option indices, ``context``): kind ``choice``; the answer is the letter of the first target.
  Distractors are the other letters in an order drawn per question, so weak LLMs share the most
  "attractive" wrong option. Found by context + prompt + options (the prompt alone is often
  "What happens next?"), or by the prompt alone when it is long enough to be telling.
* MixEval-Hard free form (``free-form.json``: ``prompt``, ``context``, ``target`` list): kind
  ``text``; every target is accepted. Distractors: slips of a numeric target, else other
  questions' targets of the same source benchmark (a plausible wrong entity).
* MT-Bench (``questions.jsonl``: ``question_id``, ``category``, ``turns``): kind ``open``;
  found by either turn, the later one telling which turn is asked. Difficulty by category
  (:data:`OPEN_DIFFICULTY`): math, reasoning and coding are hard, the rest easy, and the second
  turn harder than the first, as the real GPT-4 grades of mt_bench/model_judgment show.
* Arena-Hard-Auto (``question.jsonl``: ``uid``, ``prompt`` or ``turns[0].content``) and
  AlpacaEval (``reference_outputs.json``: ``instruction``): kind ``open``, one turn each.
* The full MixEval (``mixeval/``): the same formats as MixEval-Hard's, sources
  ``mixeval-mc`` / ``mixeval-ff``.
* MATH-style JSONL (Hendrycks MATH form: ``problem``, ``solution`` with ``\\boxed{...}``,
  optional ``level`` such as ``"Level 3"`` or 3, ``type``, ``id``): kind ``latex``; the answer is
  the solution's last boxed expression; distractors are LaTeX slips of it.

Each loader raises OSError / ValueError / KeyError on unreadable data; simulator/loader.py turns
them into one FleetError naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from simulator.answer_keys import AnswerKey, level_difficulty, normal_difficulty
from simulator.skill import draw
from simulator.text import normalize_number, normalize_question, words
from simulator.values import Kind, boxed, canonical, latex_slips, normalize_text, number_slips

__all__ = [
    "OPEN_DIFFICULTY",
    "load_alpaca_eval",
    "load_arena_hard",
    "load_math_style",
    "load_mixeval_choice",
    "load_mixeval_free_form",
    "load_mt_bench",
]

#: Difficulty of open questions per (source, category): (mean, sd, shift per later turn). The
#: quality of an open answer (simulator/quality.py) and its chance of a mistake depend on it.
#: MT-Bench: calibrated on the real GPT-4 grades of an Archon system (mt_bench/model_judgment:
#: math, reasoning and coding hold nearly all the low grades, mostly on turn 2); Arena-Hard's
#: questions are hard by construction, AlpacaEval's mostly everyday requests.
OPEN_DIFFICULTY: dict[tuple[str, str], tuple[float, float, float]] = {
    ("mt-bench", "math"): (0.6, 0.6, 0.9),
    ("mt-bench", "reasoning"): (0.6, 0.6, 0.9),
    ("mt-bench", "coding"): (0.6, 0.6, 0.9),
    ("mt-bench", ""): (-0.9, 0.6, 0.4),
    ("arena-hard", ""): (0.3, 0.8, 0.0),
    ("alpaca-eval", ""): (0.2, 0.8, 0.0),
}

_LETTERS = "ABCDEFGHIJ"
_MIN_CORE_WORDS = 6  # a prompt shorter than this is found only together with its context


def _rows(path: Path) -> Iterable[Mapping[str, Any]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = raw.values() if isinstance(raw, dict) else raw
    for row in rows:
        if not isinstance(row, Mapping):
            raise ValueError(f"expected objects, found {type(row).__name__}")
        yield row


def _match_texts(*parts: str) -> tuple[tuple[str, int], ...]:
    full = "\n".join(p for p in parts if p)
    core = parts[1]
    texts = [(full, 0)]
    if core != full and len(words(core)) >= _MIN_CORE_WORDS:
        texts.append((core, 0))
    return tuple(texts)


def load_mixeval_choice(path: Path, source: str = "mixeval-hard-mc") -> list[AnswerKey]:
    """Keys of MixEval(-Hard)'s ``multiple-choice.json``."""
    keys = []
    for row in _rows(path):
        options = tuple(str(o) for o in row["options"])
        context, prompt = str(row.get("context") or ""), str(row["prompt"])
        answer = _LETTERS[int(row["target"][0])]
        full = normalize_question("\n".join([context, prompt, *options]))
        wrong = sorted(
            (x for x in _LETTERS[: len(options)] if x != answer),
            key=lambda x: draw("attractive", full, x),
        )
        keys.append(
            AnswerKey(
                question=full,
                answer=answer,
                difficulty=normal_difficulty(full),
                distractors=tuple(wrong),
                right_solution=(),
                source=source,
                kind=Kind.CHOICE,
                options=options,
                match_texts=_match_texts(context, prompt, "\n".join(options)),
            )
        )
    return keys


def load_mixeval_free_form(path: Path, source: str = "mixeval-hard-ff") -> list[AnswerKey]:
    """Keys of MixEval(-Hard)'s ``free-form.json``."""
    rows = list(_rows(path))
    pools: dict[str, list[tuple[str, str | None]]] = {}
    for row in rows:
        target = str(row["target"][0])
        pools.setdefault(str(row.get("benchmark_name")), []).append(
            (target, canonical(Kind.TEXT, target)))
    keys = []
    for row in rows:
        context, prompt = str(row.get("context") or ""), str(row["prompt"])
        targets = [str(t) for t in row["target"]]
        accepted = tuple(dict.fromkeys(v for t in targets if (v := canonical(Kind.TEXT, t))))
        full = normalize_question("\n".join([context, prompt]))
        first = targets[0].strip()
        if normalize_number(first) == first.replace(",", ""):
            wrong = number_slips(normalize_number(first) or first)
        else:
            # Four other targets drawn from the pool (not a sort of it: pools hold ~1,000).
            pool = pools[str(row.get("benchmark_name"))]
            picked: dict[str, None] = {}
            for attempt in range(16):
                target, canon = pool[int(draw("wrong", full, attempt) * len(pool))]
                if canon not in accepted:
                    picked.setdefault(target)
                if len(picked) == 4:
                    break
            wrong = list(picked)
        keys.append(
            AnswerKey(
                question=full,
                answer=accepted[0] if accepted else normalize_text(first),
                difficulty=normal_difficulty(full),
                distractors=tuple(wrong[:4]),
                right_solution=(first,),
                source=source,
                kind=Kind.TEXT,
                accepted=accepted,
                match_texts=_match_texts(context, prompt),
            )
        )
    return keys


def _open_key(source: str, turns: tuple[str, ...], category: str = "") -> AnswerKey:
    mean, sd, shift = OPEN_DIFFICULTY.get((source, category), OPEN_DIFFICULTY[(source, "")])
    return AnswerKey(
        question=normalize_question(turns[0]),
        answer="",
        difficulty=mean + sd * normal_difficulty(source, turns[0]),
        distractors=(),
        right_solution=(),
        source=source,
        kind=Kind.OPEN,
        turns=turns,
        match_texts=tuple((t, i) for i, t in enumerate(turns) if len(words(t)) >= 3),
        category=category,
        turn_shift=shift,
    )


def load_mt_bench(path: Path) -> list[AnswerKey]:
    """Keys of MT-Bench's ``questions.jsonl`` (open questions: no right value)."""
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        turns = tuple(str(t) for t in row["turns"])
        keys.append(_open_key("mt-bench", turns, str(row.get("category") or "")))
    return keys


def load_arena_hard(path: Path) -> list[AnswerKey]:
    """Keys of Arena-Hard-Auto's ``question.jsonl`` (``prompt``, or ``turns[0].content``)."""
    keys = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        prompt = row["prompt"] if "prompt" in row else row["turns"][0]["content"]
        keys.append(_open_key("arena-hard", (str(prompt),)))
    return keys


def load_alpaca_eval(path: Path) -> list[AnswerKey]:
    """Keys of AlpacaEval's ``reference_outputs.json`` (its 805 instructions)."""
    return [_open_key("alpaca-eval", (str(row["instruction"]),)) for row in _rows(path)]


def _level(value: object) -> int | None:
    found = re.search(r"\d", str(value)) if value is not None else None
    return int(found.group()) if found else None


def load_math_style(path: Path) -> list[AnswerKey]:
    """Keys of a MATH-style JSONL file (rows without a boxed answer are refused)."""
    keys = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        problem, solution = str(row["problem"]), str(row["solution"])
        box = boxed(solution)
        if not box:
            raise ValueError(f"line {number}: the solution has no \\boxed{{...}} answer")
        answer = box[-1].strip()
        question = normalize_question(problem)
        level = _level(row.get("level"))
        difficulty = (
            level_difficulty(level, question) if level else normal_difficulty(question)
        )
        slips = latex_slips(answer)
        # The worked solution without its box: the reply writes the final answer as asked.
        plain = solution.replace(f"\\boxed{{{box[-1]}}}", box[-1])
        keys.append(
            AnswerKey(
                question=question,
                answer=canonical(Kind.LATEX, answer) or answer,
                difficulty=difficulty,
                distractors=tuple(slips[:4]),
                right_solution=(plain,),
                wrong_solutions={s: _wrong_math(plain, s) for s in slips[:4]},
                source="math-style",
                kind=Kind.LATEX,
                accepted=(answer,),
            )
        )
    return keys


def _wrong_math(solution: str, wrong: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", solution.strip())
    head = " ".join(sentences[: max(1, len(sentences) // 2)])
    return f"{head} Carrying this through gives ${wrong}$."
