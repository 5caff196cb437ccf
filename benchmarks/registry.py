"""The registered benchmarks, where their data is, and the questions of a split.

    >>> from benchmarks.registry import get, load_questions
    >>> get("synth-math").kind
    'numeric'
    >>> [item.item_id for item in load_questions("synth-math", limit=3)]
    ['s0-6', 's0-21', 's0-25']

Where the data comes from (:func:`resolve_data`): the ``data`` given (a file, or a folder
holding the benchmark's file), else ``$ITAS_DATASETS/<the benchmark's file>`` (for example
``$ITAS_DATASETS/gsm8k/test.jsonl``), else the benchmark's packaged default (math) or none
(synth-math generates its problems). A benchmark that needs data and finds none is a
:class:`~benchmarks.base.BenchmarkError` naming ``--data`` and ``ITAS_DATASETS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from benchmarks.base import Benchmark, BenchmarkError, Item
from benchmarks.code.code_contests import CodeContests
from benchmarks.code.humaneval import HumanEval
from benchmarks.code.mbpp import MBPP
from benchmarks.free_form import MixEvalHardFree
from benchmarks.judged.alpaca_eval import AlpacaEval
from benchmarks.judged.arena_hard import ArenaHard
from benchmarks.judged.base import JudgedBenchmark, is_judged
from benchmarks.judged.mixeval import MIXEVAL, MIXEVAL_HARD
from benchmarks.math_style import DEFAULT_DATA, MathStyle
from benchmarks.mt_bench import MTBench
from benchmarks.multiple_choice import MixEvalHardMC
from benchmarks.numeric import GSM8K, SynthMath
from benchmarks.splits import SEARCH_FRACTION
from benchmarks.splits import split as split_items

__all__ = ["BENCHMARKS", "DATASETS_ENV", "check_options", "data_source", "get", "get_judged",
           "load_questions", "resolve_data"]

DATASETS_ENV = "ITAS_DATASETS"

_ALL: tuple[Benchmark, ...] = (SynthMath(), GSM8K(), MathStyle(), MixEvalHardMC(),
                               MixEvalHardFree(), MTBench(), AlpacaEval(), ArenaHard(),
                               MIXEVAL, MIXEVAL_HARD, HumanEval(), MBPP(), CodeContests())
#: Name -> benchmark, in the order they are listed.
BENCHMARKS: Mapping[str, Benchmark] = MappingProxyType({b.name: b for b in _ALL})


def get(name: str) -> Benchmark:
    """The benchmark called ``name``; an unknown name is an error listing the known ones."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise BenchmarkError(f"unknown benchmark {name!r}; known: "
                             f"{', '.join(BENCHMARKS)}") from None


def get_judged(name: str) -> JudgedBenchmark | None:
    """The benchmark called ``name`` as a judged one (benchmarks/judged/base.py), None when it
    is scored without a judge; an unknown name is an error as for :func:`get`."""
    benchmark = get(name)
    return cast(JudgedBenchmark, benchmark) if is_judged(benchmark) else None


def check_options(benchmark: Benchmark, options: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with ``options`` for ``benchmark`` (one line each), empty when fine."""
    if options is None:
        return []
    if not isinstance(options, Mapping):
        return [f"expected a mapping of options, got {options!r}"]
    return benchmark.check_options(options)


def resolve_data(benchmark: Benchmark, data: Path | None) -> Path | None:
    """The data file ``benchmark`` loads from (see the module docstring); None when it takes
    no data or uses its packaged default. Raises :class:`BenchmarkError` for a path that does
    not exist or data that is needed and nowhere."""
    if benchmark.data_help is None:
        return None
    if data is not None:
        path = Path(data)
        if path.is_dir() and benchmark.data_file:
            for candidate in (path / Path(benchmark.data_file).name, path / benchmark.data_file):
                if candidate.is_file():
                    return candidate
            raise BenchmarkError(f"data: {path} holds no {Path(benchmark.data_file).name} "
                                 f"(expected {benchmark.data_help})")
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise BenchmarkError(f"data: {path} {what}; expected {benchmark.data_help}")
        return path
    root = os.environ.get(DATASETS_ENV)
    if root and benchmark.data_file:
        path = Path(root) / benchmark.data_file
        if not path.is_file():
            raise BenchmarkError(f"{DATASETS_ENV}: {path} does not exist ({benchmark.name} "
                                 f"reads {benchmark.data_file} under {DATASETS_ENV})")
        return path
    if benchmark.needs_data:
        raise BenchmarkError(f"{benchmark.name} needs its data ({benchmark.data_help}): give "
                             f"--data PATH (in a job file, data:) or set {DATASETS_ENV} to the "
                             "datasets folder")
    return None


def data_source(benchmark: Benchmark) -> str:
    """Where ``benchmark`` reads its items when no data is given, in words."""
    if benchmark.data_help is None:
        return "generated (no data file)"
    if benchmark.data_file:
        root = os.environ.get(DATASETS_ENV)
        where = Path(root) / benchmark.data_file if root else \
            f"${DATASETS_ENV}/{benchmark.data_file} ({DATASETS_ENV} not set)"
        return str(where)
    if isinstance(benchmark, MathStyle):
        return f"packaged: {DEFAULT_DATA.name}"
    default = getattr(benchmark, "default_data", None)  # a packaged default of its own
    return f"packaged: {default.name}" if isinstance(default, Path) else "--data"


def load_questions(name: str, *, data: Path | None = None, split: str = "search",
                   limit: int | None = None, search_fraction: float = SEARCH_FRACTION,
                   options: Mapping[str, Any] | None = None) -> list[Item]:
    """The items of a benchmark's split, in the benchmark's order; the first ``limit``.

    ``split`` is search (``search_fraction`` of the items, 20% by default), test (the rest) or
    all (:mod:`benchmarks.splits`); ``options`` are the benchmark's (checked here). Raises
    :class:`BenchmarkError` for an unknown name, a bad option, missing or malformed data, or
    options that keep no item.
    """
    benchmark = get(name)
    problems = check_options(benchmark, options)
    if problems:
        raise BenchmarkError(f"{name} options: " + "; ".join(problems))
    if limit is not None and limit < 1:
        raise BenchmarkError(f"limit: expected at least 1, got {limit}")
    path = resolve_data(benchmark, data)
    items = benchmark.load(path, dict(options or {}))
    if not items:
        raise BenchmarkError(f"{name}: no item to ask in {path or 'its default data'}"
                             + (" with these options" if options else ""))
    chosen = split_items(items, split, search_fraction)
    return chosen[:limit] if limit else chosen
