"""synth-math: the project's own offline benchmark of multi-step arithmetic word problems.

Every problem is written by this module from a seed (no third-party text), has an exact integer
answer and a difficulty level 1..5 (level L takes L + 1 arithmetic steps over larger numbers).
It is the single source of the benchmark: the worker loads questions from :func:`generate` and
the simulator derives its answer keys from the same call.

Contract of :func:`generate`: a pure function. Problem ``i`` depends only on ``(seed, i)``, so
``generate(s, 50)`` is the first 50 problems of ``generate(s, 1000)``; levels cycle 1..5 over
the index unless ``levels`` restricts them.

    >>> [p.level for p in generate(seed=0, count=6)]
    [1, 2, 3, 4, 5, 1]
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LEVELS", "Problem", "generate"]

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)

_NAMES = (
    "Avery",
    "Bruno",
    "Chidi",
    "Dana",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Mina",
    "Noor",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
)
_ITEMS = (
    "marbles",
    "stickers",
    "apples",
    "pencils",
    "cookies",
    "stamps",
    "seashells",
    "bolts",
    "tomatoes",
    "postcards",
)
_TIMES = {2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times"}


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    ``answer`` is the exact answer as a canonical integer string. ``solution`` holds the worked
    steps (one line each) and ``intermediates`` the running total after each step; the
    simulator uses both to write plausible right and wrong solutions.
    """

    id: str
    question: str
    answer: str
    level: int
    solution: tuple[str, ...]
    intermediates: tuple[int, ...]


def _rng(seed: int, index: int) -> random.Random:
    digest = hashlib.blake2b(f"synth-math:{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _problem(seed: int, index: int, level: int) -> Problem:
    rng = _rng(seed, index)
    name = rng.choice(_NAMES)
    item = rng.choice(_ITEMS)
    scale = 10 ** (1 + level // 2)  # numbers grow with the level
    total = rng.randint(2, 9) * (scale // 10 or 1) + rng.randint(1, 9)
    sentences = [f"{name} has {total} {item}."]
    solution = [f"{name} starts with {total} {item}."]
    values: list[int] = []
    for _ in range(level + 1):
        op = rng.choice(("add", "sub", "mul", "div", "add", "mul"))
        if op == "sub" and total < 4:
            op = "add"
        if op == "div" and not [d for d in (2, 3, 4, 5) if total % d == 0]:
            op = "mul"
        if op == "mul" and total > 50 * scale:
            op = "sub"
        if op == "add":
            k = rng.randint(2, max(3, scale // 2))
            new = total + k
            sentences.append(f"Then {name} buys {k} more {item}.")
            solution.append(f"After buying {k} more: {total} + {k} = {new}.")
        elif op == "sub":
            k = rng.randint(1, total - 1)
            new = total - k
            sentences.append(f"{name} gives {k} {item} to a neighbour.")
            solution.append(f"After giving {k} away: {total} - {k} = {new}.")
        elif op == "mul":
            k = rng.randint(2, 4 if level < 3 else 6)
            new = total * k
            sentences.append(f"Then {name} ends up with {_TIMES[k]} as many {item} as before.")
            solution.append(f"{_TIMES[k].capitalize()} as many: {total} * {k} = {new}.")
        else:
            k = rng.choice([d for d in (2, 3, 4, 5) if total % d == 0])
            new = total // k
            sentences.append(
                f"{name} splits the {item} into {k} equal groups and keeps only one group."
            )
            solution.append(f"One of {k} equal groups: {total} / {k} = {new}.")
        total = new
        values.append(total)
    sentences.append(f"How many {item} does {name} have now?")
    return Problem(
        id=f"synth-math-{seed}-{index}",
        question=" ".join(sentences),
        answer=str(total),
        level=level,
        solution=tuple(solution),
        intermediates=tuple(values),
    )


def generate(seed: int, count: int, levels: Sequence[int] = LEVELS) -> list[Problem]:
    """The first ``count`` problems of benchmark seed ``seed`` (see the module contract).

    Raises ValueError for a negative count or a level outside 1..5.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not levels or any(level not in LEVELS for level in levels):
        raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {list(levels)}")
    return [_problem(seed, i, levels[i % len(levels)]) for i in range(count)]
