"""Recorded AlpacaEval judgments: one system's rows against the baseline, read from files in the
format of ``alpaca_eval/annotations/`` (one ``{model}.jsonl`` per system).

A row is ``{"index", "generator_1", "generator_2", "len_1", "len_2", "preference", ...}``:
``index`` is the instruction's position in the reference outputs (0..804), ``len_1`` /
``len_2`` the characters of the baseline's and the system's output, ``preference`` 1..2 (2:
the system wins; null when the judge's reply could not be read). Other keys
(``is_switched_outputs``, ``first_token_top_logprobs``, ``output_2``, ...) are kept by the
caller that needs them, not here.

*Indexing.* alpaca_eval's GLM takes an instruction's index from the row's position in the
annotations it is given, not from the instruction; for files whose rows are not in reference
order the two differ. itas indexes by instruction; :meth:`SystemJudgments.indices` gives the
row positions too, to reproduce the package's numbers for such files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from benchmarks.base import BenchmarkError
from benchmarks.files import read_jsonl

__all__ = ["IndexBy", "SystemJudgments", "read_annotations", "read_annotations_folder"]

IndexBy = Literal["instruction", "position"]


@dataclass(frozen=True)
class SystemJudgments:
    """One system's judged rows against ``baseline``, in the file's order."""

    model: str
    baseline: str
    index: tuple[int, ...]
    preference: tuple[float | None, ...]
    len_baseline: tuple[int, ...]
    len_system: tuple[int, ...]

    @property
    def is_baseline(self) -> bool:
        """The baseline judged against itself (every preference 1.5, LC 50 by construction)."""
        return self.model == self.baseline

    def indices(self, by: IndexBy = "instruction") -> tuple[int, ...]:
        """Each row's instruction index (``instruction``), or its row position, as alpaca_eval's
        GLM reads it (``position``)."""
        return self.index if by == "instruction" else tuple(range(len(self.index)))

    def ordered(self) -> bool:
        """Whether the rows are in reference order with none missing (both indexings agree)."""
        return self.index == tuple(range(len(self.index)))


def read_annotations(path: Path) -> SystemJudgments:
    """One annotation file; the system is the rows' ``generator_2`` (the file's stem when they
    name none). Raises BenchmarkError naming the file and line of a malformed row, or a file
    mixing systems or baselines or judging one instruction twice."""
    models: set[str] = set()
    baselines: set[str] = set()
    index: list[int] = []
    preference: list[float | None] = []
    len_baseline: list[int] = []
    len_system: list[int] = []
    seen: dict[int, int] = {}
    for number, row in read_jsonl(path):
        try:
            at = int(row["index"])
            value = row.get("preference")
            value = None if value is None else float(value)
            lengths = int(row["len_1"]), int(row["len_2"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkError(f"{path}:{number}: expected an object with 'index', 'len_1', "
                                 "'len_2' (integers) and 'preference' (a number or null)") \
                from exc
        if at in seen:
            raise BenchmarkError(f"{path}:{number}: instruction {at} is already on line "
                                 f"{seen[at]}")
        seen[at] = number
        models.add(str(row.get("generator_2") or path.stem))
        baselines.add(str(row.get("generator_1") or ""))
        index.append(at)
        preference.append(value)
        len_baseline.append(lengths[0])
        len_system.append(lengths[1])
    if not index:
        raise BenchmarkError(f"{path}: no judged rows")
    if len(models) > 1 or len(baselines) > 1:
        raise BenchmarkError(f"{path}: one system against one baseline per file, found "
                             f"generator_2 {sorted(models)} and generator_1 {sorted(baselines)}")
    return SystemJudgments(model=models.pop(), baseline=baselines.pop(), index=tuple(index),
                           preference=tuple(preference), len_baseline=tuple(len_baseline),
                           len_system=tuple(len_system))


def read_annotations_folder(folder: Path) -> list[SystemJudgments]:
    """Every ``*.jsonl`` of ``folder``, by file name. Raises BenchmarkError when the folder is
    missing, holds none, or two files judge the same system."""
    if not folder.is_dir():
        raise BenchmarkError(f"{folder}: not a folder of annotation files ({{model}}.jsonl, as "
                             "alpaca_eval/annotations/)")
    systems = [read_annotations(path) for path in sorted(folder.glob("*.jsonl"))]
    if not systems:
        raise BenchmarkError(f"{folder}: no *.jsonl annotation file")
    names = [s.model for s in systems]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BenchmarkError(f"{folder}: several files judge {', '.join(twice)}")
    return systems
