"""`itas benchmarks score mt-bench|arena-hard --judgments FILE`: a judged benchmark's figures
from judgments recorded anywhere, with no LLM call.

- mt-bench: FastChat's ``model_judgment`` JSONL (single grading); per model the mean grade of
  each turn and overall, its interval, and the ratings that could not be parsed from the
  judges' text (:mod:`benchmarks.judged.mt_bench_judgments`).
- arena-hard: arena-hard-auto's ``model_judgment`` JSONL, a file or a folder of them; per
  model the Bradley-Terry score against the baseline (50) with its 95% bootstrap interval
  (:mod:`benchmarks.judged.arena_hard_judgments`). The baseline is gpt-4-0314, or
  ``--option baseline=NAME``.

Malformed files are :class:`~benchmarks.base.BenchmarkError` naming the file and line; the
caller turns them into a user error (one line, exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from benchmarks.judged.arena_hard_judgments import summarize_judgments
from benchmarks.judged.arena_hard_stats import BASELINE
from benchmarks.judged.mt_bench_judgments import summarize_file
from models.errors import ConfigError

__all__ = ["JUDGMENT_BENCHMARKS", "score_judgments"]

JUDGMENT_BENCHMARKS = ("mt-bench", "arena-hard")


def score_judgments(name: str, path: Path, options: Mapping[str, Any], as_json: bool) -> None:
    """Print the figures of ``path``'s judgments for benchmark ``name``."""
    if name not in JUDGMENT_BENCHMARKS:
        raise ConfigError(f"--judgments: {name} has no judgment file format; it is read for "
                          f"{' and '.join(JUDGMENT_BENCHMARKS)}")
    if not path.exists():
        raise ConfigError(f"--judgments: {path} does not exist")
    columns: tuple[str, ...]
    if name == "mt-bench":
        models = summarize_file(path)
        columns = ("model", "score", "turn_1", "turn_2", "ci_low", "ci_high", "n",
                   "parse_failures")
    else:
        baseline = str(options.get("baseline", BASELINE))
        models = summarize_judgments(path, baseline)
        columns = ("model", "score", "ci_low", "ci_high", "n", "unparsed")
    if as_json:
        typer.echo(json.dumps({"benchmark": name, "judgments": str(path), "models": models,
                               **({"baseline": baseline} if name == "arena-hard" else {})}))
        return
    table = [columns] + [tuple(_cell(model[column]) for column in columns) for model in models]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        typer.echo("  ".join(cell.rjust(width) if i else cell.ljust(width)
                             for i, (cell, width) in enumerate(zip(line, widths, strict=True)))
                   .rstrip())
    if name == "mt-bench":
        failures = sum(model["parse_failures"] for model in models)
        typer.echo(f"\n{sum(m['judged'] for m in models)} judgments, {failures} whose rating "
                   "could not be parsed (left out)")
    else:
        typer.echo(f"\nbaseline {baseline} = 50; {sum(m['unparsed'] for m in models)} games "
                   "without a readable verdict left out")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)
