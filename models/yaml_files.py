"""Reading the YAML files users write (endpoints registry, search jobs): one place that turns a
syntax error into a message naming the file, line and column."""

from __future__ import annotations

from typing import Any

import yaml

from models.errors import ConfigError, UserError
from models.limits import MAX_NESTING, shape_problem


def load_yaml(text: str, source: str, *, error: type[UserError] = ConfigError,
              loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """The YAML document in ``text``; a syntax error raises ``error`` with line and column."""
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 (SafeLoader or a subclass)
    except RecursionError:
        raise error(f"{source}: nested more than {MAX_NESTING} levels deep") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise error(f"{source}: {where}not valid YAML ({exc.problem})") from exc
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML ({exc})") from exc
    problem = shape_problem(data)
    if problem is not None:
        raise error(f"{source}: {problem}")
    return data
