"""Unit-test generator and evaluator (Archon's technique for checkable answers).

- generator: one call writing tests a right answer must pass; at most ``unit_test_cap`` kept.
  Rule: a reply with no numbered test is a parse failure and leaves no tests.
- evaluator: one call per candidate applying every test. With ``first_k``: the first
  ``first_k`` candidates (input order) that pass every test go on — or, when none passes all,
  the one passing most. Otherwise the ``top_k`` passing most go on (stable order; all when
  ``top_k`` is unset). Rule: results that do not parse count as a parse failure and as zero
  tests passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.protocol import ProtocolParseError, Role, parse_test_results, parse_unit_tests
from worker.techniques.base import (
    CallResult,
    CallSpec,
    Contribution,
    LayerState,
    prompt_with,
    spec,
)


class UnitTestGenerator:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        return [spec(component, Role.UNIT_TEST_GENERATE,
                     prompt_with(Role.UNIT_TEST_GENERATE, question, [], False), 0)]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        # Archon's unit-test layer hands on no candidates, only the tests.
        out = Contribution(candidates=[], unit_tests=[])
        if not results or results[0].text is None:
            out.failed_calls = len(results)
            return out
        try:
            tests = parse_unit_tests(results[0].text)
        except ProtocolParseError:
            out.parse_failures.append(results[0])
            return out
        cap = getattr(component, "unit_test_cap", None)
        out.unit_tests = tests[: int(cap)] if cap else tests
        return out


class UnitTestEvaluator:
    def plan(self, component: Any, question: str, state: LayerState) -> list[CallSpec]:
        if not state.unit_tests:
            return []
        return [spec(component, Role.UNIT_TEST_EVALUATE,
                     prompt_with(Role.UNIT_TEST_EVALUATE, question, [c], False,
                                 state.unit_tests), 0)
                for c in state.candidates]

    def combine(self, component: Any, question: str, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution()
        if not results:  # no tests to apply: order unchanged
            out.candidates = list(state.candidates)
            return out
        passed = []
        for result in results:
            if result.text is None:
                out.failed_calls += 1
                passed.append(0)
                continue
            try:
                passed.append(sum(parse_test_results(result.text, len(state.unit_tests))))
            except ProtocolParseError:
                out.parse_failures.append(result)
                passed.append(0)
        order = sorted(range(len(state.candidates)), key=lambda i: -passed[i])
        first_k = getattr(component, "first_k", None)
        if first_k:
            perfect = [i for i in range(len(state.candidates))
                       if passed[i] == len(state.unit_tests)]
            chosen = perfect[: int(first_k)] or order[:1]
        else:
            top_k = getattr(component, "top_k", None)
            chosen = order[: int(top_k) if top_k else None]
        out.candidates = [state.candidates[i] for i in chosen]
        return out
