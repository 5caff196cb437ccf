"""Running one layer of an architecture on one question.

All calls of all components of the layer run at once in a thread pool (Archon runs them one
after another); the pool is per process and flat, see techniques/base.py. Each call is asked
until its technique can read the reply, at most ``MAX_ATTEMPTS`` times (a truncated reply is
not read). How the contributions of a layer's components combine into the state handed on:

- candidates: the concatenation, in component order, of every component that produces some
  (generator, fuser, ranker, verifier, unit-test evaluator), as Archon's components extend its
  state's list (two rankers: both top_k, the same candidate possibly twice); if none does, the
  input candidates go on, as changed by pass-through components (critics attach critiques).
- critiques: each critic of the layer critiques every input candidate; a candidate goes on with
  the critiques its critics wrote, joined in component order (Archon would hand on 2n critiques
  for n candidates and then fail; models/archon_types.py), else with the one it came with.
- unit tests: the concatenation, in component order, of what the layer's unit-test generators
  wrote; the input's when the layer has none.
- executed unit tests (an evaluator with ``execute_tests``): its per-candidate results, as
  ``test_results`` (of the first such evaluator). Its runs happen when it combines, in the
  layer task's own thread, after the layer's calls: the call threads are never held by code
  runs, and the runs go in parallel within the sandbox's slots (worker/code_runs.py).
- parse failures and failed calls: summed over the layer, and kept cumulative across layers.
- a refusal of the question's prompt by a provider (over the context window): the first
  reason is kept, across layers, so that a question left without an answer is ``refused``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from models.errors import LayerTimeout
from worker.techniques import technique_for
from worker.techniques.base import (
    MAX_ATTEMPTS,
    CallResult,
    CallSpec,
    Candidate,
    CodeTestRunner,
    LayerState,
    ReplyError,
    Technique,
    planned,
)
from worker.techniques.conversation import Conversation

Caller = Callable[[CallSpec], CallResult]
#: Makes several planned calls ahead, as one request where it can (LLMCaller.prefetch).
Prefetch = Callable[[Sequence[CallSpec]], None]
#: Told of every reply that could not be used (its ``problem`` is set), attempt by attempt.
UnusableSink = Callable[[CallResult], None]


def ask(call: Caller, technique: Technique, component: Any, state: LayerState,
        spec: CallSpec, on_unusable: UnusableSink | None = None) -> CallResult:
    """Make ``spec`` and read its reply; ask again (next attempt) while the reply is truncated
    or unreadable. Returns the first usable result, or the last attempt's with its problem."""
    result = call(spec)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if result.text is None:
            return result  # the call failed for good: the technique's rule counts it
        if result.finish_reason == "length":
            result.problem = f"truncated at max_tokens ({result.spec.max_tokens})"
        else:
            try:
                result.parsed = technique.parse(component, state, result.spec, result.text)
                return result
            except ReplyError as exc:
                result.problem = str(exc)
        if on_unusable:
            on_unusable(result)
        if attempt == MAX_ATTEMPTS:
            break
        result = call(spec.retry(attempt))
    return result


