"""What MixEval-Hard's two files (multiple choice, free form) share: a data file that is
required, keyed rows, and a ``subsets`` option that keeps the rows of some source benchmarks
(their ``benchmark_name``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError
from benchmarks.files import read_keyed_rows
from benchmarks.options import check_known, choice_list_option

__all__ = ["MixEvalFile", "subsets_help"]


def subsets_help(subsets: tuple[str, ...]) -> dict[str, str]:
    return {"subsets": "a list of source benchmarks to keep (benchmark_name: "
                       + ", ".join(subsets) + "; default: all)"}


class MixEvalFile:
    """Base of the MixEval-Hard benchmarks; a subclass sets ``name``, ``data_help``,
    ``subsets`` and ``option_help`` (from :func:`subsets_help`)."""

    name: str
    needs_data = True
    data_help: str | None
    subsets: tuple[str, ...]
    option_help: Mapping[str, str]

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        problems = check_known(options, self.option_help)
        if "subsets" in options:
            problems += choice_list_option(options, "subsets", self.subsets)
        return problems

    def rows(self, data: Path | None) -> list[tuple[str, Mapping[str, Any]]]:
        """(key, row) of every entry of the data file, in its order."""
        if data is None:
            raise BenchmarkError(f"{self.name} needs its data file ({self.data_help})")
        return read_keyed_rows(data)

    @staticmethod
    def kept(row: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
        """Whether ``options``' subsets (all when unset) keep ``row``."""
        subsets = options.get("subsets")
        return not subsets or row.get("benchmark_name") in subsets
