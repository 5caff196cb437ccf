"""How a problem in a user's file is worded: where it is and what was expected.

The architecture loader (JSON) and the endpoints registry (YAML) both report problems as one
line each, ``<path>: <what was expected>, got <what was there>``, where the path is written the
way a person would point into the file::

    layers[2][0].top_k: expected at most 3 (the candidates that can reach this ranker), got 5
    endpoints.simulator.api_key_envs[1]: expected an environment variable name ...

The loaders collect every problem first and raise once with all of them (a user fixes a file in
one round, not one error per run). pydantic's own messages ("Input should be a valid integer")
are translated here, at one place, into field-specific wording.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping

from pydantic import ValidationError


def at(path: str, key: str | int) -> str:
    """``at("layers", 2)`` is ``layers[2]``; ``at("layers[2][0]", "top_k")`` is ``...top_k``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def in_file_order(problems: Iterable[str]) -> list[str]:
    """Problems sorted by where they point (``layers[2]`` before ``layers[10]``), stably."""
    def key(line: str) -> tuple[int, ...]:
        path = line.split(": ", 1)[0]
        return tuple(int(n) for n in re.findall(r"\[(\d+)\]", path))
    return sorted(problems, key=key)


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to ``word`` (a typo's intended spelling), if any is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` known names that look like ``word``, best first."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.5)


def shown(value: object) -> str:
    """A short rendering of a value from the user's file, as it would appear in JSON."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field_problems(exc: ValidationError, base: str, expected: Mapping[str, str]) -> list[str]:
    """Translate a pydantic error into one line per field, worded with ``expected[field]``.

    ``expected`` says in plain words what a field takes ("an integer >= 1"); a field missing from
    it falls back to pydantic's own message.
    """
    problems = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        path = base
        for key in loc:
            path = at(path, key if isinstance(key, int) else str(key))
        field = next((str(k) for k in loc if isinstance(k, str)), "")
        wanted = expected.get(field)
        if error["type"] == "missing":
            problems.append(f"{path}: required, expected {wanted or 'a value'}")
        elif wanted:
            problems.append(f"{path}: expected {wanted}, got {shown(error.get('input'))}")
        else:
            problems.append(f"{path}: {error['msg']}, got {shown(error.get('input'))}")
    return problems
