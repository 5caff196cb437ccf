"""Arena-Hard-Auto's files: its questions, answer files (``model_answer/*.jsonl``) and
judgment files (``model_judgment/<judge>/*.jsonl``), in the formats arena-hard-auto has
written over its versions. Every error names the file and the line.

- questions: ``{"uid", "category", "cluster", "prompt"}`` (the repository's current files, and
  ours), or v0.1's first form ``{"question_id", "category", "cluster", "turns":
  [{"content"}]}``;
- answers: ``{"uid", "messages": [..., {"role": "assistant", "content": {"answer": ...}}]}``
  (the last message's content, a string or an object with ``answer``), or v0.1's first form
  ``{"question_id", "choices": [{"turns": [{"content"}]}]}``;
- judgments: ``{"question_id" (or "uid"), "model", "games": [{"score": "A>B", ...}, ...]}``,
  one row per question and model, game 1 with the baseline as A, game 2 swapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError
from benchmarks.files import read_jsonl

__all__ = ["Question", "RecordedGames", "read_answers", "read_judgments", "read_questions"]


@dataclass(frozen=True)
class Question:
    question_id: str
    category: str
    cluster: str
    prompt: str


@dataclass(frozen=True)
class RecordedGames:
    """One judgment row: a model's two verdict labels on a question (None: no verdict)."""

    model: str
    question_id: str
    labels: tuple[str | None, ...]


def read_questions(path: Path) -> list[Question]:
    questions = []
    for number, row in read_jsonl(path):
        try:
            question_id = _id(row)
            prompt = row["prompt"] if "prompt" in row else row["turns"][0]["content"]
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError("empty prompt")
            questions.append(Question(question_id, str(row.get("category", "")),
                                      str(row.get("cluster", "")), prompt))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BenchmarkError(f"{path}:{number}: expected an Arena-Hard question with "
                                 "'uid' and 'prompt' (or 'question_id' and "
                                 "'turns[0].content')") from exc
    return questions


def read_answers(path: Path) -> dict[str, str]:
    """question id -> the answer's text."""
    answers = {}
    for number, row in read_jsonl(path):
        try:
            if "messages" in row:
                content = row["messages"][-1]["content"]
                text = content["answer"] if isinstance(content, Mapping) else content
            else:
                turn = row["choices"][0]["turns"][0]
                text = turn["content"] if isinstance(turn, Mapping) else turn
            if not isinstance(text, str):
                raise TypeError("answer not text")
            answers[_id(row)] = text
        except (KeyError, IndexError, TypeError) as exc:
            raise BenchmarkError(f"{path}:{number}: expected an Arena-Hard answer with 'uid' "
                                 "and 'messages' (the last one the answer), or "
                                 "'question_id' and 'choices[0].turns[0].content'") from exc
    return answers


def read_judgments(path: Path) -> list[RecordedGames]:
    """The rows of a judgment file, or of every ``*.jsonl`` of a folder (sorted by name)."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise BenchmarkError(f"{path}: a folder without judgment files (*.jsonl)")
    rows = []
    for file in files:
        for number, row in read_jsonl(file):
            try:
                games = row["games"]
                if not isinstance(games, list) or not isinstance(row["model"], str):
                    raise TypeError("games not a list, or model not text")
                labels = tuple(_label(game) for game in games)
                rows.append(RecordedGames(row["model"], _id(row), labels))
            except (KeyError, TypeError) as exc:
                raise BenchmarkError(f"{file}:{number}: expected an arena-hard judgment with "
                                     "'question_id', 'model' and 'games' (a list of "
                                     "{\"score\": \"A>B\", ...})") from exc
    if not rows:
        raise BenchmarkError(f"{path}: no judgment")
    return rows


def _label(game: Any) -> str | None:
    if game is None:
        return None
    if not isinstance(game, Mapping):
        raise TypeError("a game is not an object")
    score = game.get("score")
    return score if isinstance(score, str) else None


def _id(row: Any) -> str:
    if not isinstance(row, Mapping):
        raise TypeError("not an object")
    value = row["uid"] if "uid" in row else row["question_id"]
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError("id not text")
    return str(value)
