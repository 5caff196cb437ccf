"""Answers made anywhere, read for judging (``itas benchmarks score NAME --predictions FILE
--judge LLM``): the answer files the judged benchmarks' own harnesses write, and itas's own.

Formats, told apart by each row's fields:

- itas: JSONL ``{"id": "<item id>", "prediction": "<text>" | ["<turn 1>", "<turn 2>"]}``;
- FastChat (MT-Bench ``model_answer``): JSONL ``{"question_id", "choices": [{"turns": [...]}]}``;
- Arena-Hard-Auto (``model_answer``): JSONL ``{"uid" | "question_id", "messages": [{"role",
  "content"}, ...]}``, the assistant turns' content a string or ``{"answer": "..."}``; the
  older form ``{"question_id", "choices": [{"turns": [{"content": ...}]}]}`` too;
- AlpacaEval (``model_outputs.json``): a JSON list of ``{"instruction", "output"}``.

A row is matched to an item by its id, else by the ``question_id`` (or ``uid``) or the
``instruction`` in the item's reference. Errors name the file and the line (or entry).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item

__all__ = ["read_answers"]


def read_answers(path: Path, items: Sequence[Item]) -> dict[str, tuple[str, ...]]:
    """Item id -> the answer of each turn, for every row of ``path`` (in the file's order).
    Raises BenchmarkError naming the file and line of a row that cannot be read or matched,
    or that answers an item a second time."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BenchmarkError(f"{path}: cannot read the answers: {reason}") from None
    rows = _rows(path, text)
    index = _index(items)
    answers: dict[str, tuple[str, ...]] = {}
    where_seen: dict[str, str] = {}
    for where, row in rows:
        if not isinstance(row, Mapping):
            raise BenchmarkError(f"{where}: expected a JSON object, got {str(row)[:60]}")
        item_id = _match(row, index)
        if item_id is None:
            raise BenchmarkError(f"{where}: no question of this benchmark matches this row "
                                 f"(by id, question_id, uid or instruction)")
        if item_id in answers:
            raise BenchmarkError(f"{where}: {item_id} is answered already at "
                                 f"{where_seen[item_id]}")
        turns = _turns(row)
        if not turns:
            raise BenchmarkError(f"{where}: no answer found (expected 'prediction', "
                                 "'choices[0].turns', assistant 'messages' or 'output')")
        answers[item_id] = turns
        where_seen[item_id] = where
    if not answers:
        raise BenchmarkError(f"{path}: no answers")
    return answers


def _rows(path: Path, text: str) -> list[tuple[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BenchmarkError(f"{path}: not JSON ({exc.args[0]})") from None
        return [(f"{path}[{i}]", row) for i, row in enumerate(data)]
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((f"{path}:{number}", json.loads(line)))
        except ValueError as exc:
            raise BenchmarkError(f"{path}:{number}: not a JSON object ({exc.args[0]})") from None
    return rows


def _index(items: Sequence[Item]) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for item in items:
        index[("id", item.item_id)] = item.item_id
        for field in ("question_id", "uid", "instruction"):
            value = item.reference.get(field)
            if value is not None:
                index.setdefault(("question_id" if field == "uid" else field, str(value)),
                                 item.item_id)
    return index


def _match(row: Mapping[str, Any], index: Mapping[tuple[str, str], str]) -> str | None:
    candidates = [("id", row.get("id")), ("question_id", row.get("question_id")),
                  ("question_id", row.get("uid")), ("instruction", row.get("instruction"))]
    for field, value in candidates:
        if value is not None and (field, str(value)) in index:
            return index[(field, str(value))]
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("answer", "content", "text"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def _turns(row: Mapping[str, Any]) -> tuple[str, ...]:
    prediction = row.get("prediction")
    if isinstance(prediction, str):
        return (prediction,)
    if isinstance(prediction, list) and all(isinstance(p, str) for p in prediction):
        return tuple(prediction)
    if isinstance(row.get("output"), str):
        return (str(row["output"]),)
    messages = row.get("messages")
    if isinstance(messages, list):
        said = [_text(m.get("content")) for m in messages
                if isinstance(m, Mapping) and m.get("role") == "assistant"]
        return tuple(t for t in said if t is not None)
    choices = row.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        turns = choices[0].get("turns")
        if isinstance(turns, list):
            said = [_text(t) for t in turns]
            return tuple(t for t in said if t is not None)
    return ()
