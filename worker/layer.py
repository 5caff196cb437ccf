"""Running one layer of an architecture on one question.

All calls of all components of the layer run at once in a thread pool (Archon runs them one
after another); the pool is per process and flat, see techniques/base.py. How the
contributions of a layer's components combine into the state handed on:

- candidates: the concatenation, in component order, of every component that produces some
  (generator, fuser, ranker, verifier, unit-test evaluator); if none does, the input candidates
  go on, as changed by pass-through components (a critic attaches critiques).
- unit tests: those a unit-test generator of this layer wrote, else the input's.
- parse failures and failed calls: summed over the layer, and kept cumulative across layers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from worker.techniques import TECHNIQUES
from worker.techniques.base import CallResult, CallSpec, Candidate, LayerState

Caller = Callable[[CallSpec], CallResult]
ParseFailureSink = Callable[[CallResult], None]


def run_layer_calls(
    components: Sequence[Any],
    question: str,
    state: LayerState,
    *,
    call: Caller,
    pool: ThreadPoolExecutor,
    on_parse_failure: ParseFailureSink | None = None,
) -> LayerState:
    """Plan, run concurrently, combine. Exceptions of ``call`` (retryable errors after the
    client's own retries) propagate: the task retries the layer, whose finished calls are
    then cache hits."""
    plans = [(c, TECHNIQUES[c.type], TECHNIQUES[c.type].plan(c, question, state))
             for c in components]
    futures = [[pool.submit(call, s) for s in specs] for _, _, specs in plans]
    results = [[f.result() for f in group] for group in futures]

    produced: list[Candidate] = []
    any_producer = False
    passthrough = list(state.candidates)
    unit_tests: list[str] | None = None
    new = LayerState(parse_failures=state.parse_failures, failed_calls=state.failed_calls)
    for (component, technique, _), group in zip(plans, results, strict=True):
        contribution = technique.combine(component, question, state, group)
        if contribution.candidates is not None:
            any_producer = True
            produced.extend(contribution.candidates)
        if contribution.passthrough is not None:
            passthrough = contribution.passthrough
        if contribution.unit_tests is not None:
            unit_tests = contribution.unit_tests
        new.failed_calls += contribution.failed_calls
        new.parse_failures += len(contribution.parse_failures)
        if on_parse_failure:
            for failed in contribution.parse_failures:
                on_parse_failure(failed)
    new.candidates = produced if any_producer else passthrough
    new.unit_tests = unit_tests if unit_tests is not None else list(state.unit_tests)
    return new
