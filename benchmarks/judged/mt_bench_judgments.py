"""MT-Bench's figures from judgments recorded anywhere: FastChat's ``model_judgment`` JSONL
(``gen_judgment.py --mode single``), as ``itas benchmarks score mt-bench --judgments FILE``
reads it.

A row is one judged turn: ``question_id``, ``turn`` (1 or 2), ``judgment`` (the judge's text)
and, when present, ``model`` (rows are grouped by it; none: one group ``-``) and ``score``
(FastChat's own reading). The grade is parsed again from ``judgment`` with FastChat's rule
(:func:`~benchmarks.judged.mt_bench_verdicts.parse_rating`), so files whose ``score`` was
lost or made by another tool read the same; a row whose text states no grade is a parse
failure, left out and counted. Where the file's ``score`` is a grade that differs from the
text's, the row is counted in ``score_disagreements`` (the text wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError
from benchmarks.files import read_jsonl
from benchmarks.judged.base import JudgedSummary
from benchmarks.judged.mt_bench_stats import Row, single_summary
from benchmarks.judged.mt_bench_verdicts import parse_rating

__all__ = ["ModelJudgments", "read_single_judgments", "summarize_file"]


@dataclass
class ModelJudgments:
    """One model's rows of a judgment file."""

    model: str
    rows: list[Row] = field(default_factory=list)
    score_disagreements: int = 0


def read_single_judgments(path: Path) -> dict[str, ModelJudgments]:
    """model -> its rows, in the file's order of first appearance."""
    models: dict[str, ModelJudgments] = {}
    for number, row in read_jsonl(path):
        try:
            if not isinstance(row, dict):
                raise TypeError("not an object")
            question, turn, text = row["question_id"], int(row["turn"]), row["judgment"]
            if not isinstance(text, str) or turn not in (1, 2):
                raise ValueError("judgment not text, or turn not 1 or 2")
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkError(
                f"{path}:{number}: expected a FastChat single-grading judgment with "
                "'question_id', 'turn' (1 or 2) and 'judgment' (the judge's text)") from exc
        group = models.setdefault(str(row.get("model", "-")),
                                  ModelJudgments(str(row.get("model", "-"))))
        grade = parse_rating(text)
        group.rows.append((question, turn, grade))
        stored = row.get("score")
        if isinstance(stored, int | float) and stored != -1 and grade is not None \
                and float(stored) != grade:
            group.score_disagreements += 1
    if not models:
        raise BenchmarkError(f"{path}: no judgment")
    return models


def summarize_file(path: Path) -> list[dict[str, Any]]:
    """Per model: ``model``, ``score`` (mean grade), ``turn_1``, ``turn_2``, ``ci_low``,
    ``ci_high``, ``n`` (questions), ``judged`` (rows), ``parse_failures``,
    ``score_disagreements``."""
    results = []
    for group in read_single_judgments(path).values():
        summary: JudgedSummary = single_summary(group.rows)
        results.append({"model": group.model, "score": summary.score,
                        "turn_1": summary.figures.get("turn_1"),
                        "turn_2": summary.figures.get("turn_2"),
                        "ci_low": summary.ci_low, "ci_high": summary.ci_high,
                        "n": summary.n, "judged": len(group.rows),
                        "parse_failures": summary.unparsed,
                        "score_disagreements": group.score_disagreements})
    return results
