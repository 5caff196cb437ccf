"""The figures `make bench` publishes: one shape, written by every bench script, merged here.

The contract between bench scripts and the runner (bench/run.py): a script that contributes
figures accepts ``--json-out PATH`` and writes there a JSON list of figure objects::

    {"name": "latency_hiding_efficiency", "value": 0.93, "unit": "ratio",
     "goal": ">= 0.9", "baseline": "ideal 15.6 s (2000 calls / 128 in flight x 1 s)",
     "command": ".venv/bin/python -u bench/pipeline_throughput.py"}

``value`` is the measured figure (usually a ratio against ``baseline``, which was measured in
the same run and says what it is); ``goal`` is the bar as text (``">= 0.8"``) or null. Extra
keys (``note``) are kept. The runner merges the lists into bench/results.json and renders
BENCHMARKS.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

FIELDS = ("name", "value", "unit", "goal", "baseline", "command")


def figure(name: str, value: float | None, unit: str, *, goal: str | None,
           baseline: Any, command: str, note: str | None = None) -> dict[str, Any]:
    """One figure object (the value rounded to 4 significant digits; None if not measured)."""
    if value is not None and math.isfinite(value):
        value = float(f"{value:.4g}")
    elif value is not None:
        value = None
    out: dict[str, Any] = {"name": name, "value": value, "unit": unit, "goal": goal,
                           "baseline": baseline, "command": command}
    if note:
        out["note"] = note
    return out


def write_figures(path: Path | None, figures: Sequence[Mapping[str, Any]]) -> None:
    """What a bench script does with ``--json-out``: the list, as JSON (nothing if no path)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(figures), indent=2) + "\n")


def read_figures(path: Path) -> list[dict[str, Any]]:
    """A script's list; ValueError naming the file when it is not a list of figure objects."""
    data = json.loads(path.read_text())
    if not isinstance(data, list) or not all(
            isinstance(f, dict) and all(k in f for k in FIELDS) for f in data):
        raise ValueError(f"{path}: expected a JSON list of objects with {', '.join(FIELDS)}")
    return data


def meets(value: Any, goal: Any) -> bool | None:
    """Whether ``value`` meets a goal written ``">= x"`` or ``"<= x"``; None if it cannot say."""
    if not isinstance(goal, str) or not isinstance(value, int | float):
        return None
    op, _, bound = goal.strip().partition(" ")
    try:
        limit = float(bound)
    except ValueError:
        return None
    if op == ">=":
        return value >= limit
    if op == "<=":
        return value <= limit
    return None


def render_markdown(figures: Iterable[Mapping[str, Any]], *, machine: str, date: str,
                    notes: Sequence[str] = ()) -> str:
    """BENCHMARKS.md: the table, the machine, the date, and what the runner noted."""
    lines = ["# Benchmarks", "",
             "Written by `make bench` (bench/run.py) from bench/results.json; every ratio is "
             "against a baseline measured in the same run. Do not edit by hand.", "",
             f"- date: {date}", f"- machine: {machine}", "",
             "| figure | value | unit | goal | met | baseline | command |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        met = meets(f.get("value"), f.get("goal"))
        shown = "n/a" if f.get("value") is None else f"{f['value']}"
        lines.append(
            f"| `{f['name']}` | {shown} | {f.get('unit', '')} | {f.get('goal') or ''} | "
            f"{'' if met is None else ('yes' if met else 'NO')} | {_cell(f.get('baseline'))} | "
            f"`{f.get('command', '')}` |")
    with_notes = [f for f in figures if f.get("note")]
    if with_notes:
        lines += ["", "## Notes", ""]
        lines += [f"- `{f['name']}`: {f['note']}" for f in with_notes]
    if notes:
        lines += ["", "## Runner", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")