def run_layer_calls(
    components: Sequence[Any],
    conversation: Conversation,
    state: LayerState,
    *,
    call: Caller,
    pool: ThreadPoolExecutor,
    on_unusable: UnusableSink | None = None,
    is_reward_model: Callable[[str], bool] = lambda _llm: False,
    timeout_s: float | None = None,
    prefetch: Prefetch | None = None,
    test_runner: CodeTestRunner | None = None,
) -> LayerState:
    """Plan, run concurrently, combine. Exceptions of ``call`` (retryable errors after the
    client's own retries) propagate: the task retries the layer, whose finished calls are
    then cache hits. ``is_reward_model`` tells which LLMs score instead of chatting.

    ``timeout_s`` bounds the wait for the layer's calls: past it, calls not yet started are
    cancelled and LayerTimeout is raised (the task's time limit, where no pool enforces one;
    calls already running end within their client's own limits and stay cached).
    ``prefetch`` (LLMCaller.prefetch) is given each component's plan of several calls before
    they are asked, so the samples of one prompt can go as one ``n=k`` request; the calls of
    the other components start meanwhile, and those of a prefetched plan once it is done
    (then mostly cache hits). ``test_runner`` runs generated tests against candidates' code
    for executed unit-test evaluators (the question's; None where the benchmark is not
    code)."""
    if state.unit_tests:
        conversation = conversation.with_unit_tests(state.unit_tests)
    techniques = [(c, technique_for(c, is_reward_model, test_runner)) for c in components]
    plans = [(c, t, t.plan(c, conversation, state)) for c, t in techniques]
    for component, _, specs in plans:
        # The cost estimate counts calls by the same rule: a plan that strays from it would
        # let a trial spend past the budget it was admitted under.
        expected = planned(component, state).calls
        if len(specs) != expected:
            raise RuntimeError(f"{component.type} planned {len(specs)} calls, the call plan "
                               f"(models/call_plan.py) says {expected}")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def within_time(pending: list[Future[Any]]) -> None:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, late = wait(pending, timeout=left)
        if late:
            for future in late:
                future.cancel()
            raise LayerTimeout(f"layer not finished within {timeout_s:.0f} s: {len(late)} of "
                               "its calls still waiting")

    def submit(i: int) -> list[Future[CallResult]]:
        component, technique, specs = plans[i]
        return [pool.submit(ask, call, technique, component, state, s, on_unusable)
                for s in specs]

    batched = [i for i, plan in enumerate(plans) if prefetch is not None and len(plan[2]) > 1]
    futures = {i: submit(i) for i in range(len(plans)) if i not in batched}
    if prefetch is not None:
        warming = [pool.submit(prefetch, plans[i][2]) for i in batched]
        within_time(warming)
        for warmed in warming:
            warmed.result()
    futures.update({i: submit(i) for i in batched})
    within_time([f for group in futures.values() for f in group])
    results = [[f.result() for f in futures[i]] for i in range(len(plans))]

    produced: list[Candidate] = []
    any_producer = False
    passthroughs: list[list[Candidate]] = []
    unit_tests: list[str] | None = None
    new = LayerState(parse_failures=state.parse_failures, failed_calls=state.failed_calls,
                     refusal=state.refusal or next(
                         (r.refusal for group in results for r in group if r.refusal), None))
    for (component, technique, _), group in zip(plans, results, strict=True):
        contribution = technique.combine(component, conversation, state, group)
        if contribution.candidates is not None:
            any_producer = True
            produced.extend(contribution.candidates)
        if contribution.passthrough is not None:
            passthroughs.append(contribution.passthrough)
        if contribution.unit_tests is not None:
            unit_tests = (unit_tests or []) + contribution.unit_tests
        new.failed_calls += contribution.failed_calls
        new.parse_failures += len(contribution.unusable)
        if contribution.test_results is not None and new.test_results is None:
            new.test_results = contribution.test_results
    new.candidates = produced if any_producer else _with_new_critiques(state.candidates,
                                                                      passthroughs)
    new.unit_tests = unit_tests if unit_tests is not None else list(state.unit_tests)
    return new


#: Between the critiques of several critics on one candidate, in the prompts that show them.
CRITIQUE_JOINER = "\n\n"


def _with_new_critiques(inputs: Sequence[Candidate],
                        passthroughs: Sequence[Sequence[Candidate]]) -> list[Candidate]:
    """The input candidates, each with the critiques the layer's critics wrote of it joined in
    component order, or the critique it came with when none wrote one. A pass-through keeps a
    candidate's incoming critique where its critic wrote none, so a critique is new exactly
    when it differs from the incoming one."""
    out = []
    for i, candidate in enumerate(inputs):
        written = [critique for p in passthroughs
                   if (critique := p[i].critique) is not None and critique != candidate.critique]
        out.append(Candidate(candidate.text, CRITIQUE_JOINER.join(written) if written
                             else candidate.critique))
    return out
