"""How many LLM calls one component makes, and what each call's prompt shows: the one
statement of the call-planning rules.

The techniques (``worker/techniques/``) size their plans by :func:`plan_calls` and the worker's
layer checks every plan against it (``worker/layer.py``); the cost estimate
(``scheduler/cost_estimate.py``) counts by it, so the estimate and what runs cannot drift
apart. Given the candidates reaching the component (n) and whether unit tests reach it:

=====================  ================================  ====================================
type                   calls (first attempts)            each call's prompt shows
=====================  ================================  ====================================
generator              ``samples``                       no candidate
unit_test_generator    1                                 no candidate
critic                 1 (0 with no candidate)           the n candidates
ranker                 1 (0 with fewer than 2)           the n candidates, and their critiques
fuser                  ``samples`` (0 with no candidate) the n candidates, and their critiques
verifier               n (one per candidate)             one candidate
unit_test_evaluator    n (0 without unit tests)          one candidate (and the tests)
  with execute_tests   0 (the tests run in the sandbox)  -
=====================  ================================  ====================================

A ranker on a reward model (a scoring endpoint) makes the same one call, scoring the n
candidates. Critiques are shown only where a critic of an earlier layer wrote some. Every call
may be asked up to :data:`MAX_ATTEMPTS` times (an unreadable or truncated reply is asked again).

The rule is per component: several components of one layer each follow it, and the layer's
calls are their sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.archon_types import ComponentType

__all__ = ["INSTRUCTION_TOKENS", "LISTING_TOKENS", "MAX_ATTEMPTS", "CallPlan", "plan_calls",
           "tokens_of"]

T = ComponentType

#: How many times one call is asked before its technique's rule for an unusable reply applies:
#: the first ask and two more. Each attempt is a new request (its own cache key and seed).
MAX_ATTEMPTS = 3

#: A technique's own words in a call, beyond the question: its system prompt and instructions
#: (the longest, the critic's and the unit-test generator's, are about 200; counted generously).
INSTRUCTION_TOKENS = 300

#: What listing one candidate (or critique) in a prompt adds beyond its own text: its number,
#: the blank lines and a header ("[12]", "Critique of [12]:"), in tokens, counted generously.
LISTING_TOKENS = 16


@dataclass(frozen=True)
class CallPlan:
    """What one component does for one layer input: ``calls`` first attempts, each showing
    ``candidates_shown`` candidates (with their critiques when ``shows_critiques`` and a critic
    wrote some) and, for a unit-test evaluator, the unit tests listed on their own."""

    calls: int
    candidates_shown: int = 0
    shows_critiques: bool = False
    lists_unit_tests: bool = False


def plan_calls(kind: ComponentType | str, *, samples: int, candidates: int,
               unit_tests: bool, execute_tests: bool = False) -> CallPlan:
    """The calls of one component of type ``kind`` (with its ``samples`` and its
    ``execute_tests``) given the ``candidates`` reaching it and whether unit tests reach it
    (see the module docstring)."""
    kind = ComponentType(kind)
    n = candidates
    if kind is T.UNIT_TEST_EVALUATOR and execute_tests:
        return CallPlan(0)  # the candidates' code runs against the tests: no LLM asked
    if kind is T.GENERATOR:
        return CallPlan(samples)
    if kind is T.UNIT_TEST_GENERATOR:
        return CallPlan(1)
    if kind is T.CRITIC:
        return CallPlan(1 if n else 0, n)
    if kind is T.RANKER:
        return CallPlan(1 if n >= 2 else 0, n, shows_critiques=True)
    if kind is T.FUSER:
        return CallPlan(samples if n else 0, n, shows_critiques=True)
    if kind is T.VERIFIER:
        return CallPlan(n, 1)
    return CallPlan(n if unit_tests else 0, 1, lists_unit_tests=True)  # unit_test_evaluator


def tokens_of(text: str) -> int:
    """The estimate's way of counting tokens in a text: one per four characters, rounded up
    (English under common tokenizers; ``estimate.prompt_tokens`` is read the same way)."""
    return math.ceil(len(text) / 4)
