"""The cost estimate is a ceiling of what the real layer code spends.

Every example architecture and several Archon shapes run through ``worker/layer.py`` and the
techniques, turn by turn, with a recording caller in place of the LLM caller (a double at the
caller boundary: this tests the planning, not the distributed path, which
tests/worker/test_layers_on_simulator.py covers). Each reply is exactly ``max_tokens`` tokens
long under the estimate's counting (:func:`models.call_plan.tokens_of`) and is read by its
technique's parser, so the most candidates flow on. Once more with the first attempts of every
call rejected (a reply the parser cannot read, then a truncated one): then every call is asked
:data:`MAX_ATTEMPTS` times and the calls equal the estimate's.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from models.architecture import Architecture, parse_architecture
from models.call_plan import MAX_ATTEMPTS, tokens_of
from models.endpoints import Registry, load_registry
from scheduler.cost_estimate import CostEstimate, estimate_cost
from worker.layer import run_layer_calls
from worker.techniques.base import CallResult, CallSpec, CodeTestReport, LayerState, Role
from worker.techniques.conversation import Conversation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "architectures"
TURNS = ("Ana has 3 apples and buys 4 more. How many apples does she have?",
         "Now she gives away half of them, rounding down. How many are left?")
SYSTEM = "Answer the question; give the final answer on its own line."


def comp(kind: str, llm: str = "sim-medium", max_tokens: int = 200,
         **fields: Any) -> dict[str, Any]:
    return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": max_tokens, **fields}


#: Archon's shapes beyond the examples: MoA layers of several generators, critic -> ranker ->
#: fuser, a verifier, unit tests, a PairRM reward ranker, several samples.
SHAPES: dict[str, dict[str, Any]] = {
    "moa-layers": {"layers": [
        [comp("generator", "sim-large", 300, samples=2), comp("generator", "sim-small", 150)],
        [comp("generator", "sim-large", 120), comp("generator", "sim-medium", 250, samples=2)],
        [comp("fuser", "sim-frontier", 400, samples=2)], [comp("fuser", "sim-large", 100)]]},
    "critic-ranker-fuser": {"layers": [
        [comp("generator", samples=4, max_tokens=180)], [comp("critic", max_tokens=500)],
        [comp("ranker", top_k=2, use_critiques=True)], [comp("fuser", max_tokens=90)]]},
    "verifier": {"layers": [
        [comp("generator", samples=3)], [comp("verifier", max_tokens=60, first_k=2)],
        [comp("fuser")]]},
    "unit-tests": {"layers": [
        [comp("unit_test_generator", max_tokens=120, unit_test_cap=3)],
        [comp("generator", samples=3, max_tokens=80)],
        [comp("unit_test_evaluator", max_tokens=70, top_k=2)], [comp("fuser")]]},
    "pairrm": {"layers": [
        [comp("generator", samples=3)],
        [{"type": "ranker", "model": "llm-blender/PairRM", "model_type": "", "top_k": 2,
          "temperature": 0.7, "max_tokens": 64}],
        [comp("fuser")]]},
}


def architectures() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"example:{p.stem}", json.loads(p.read_text()))
             for p in sorted(EXAMPLES.glob("*.json"))]
    return found + [(name, {"name": name, **arch}) for name, arch in SHAPES.items()]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(None, simulator_url="http://127.0.0.1:8300")


def exactly(tokens: int, text: str = "", pad: str = "z") -> str:
    """``text`` padded to exactly ``tokens`` tokens under the estimate's counting."""
    body = (text + "\n" if text else "") + pad * (4 * tokens)
    return body[:4 * tokens] if len(text) < 4 * tokens - 8 else text


def readable(spec: CallSpec, state: LayerState) -> str:
    """A reply its technique's parser reads, that lets every candidate go on."""
    n = len(state.candidates)
    if spec.role is Role.CRITIQUE:
        text = "\n".join(f"[{i}] Strengths: clear. Weaknesses: terse." for i in range(1, n + 1))
    elif spec.role is Role.RANK:
        text = "Ranking: " + " > ".join(f"[{i}]" for i in range(1, n + 1))
    elif spec.role is Role.VERIFY:
        text = "Verdict: correct"
    elif spec.role is Role.UNIT_TEST_GENERATE:
        asked = re.search(r"Write exactly (\d+) unit test", spec.messages[-1][1])
        count = int(asked.group(1)) if asked else 3
        if "assert statement" in spec.messages[-1][1]:  # execute_tests: tests that run
            text = "\n".join(f"{i}. assert f({i}) == {i}" for i in range(1, count + 1))
        else:
            text = "\n".join(f"{i}. The answer states the number {i}."
                              for i in range(1, count + 1))
    elif spec.role is Role.UNIT_TEST_EVALUATE:
        text = "\n".join(f"Test {i}: pass" for i in range(1, len(state.unit_tests) + 1))
    elif spec.role is Role.SCORE:
        scores = json.dumps({"scores": [float(n - i) for i in range(n)], "pad": ""})
        return scores[:-2] + "z" * (4 * spec.max_tokens - len(scores)) + '"}'
    else:
        text = "She has 7 apples."
    return exactly(spec.max_tokens, text, pad="z" if spec.role is not Role.UNIT_TEST_GENERATE
                   else " ")


