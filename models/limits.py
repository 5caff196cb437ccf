"""Upper limits on what an architecture or a search job may ask for, in one place.

Each guards against a typo that would cost real money or never finish, not against a real
need; all are far above what the paper and Archon's configs use. ``itas validate`` (and so
``itas submit``/``itas run``) refuses a file beyond one, naming the file and the field; they
are documented in docs/search-job.md and the README's architecture section.

=======================  =======  ===========================================================
limit                    value    why
=======================  =======  ===========================================================
MAX_SAMPLES              100      samples of one generator or fuser: each is a paid call per
                                  question (Archon's configs use at most 10s)
MAX_MAX_TOKENS           131072   max_tokens of one call: the largest output providers offer;
                                  the rate limiter reserves it per call before sending
MAX_TOP_K                1000     candidates a ranker or unit-test evaluator hands on
MAX_TRIALS               10000    trials of one search job (the paper's searches: hundreds)
MAX_PARALLEL_TRIALS      64       trials evaluated at once: each queues its questions at once
=======================  =======  ===========================================================
"""

from __future__ import annotations

MAX_SAMPLES = 100
MAX_MAX_TOKENS = 131_072
MAX_TOP_K = 1000
MAX_TRIALS = 10_000
MAX_PARALLEL_TRIALS = 64


def count_up_to(limit: int) -> str:
    """How an expected value is worded in an error: ``an integer from 1 to 100``."""
    return f"an integer from 1 to {limit}"


#: Lists and mappings inside one another in a user's file: an architecture needs 4, a search
#: job 3; deeper is a mistake, and Python's parsers and validators recurse (RecursionError).
MAX_NESTING = 32
#: Values in one user's file (YAML aliases can make a small file expand to a huge document).
MAX_VALUES = 100_000


def shape_problem(data: object) -> str | None:
    """Why a parsed document is too deep or too large to check, or None. Iterative, so it
    cannot itself hit the recursion limit; it stops as soon as a limit is passed."""
    stack: list[tuple[object, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return f"more than {MAX_VALUES} values (YAML aliases expanding?)"
        if isinstance(value, dict | list):
            if depth >= MAX_NESTING:
                return f"nested more than {MAX_NESTING} levels deep"
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return None
