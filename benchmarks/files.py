"""Reading benchmark data files; every error names the file (and the line of a JSONL row)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.base import BenchmarkError

__all__ = ["read_json", "read_jsonl", "read_keyed_rows"]


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number from 1, parsed row) of every non-blank line of a JSONL file."""
    rows = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except ValueError as exc:
            raise BenchmarkError(f"{path}:{number}: not a JSON object ({exc.args[0]})") from exc
    return rows


def read_json(path: Path) -> Any:
    try:
        return json.loads(_text(path))
    except ValueError as exc:
        raise BenchmarkError(f"{path}: not JSON ({exc.args[0]})") from exc


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BenchmarkError(f"{path}: cannot read the file: {reason}") from exc


def read_keyed_rows(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """(key, row) of a JSON file holding an object of rows keyed by their index (MixEval's
    files), or a list of rows (keyed by position)."""
    data = read_json(path)
    if isinstance(data, dict):
        rows = list(data.items())
    elif isinstance(data, list):
        rows = [(str(i), row) for i, row in enumerate(data)]
    else:
        raise BenchmarkError(f"{path}: expected an object or a list of questions")
    for key, row in rows:
        if not isinstance(row, dict):
            raise BenchmarkError(f"{path}: entry {key!r}: expected an object")
    return rows
