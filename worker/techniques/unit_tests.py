"""Unit-test generator and evaluator (Archon's technique for checkable answers).

- generator: one call asking for exactly ``unit_test_cap`` tests; the tests are appended to the
  query, as Archon appends them, so every later component sees them (see conversation.py). As
  in Archon its layer hands the input candidates on unchanged. With ``execute_tests`` it asks
  for tests that run (executable_tests_prompt.py) instead of sentences.
  Rule after the last attempt: the tests that can be read are used (at most ``unit_test_cap``);
  none leaves the query without tests; either way the reply counts as a parse failure.
- evaluator: one call per candidate applying every test. As in Archon: with ``first_k`` (or
  ``first_pass``), when at least ``first_k`` candidates pass every test, the first ``first_k`` of
  them (input order) go on; otherwise the candidates ranked by tests passed (stable), the first
  ``top_k`` of them (all when ``top_k`` is unset). ``remove_unit_tests_from_prompt`` shows the
  query without the appended tests (they are listed on their own anyway).
  Rule after the last attempt: results that can be read count, the others count as failed, and
  the reply counts as a parse failure.
- executed evaluator (``execute_tests``, :class:`ExecutedUnitTestEvaluator`): no LLM call;
  each candidate's code is run against each test by the injected
  :class:`~worker.techniques.base.CodeTestRunner`, and the same selection rule picks by tests
  passed. Its per-candidate results go into the layer's state (``test_results``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from worker.techniques import executable_tests_prompt as executable
from worker.techniques import unit_tests_prompt as prompts
from worker.techniques.base import (
    CallResult,
    CallSpec,
    CodeTestRunner,
    Contribution,
    LayerState,
    Role,
    no_system,
    planned,
    spec,
)
from worker.techniques.conversation import Conversation


def _cap(component: Any) -> int | None:
    cap = getattr(component, "unit_test_cap", None)
    return int(cap) if cap else None


def _executes(component: Any) -> bool:
    return bool(getattr(component, "execute_tests", False))


class UnitTestGenerator:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        words = executable if _executes(component) else prompts
        messages = words.generator_messages(conversation, _cap(component),
                                            no_system=no_system(component))
        return [spec(component, Role.UNIT_TEST_GENERATE, messages, i)
                for i in range(planned(component, state).calls)]

    def parse(self, component: Any, state: LayerState, spec: CallSpec,
              text: str) -> list[str]:
        if _executes(component):
            return executable.parse_tests(text, _cap(component))
        return prompts.parse_tests(text, _cap(component))

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution(passthrough=list(state.candidates), unit_tests=[])
        if not results or results[0].text is None:
            out.failed_calls = len(results)
            return out
        if results[0].usable:
            out.unit_tests = list(results[0].parsed)
        else:
            out.unusable.append(results[0])
            words = executable if _executes(component) else prompts
            out.unit_tests = words.read_tests_leniently(results[0].text, _cap(component))
        return out


class UnitTestEvaluator:
    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        if not planned(component, state).calls:  # no unit tests (or no candidate) to apply
            return []
        remove = bool(getattr(component, "remove_unit_tests_from_prompt", False))
        return [spec(component, Role.UNIT_TEST_EVALUATE,
                     prompts.evaluator_messages(conversation, c, state.unit_tests,
                                                remove_tests_from_query=remove,
                                                no_system=no_system(component)), 0)
                for c in state.candidates]

    def parse(self, component: Any, state: LayerState, spec: CallSpec,
              text: str) -> list[bool]:
        return prompts.parse_results(text, len(state.unit_tests))

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        out = Contribution()
        if not results:  # no tests to apply: order unchanged
            out.candidates = list(state.candidates)
            return out
        count = len(state.unit_tests)
        passed: list[int] = []
        for result in results:
            if result.text is None:
                out.failed_calls += 1
                passed.append(0)
            elif result.usable:
                passed.append(sum(result.parsed))
            else:
                out.unusable.append(result)
                passed.append(sum(prompts.read_results_leniently(result.text, count).values()))
        out.candidates = [state.candidates[i] for i in selected(component, passed, count)]
        return out


def selected(component: Any, passed: Sequence[int], count: int) -> list[int]:
    """Archon's rule, by tests passed (``passed[i]`` of ``count`` for candidate i): with
    ``first_k``, when at least that many pass every test, the first ``first_k`` of them (input
    order); otherwise the indices ranked by tests passed (stable), the first ``top_k``."""
    first_k = getattr(component, "first_k", None)
    perfect = [i for i, n in enumerate(passed) if n == count]
    if first_k and len(perfect) >= int(first_k):
        return perfect[: int(first_k)]
    top_k = getattr(component, "top_k", None)
    ranked = sorted(range(len(passed)), key=lambda i: -passed[i])
    return ranked[: int(top_k) if top_k else None]


class ExecutedUnitTestEvaluator:
    """The unit-test evaluator with ``execute_tests``: runs the tests instead of asking an
    LLM (no call; models/call_plan.py counts 0). Its runner is the question's, given by the
    layer task; a candidate whose code cannot be read passes no test."""

    def __init__(self, runner: CodeTestRunner) -> None:
        self.runner = runner

    def plan(self, component: Any, conversation: Conversation,
             state: LayerState) -> list[CallSpec]:
        return []

    def parse(self, component: Any, state: LayerState, spec: CallSpec, text: str) -> Any:
        raise AssertionError("an executed unit-test evaluator makes no call")

    def combine(self, component: Any, conversation: Conversation, state: LayerState,
                results: Sequence[CallResult]) -> Contribution:
        if not state.unit_tests or not state.candidates:
            return Contribution(candidates=list(state.candidates))
        report = self.runner.run_tests([c.text for c in state.candidates], state.unit_tests)
        chosen = selected(component, report.passed(), report.runnable)
        return Contribution(candidates=[state.candidates[i] for i in chosen],
                            test_results=report.summary())
