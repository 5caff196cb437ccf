"""MT-Bench: 80 two-turn questions (writing, roleplay, reasoning, math, coding, extraction,
STEM, humanities), graded by an LLM judge.

Data: ``mt_bench/questions.jsonl``, rows ``{"question_id", "category", "turns": [two user
turns]}``. Ids are ``mt-<question_id>``. The turns are sent as written (no framing: the judge
reads the whole reply). The score is the judge's, which comes with the judged benchmarks: here
:meth:`MTBench.score` returns no score (None), with a note saying so, never a 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError, Item, Scored
from benchmarks.files import read_jsonl
from benchmarks.options import check_known, choice_list_option

__all__ = ["MT_BENCH_CATEGORIES", "MTBench"]

MT_BENCH_CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction",
                       "stem", "humanities")


class MTBench:
    """MT-Bench's two-turn questions; judged, so not scored here."""

    name = "mt-bench"
    kind = "judged"
    description = "MT-Bench, 80 two-turn questions graded 1-10 by an LLM judge"
    needs_data = True
    data_file: str | None = "mt_bench/questions.jsonl"
    data_help: str | None = "MT-Bench's questions.jsonl or the folder holding it"
    option_help: Mapping[str, str] = {
        "categories": "a list of categories to keep (" + ", ".join(MT_BENCH_CATEGORIES)
                      + "; default: all)",
    }

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "categories" in options:
            problems += choice_list_option(options, "categories", MT_BENCH_CATEGORIES)
        return problems

    def load(self, data: Path | None, options: Mapping[str, Any]) -> list[Item]:
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        categories = options.get("categories")
        items = []
        for number, row in read_jsonl(data):
            try:
                turns = tuple(str(turn) for turn in row["turns"])
                question_id, category = row["question_id"], str(row["category"])
                if not turns or not all(t.strip() for t in turns):
                    raise ValueError("empty turn")
            except (KeyError, TypeError, ValueError) as exc:
                raise BenchmarkError(f"{data}:{number}: expected a JSON object with "
                                     "'question_id', 'category' and 'turns' (a list of "
                                     "non-empty user turns)") from exc
            if categories and category not in categories:
                continue
            items.append(Item(f"mt-{question_id}", turns, None,
                              {"question_id": question_id, "category": category}))
        return items

    def score(self, reference: Mapping[str, Any], reply: str) -> Scored:
        return Scored(None, None, "judged benchmark: its score comes from an LLM judge, which "
                                  "comes with the judged benchmarks; not scored here")
