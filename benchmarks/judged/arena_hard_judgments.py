"""Arena-Hard-Auto's leaderboard from judgments recorded anywhere: arena-hard-auto's
``model_judgment`` JSONL (one file, or a folder of them, one per model as arena-hard writes
them), as ``itas benchmarks score arena-hard --judgments FILE`` reads it.

The games become battles against the baseline (:func:`~benchmarks.judged.arena_hard_stats.
battles_from_games`): a game whose ``score`` is null, missing or none of the five labels is
left out and counted in ``unparsed``, as ``show_result.py`` gives it no weight. ``n`` counts a
model's questions with at least one game read. Every model is fitted in one Bradley-Terry fit
and one bootstrap, as ``show_result.py`` fits all the files of a judge folder together;
the baseline itself is not listed (it is 50 by construction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.judged.arena_hard_files import read_judgments
from benchmarks.judged.arena_hard_stats import VERDICTS, Battle, battles_from_games, leaderboard

__all__ = ["summarize_judgments"]


def summarize_judgments(path: Path, baseline: str) -> list[dict[str, Any]]:
    """Per model, best first: ``model``, ``score``, ``ci_low``, ``ci_high`` (0-100, the
    baseline 50), ``n``, ``games`` (read), ``unparsed`` (games left out)."""
    battles: list[Battle] = []
    counts: dict[str, dict[str, Any]] = {}
    for row in read_judgments(path):
        if row.model == baseline:
            continue
        count = counts.setdefault(row.model, {"questions": set(), "games": 0, "unparsed": 0})
        # A judgment holds two games; one missing is a game not judged, counted as unread.
        labels = (*row.labels[:2], *[None] * (2 - len(row.labels[:2])))
        read = sum(label in VERDICTS for label in labels)
        count["games"] += read
        count["unparsed"] += len(labels) - read
        if read:
            count["questions"].add(row.question_id)
        battles += battles_from_games(row.model, row.question_id, labels)
    results = []
    for line in leaderboard(battles, baseline):
        count = counts[line.model]
        results.append({"model": line.model, "score": line.score, "ci_low": line.ci_low,
                        "ci_high": line.ci_high, "n": len(count["questions"]),
                        "games": count["games"], "unparsed": count["unparsed"]})
    # Models none of whose games could be read have no score; they are listed, unscored.
    scored = {result["model"] for result in results}
    results += [{"model": model, "score": None, "ci_low": None, "ci_high": None, "n": 0,
                 "games": 0, "unparsed": count["unparsed"]}
                for model, count in counts.items() if model not in scored]
    return results
