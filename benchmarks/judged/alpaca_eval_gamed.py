"""The judgments of AlpacaEval's two "gamed" baselines, which its length-controlled GLM is
regularised towards, as alpaca_eval's ``df_gamed.csv`` holds them (with the official
per-instruction difficulty). The file comes from the Hugging Face hub, which this project cannot
reach: a user who has it gives it (``--gamed``, option ``gamed``). No scikit-learn here, so that
loading the benchmark stays light.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from benchmarks.base import BenchmarkError

__all__ = ["GamedRows", "difficulty_from_gamed", "read_gamed_csv"]


@dataclass(frozen=True)
class GamedRows:
    """The gamed baselines' judgments as alpaca_eval's ``df_gamed.csv`` holds them: per row the
    instruction ``index``, the preference in 0..1, the standardised length difference, and the
    instruction's difficulty (the official one, which the file is also the source of)."""

    index: tuple[int, ...]
    preference: tuple[float, ...]
    std_delta_len: tuple[float, ...]
    difficulty: tuple[float, ...]

    def difficulty_by_index(self) -> dict[int, float]:
        """Instruction index -> difficulty, from each index's first row (as the package)."""
        found: dict[int, float] = {}
        for index, value in zip(self.index, self.difficulty, strict=True):
            found.setdefault(index, value)
        return found


def difficulty_from_gamed(gamed: GamedRows) -> list[float]:
    """The official instruction difficulty that ``df_gamed.csv`` carries, by index."""
    by_index = gamed.difficulty_by_index()
    return [by_index.get(i, 0.0) for i in range(max(by_index) + 1)]


def read_gamed_csv(path: Path) -> GamedRows:
    """alpaca_eval's ``df_gamed.csv`` (columns ``index``, ``preference`` in 0..1,
    ``std_delta_len``, ``instruction_difficulty``; others ignored), as the package reads it.
    Raises BenchmarkError naming the file and row of what is missing or malformed."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: cannot read the gamed baselines: {exc}") from exc
    columns = ("index", "preference", "std_delta_len", "instruction_difficulty")
    read: list[tuple[int, float, float, float]] = []
    for number, row in enumerate(rows, 2):
        try:
            index = int(float(row["index"]))
            preference, delta, hardness = (float(row[c]) for c in columns[1:])
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkError(f"{path}:{number}: expected the columns {', '.join(columns)} "
                                 "with numbers (alpaca_eval's df_gamed.csv)") from exc
        if not 0.0 <= preference <= 1.0:
            raise BenchmarkError(f"{path}:{number}: preference {preference} is not in 0..1 "
                                 "(df_gamed.csv holds preference - 1)")
        read.append((index, preference, delta, hardness))
    if not read:
        raise BenchmarkError(f"{path}: no rows")
    return GamedRows(index=tuple(r[0] for r in read), preference=tuple(r[1] for r in read),
                     std_delta_len=tuple(r[2] for r in read), difficulty=tuple(r[3] for r in read))
