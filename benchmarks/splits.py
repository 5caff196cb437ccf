"""The search/test split, in one place.

As in the paper, 20% of a benchmark's questions are searched on and the other 80% rank the
finalists. The split is a shuffle seeded with :data:`SPLIT_SEED`, so every process and every
run agrees on it, and it is the split itas has always used (figures made before this module
stay valid): ``round(n * fraction)`` questions of the shuffled order are the search split,
each split keeps the benchmark's own order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from benchmarks.base import BenchmarkError

__all__ = ["SEARCH_FRACTION", "SPLITS", "SPLIT_SEED", "split"]

SEARCH_FRACTION = 0.2
SPLIT_SEED = 0
SPLITS = ("search", "test", "all")

T = TypeVar("T")


def split(items: Sequence[T], which: str, fraction: float = SEARCH_FRACTION) -> list[T]:
    """The ``which`` split (search, test or all) of ``items``, in their order."""
    if which not in SPLITS:
        raise BenchmarkError(f"split: expected one of {', '.join(SPLITS)}, got {which!r}")
    if not 0 < fraction < 1:
        raise BenchmarkError(f"search_fraction: expected a number between 0 and 1 (exclusive), "
                             f"got {fraction}")
    if which == "all":
        return list(items)
    order = list(range(len(items)))
    random.Random(SPLIT_SEED).shuffle(order)
    cut = round(len(order) * fraction)
    picked = sorted(order[:cut] if which == "search" else order[cut:])
    return [items[i] for i in picked]
