"""Judging answers made anywhere (``itas benchmarks score NAME --predictions FILE --judge LLM``)
through the workers, exactly as a search judges an architecture's answers.

The file's answers are stored as the finished steps of a one-layer "architecture" that stands
for the file (it makes no call: every step is already done), and each question is sent at its
last step. The worker finds the step done and goes on to judge (worker/judging.py): the same
judge prompts, cache, limiter and ``llm_calls`` records, so a file judged twice, or an answer
an architecture also gave, is judged once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.base import Item
from models.architecture import architecture_hash, parse_architecture
from scheduler.evaluations import queue_evaluation
from scheduler.judges import BenchmarkJudge

__all__ = ["ANSWERS_FILE_LLM", "queue_answers"]

#: The LLM named by the stand-in architecture of an answers file. It is never called.
ANSWERS_FILE_LLM = "answers-file"


def stand_in(path: Path) -> dict[str, Any]:
    """The one-layer architecture that stands for the answers in ``path``."""
    return {"name": f"answers of {path.name}", "layers": [[{
        "type": "generator", "model": ANSWERS_FILE_LLM, "model_type": "OpenAI_API",
        "temperature": 0.0, "max_tokens": 1, "samples": 1}]]}


def _steps(turns_asked: int, answered: Sequence[str]) -> list[dict[str, Any]]:
    """The finished step of each turn (a one-layer architecture: step = turn). A turn the
    file does not answer has no candidate: the question is then not judged (no score)."""
    return [{"candidates": [{"text": answered[t], "critique": None}] if t < len(answered)
             and answered[t].strip() else [], "unit_tests": [], "parse_failures": 0,
             "failed_calls": 0} for t in range(turns_asked)]


def queue_answers(database_url: str, *, path: Path, benchmark: str, items: Sequence[Item],
                  answers: dict[str, tuple[str, ...]], judge: BenchmarkJudge,
                  warn: Callable[[str], None] = lambda _m: None) -> tuple[int, list[Item]]:
    """Queue the judging of ``answers`` (item id -> turns); returns the evaluation id and the
    items judged, in the benchmark's order."""
    chosen = [item for item in items if item.item_id in answers]
    for item in chosen:
        given = len(answers[item.item_id])
        if given > len(item.turns):
            warn(f"{item.item_id}: {given} answers for {len(item.turns)} turn(s); the extra "
                 "ones are not judged")
    arch = stand_in(path)
    parsed, _ = parse_architecture(arch)
    evaluation_id = queue_evaluation(
        database_url, architecture=parsed.model_dump(mode="json"),
        arch_hash=architecture_hash(parsed), benchmark=benchmark, split="all",
        questions=chosen, purpose="score", judge=judge,
        done_steps={item.item_id: _steps(len(item.turns), answers[item.item_id])
                    for item in chosen})
    return evaluation_id, chosen
