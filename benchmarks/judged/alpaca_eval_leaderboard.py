"""AlpacaEval 2.0's leaderboard figures from recorded judgments, with no LLM call: per system the
raw win rate and its standard error, and the length-controlled win rate and its standard error.

    >>> systems = read_annotations_folder(Path("alpaca_eval/annotations"))
    >>> rows = leaderboard(systems, difficulty=instruction_difficulty(systems))

The difficulty is the official one when the gamed baselines' file is given (it holds both), else
the joint fit over the systems (:mod:`benchmarks.judged.alpaca_eval_difficulty`). The baseline
judged against itself has a length-controlled win rate of 50 by construction, as in alpaca_eval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.judged.alpaca_eval_data import IndexBy, SystemJudgments
from benchmarks.judged.alpaca_eval_gamed import GamedRows
from benchmarks.judged.alpaca_eval_glm import length_controlled
from benchmarks.judged.alpaca_eval_stats import win_rate

__all__ = ["LeaderboardRow", "leaderboard"]


@dataclass(frozen=True)
class LeaderboardRow:
    """One system's figures, on alpaca_eval's scale (0-100). ``lc_win_rate`` is None, with a
    ``note``, when the GLM could not be fitted; ``n`` counts the read preferences."""

    model: str
    win_rate: float | None
    standard_error: float | None
    lc_win_rate: float | None
    lc_standard_error: float | None
    n: int
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def leaderboard(systems: Sequence[SystemJudgments], *, difficulty: Sequence[float],
                gamed: GamedRows | None = None,
                index_by: IndexBy = "instruction") -> list[LeaderboardRow]:
    """The figures of every system, in the order given. ``difficulty`` is by instruction index;
    ``gamed`` regularises the GLM towards the gamed baselines (None: no regularisation);
    ``index_by`` says how a row finds its difficulty (alpaca_eval: ``position``)."""
    return [_row(system, difficulty, gamed, index_by) for system in systems]


def _row(system: SystemJudgments, difficulty: Sequence[float], gamed: GamedRows | None,
         index_by: IndexBy) -> LeaderboardRow:
    raw, error, n = win_rate(system.preference)
    if system.is_baseline:
        return LeaderboardRow(system.model, raw, error, 50.0, 0.0, n)
    indices = system.indices(index_by)
    if max(indices) >= len(difficulty):
        return LeaderboardRow(system.model, raw, error, None, None, n,
                              note=f"no difficulty for instruction {max(indices)}")
    try:
        fitted = length_controlled(system.preference, system.len_baseline, system.len_system,
                                   [difficulty[i] for i in indices], gamed)
    except ValueError as exc:
        return LeaderboardRow(system.model, raw, error, None, None, n,
                              note=f"length-controlled win rate not computed: {exc}")
    return LeaderboardRow(system.model, raw, error, fitted.win_rate, fitted.standard_error, n)
