"""Upper limits on what an architecture or a search job may ask for, in one place.

Each guards against a typo that would cost real money or never finish, not against a real
need. The per-component bounds are ten times the largest value Archon's published configs use
(samples 1000 in its repeated-sampling CodeContests configs, max_tokens 200000 in its Claude
configs): a tenfold margin leaves room for real growth (repeated sampling has been run at
10,000 samples a question) while a value beyond it is more than an order of magnitude past any
published use, which is what a slipped digit or a pasted token count looks like. ``itas
validate`` (and so ``itas submit``/``itas run``) refuses a file beyond one, naming the file and
the field; they are documented in docs/search-job.md and the README's architecture section.

=======================  =========  =========================================================
limit                    value      why
=======================  =========  =========================================================
MAX_SAMPLES              10000      samples of one generator or fuser: each is a paid call per
                                    question; 10 x Archon's largest (1000)
MAX_MAX_TOKENS           2000000    max_tokens of one call: 10 x Archon's largest (200000,
                                    written as Claude's context window); the rate limiter
                                    reserves it per call before sending
MAX_TOP_K                1000       candidates a ranker or unit-test evaluator hands on; also
                                    bounded by the candidates that reach it, and Archon's
                                    configs keep at most 6 (a prompt of more than ~32 rarely
                                    fits a context window)
MAX_TRIALS               10000      trials of one search job (the paper's searches: hundreds)
MAX_PARALLEL_TRIALS      64         trials evaluated at once: each queues its questions at once
=======================  =========  =========================================================
"""

from __future__ import annotations

MAX_SAMPLES = 10_000
MAX_MAX_TOKENS = 2_000_000
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
