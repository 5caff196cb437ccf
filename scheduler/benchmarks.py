"""Benchmarks itas can evaluate on, and the search/test split, in one place.

- ``synth-math``: the project's own arithmetic word problems (benchmarks/synth_math.py), seed 0,
  1,000 problems; the simulator knows their answers.
- ``gsm8k``: GSM8K's test split from ``--data DIR`` (``DIR/test.jsonl``, answers after ``####``).

The split follows the paper: 20% of the questions to search on, the other 80% to report on,
chosen by a seeded shuffle so every process and every run agrees on it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from models.errors import ConfigError

SEARCH_FRACTION = 0.2
SPLIT_SEED = 0
SPLITS = ("search", "test", "all")
SYNTH_MATH_SEED = 0
SYNTH_MATH_COUNT = 1000


@dataclass(frozen=True)
class BenchmarkQuestion:
    question_id: str
    text: str
    answer: str


def load_questions(name: str, *, data: Path | None = None, split: str = "search",
                   limit: int | None = None,
                   search_fraction: float = SEARCH_FRACTION) -> list[BenchmarkQuestion]:
    """The questions of a benchmark's split, in a fixed order; the first ``limit`` if given."""
    if split not in SPLITS:
        raise ConfigError(f"--split: expected one of {', '.join(SPLITS)}, got {split!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: expected at least 1, got {limit}")
    if name == "synth-math":
        questions = _synth_math()
    elif name == "gsm8k":
        questions = _gsm8k(data)
    else:
        raise ConfigError(f"--benchmark: unknown benchmark {name!r}; known: synth-math, gsm8k")
    chosen = _split(questions, split, search_fraction)
    return chosen[:limit] if limit else chosen


def _split(questions: list[BenchmarkQuestion], split: str,
           fraction: float) -> list[BenchmarkQuestion]:
    if split == "all":
        return questions
    order = list(range(len(questions)))
    random.Random(SPLIT_SEED).shuffle(order)
    cut = round(len(order) * fraction)
    picked = sorted(order[:cut] if split == "search" else order[cut:])
    return [questions[i] for i in picked]


def _synth_math() -> list[BenchmarkQuestion]:
    from benchmarks.synth_math import generate

    return [BenchmarkQuestion(f"s{SYNTH_MATH_SEED}-{i}", p.question, str(p.answer))
            for i, p in enumerate(generate(seed=SYNTH_MATH_SEED, count=SYNTH_MATH_COUNT))]


def _gsm8k(data: Path | None) -> list[BenchmarkQuestion]:
    if data is None:
        raise ConfigError("--data: gsm8k needs the folder holding test.jsonl")
    path = Path(data) / "test.jsonl" if Path(data).is_dir() else Path(data)
    if not path.exists():
        raise ConfigError(f"--data: {path} does not exist")
    questions = []
    with path.open() as lines:
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                answer = row["answer"].rsplit("####", 1)[1].strip()
                questions.append(BenchmarkQuestion(f"test-{number - 1}", row["question"],
                                                   answer.replace(",", "")))
            except (ValueError, KeyError, IndexError) as exc:
                raise ConfigError(f"{path}:{number}: expected a JSON object with 'question' "
                                  "and an 'answer' ending in '#### N'") from exc
    return questions
