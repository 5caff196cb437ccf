"""Checking a benchmark's options (the ``benchmark_options`` of a search job, ``--option`` on
the command line): each problem is one line starting with the option's name."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["check_known", "choice_list_option", "int_list_option", "int_option"]


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_known(options: Mapping[str, Any], known: Mapping[str, str]) -> list[str]:
    """One line per option the benchmark does not take."""
    takes = ", ".join(known) if known else "no options"
    return [f"{name}: unknown option; this benchmark takes {takes}"
            for name in options if name not in known]


def int_option(options: Mapping[str, Any], name: str, least: int) -> list[str]:
    value = options[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        return [f"{name}: expected an integer >= {least}, got {_shown(value)}"]
    return []


def int_list_option(options: Mapping[str, Any], name: str, allowed: Collection[int]) -> list[str]:
    value = options[name]
    wanted = "a non-empty list of " + ", ".join(str(a) for a in sorted(allowed))
    if not isinstance(value, list) or not value:
        return [f"{name}: expected {wanted}, got {_shown(value)}"]
    return [f"{name}[{i}]: expected one of {', '.join(str(a) for a in sorted(allowed))}, "
            f"got {_shown(v)}"
            for i, v in enumerate(value) if isinstance(v, bool) or v not in allowed]


def choice_list_option(options: Mapping[str, Any], name: str,
                       allowed: Collection[str]) -> list[str]:
    value = options[name]
    if not isinstance(value, list) or not value:
        return [f"{name}: expected a non-empty list of {', '.join(allowed)}, "
                f"got {_shown(value)}"]
    return [f"{name}[{i}]: expected one of {', '.join(allowed)}, got {_shown(v)}"
            for i, v in enumerate(value) if v not in allowed]