class Recorder:
    """The LLM caller's stand-in: records each call's tokens in and out, and replies."""

    def __init__(self, reject_first_attempts: bool) -> None:
        self.reject = reject_first_attempts
        self.spent = CostEstimate()
        self.lock = threading.Lock()

    def caller(self, state: LayerState, registry: Registry) -> Any:
        def call(spec: CallSpec) -> CallResult:
            tokens_in = sum(tokens_of(content) for _, content in spec.messages) \
                + sum(tokens_of(doc) for doc in spec.documents)
            finish = "stop"
            if self.reject and spec.attempt == 0:  # the parser cannot read it
                text = exactly(spec.max_tokens, pad=" " if spec.role in (
                    Role.GENERATE, Role.FUSE) else "z")
            elif self.reject and spec.attempt < MAX_ATTEMPTS - 1:  # cut off at max_tokens
                text, finish = exactly(spec.max_tokens, "She has"), "length"
            else:
                text = readable(spec, state)
            assert tokens_of(text) == spec.max_tokens, (spec.role, len(text))
            usd = registry.llm(spec.llm).cost_usd(tokens_in, spec.max_tokens)
            with self.lock:
                self.spent += CostEstimate(1, tokens_in, spec.max_tokens, usd)
            return CallResult(spec, text, finish_reason=finish)
        return call


class PassingTests:
    """The executed unit-test evaluator's runner: every test passes. It asks no LLM, so what
    it runs does not change what the layers spend (worker/test_runs.py runs them for real)."""

    def run_tests(self, replies: Sequence[str], tests: Sequence[str]) -> CodeTestReport:
        return CodeTestReport([["pass"] * len(tests) for _ in replies], len(tests))


def run(arch: Architecture, registry: Registry, recorder: Recorder, turns: int) -> None:
    history: tuple[tuple[str, str], ...] = ()
    with ThreadPoolExecutor(8) as pool:
        for turn in range(turns):
            conversation = Conversation(query=TURNS[turn], system=SYSTEM, history=history)
            state = LayerState()
            for layer in arch.layers:
                state = run_layer_calls(layer, conversation, state,
                                        call=recorder.caller(state, registry), pool=pool,
                                        is_reward_model=registry.is_reward_model,
                                        test_runner=PassingTests())
            assert state.candidates, "every turn ends with an answer"
            history += ((TURNS[turn], state.candidates[0].text),)


@pytest.mark.parametrize("turns", [1, 2])
@pytest.mark.parametrize(("name", "data"), architectures(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_the_estimate_is_a_ceiling_of_what_the_layers_spend(
        name: str, data: dict[str, Any], turns: int, registry: Registry) -> None:
    arch, _ = parse_architecture(data)
    # The job's prompt_tokens: the question, both turns and the system prompt.
    prompt_tokens = tokens_of(SYSTEM) + sum(tokens_of(t) for t in TURNS)
    estimate = estimate_cost(arch, registry, prompt_tokens=prompt_tokens, turns=turns)

    read_first = Recorder(reject_first_attempts=False)
    run(arch, registry, read_first, turns)
    spent = read_first.spent
    assert spent.calls * MAX_ATTEMPTS == estimate.calls
    assert spent.tokens_out * MAX_ATTEMPTS == estimate.tokens_out
    assert spent.tokens_in * MAX_ATTEMPTS <= estimate.tokens_in
    assert spent.usd * MAX_ATTEMPTS <= estimate.usd + 1e-12

    every_attempt = Recorder(reject_first_attempts=True)
    run(arch, registry, every_attempt, turns)
    spent = every_attempt.spent
    assert spent.calls == estimate.calls  # every call asked MAX_ATTEMPTS times
    assert spent.tokens_out == estimate.tokens_out
    assert spent.tokens_in <= estimate.tokens_in
    assert spent.usd <= estimate.usd + 1e-12


def test_every_example_architecture_is_covered() -> None:
    names = {name for name, _ in architectures()}
    assert {f"example:{p.stem}" for p in EXAMPLES.glob("*.json")} <= names
    assert len(names) >= 5 + len(SHAPES)
