"""Executed unit tests: the generator's parser reads tests written the ways models write them,
and the executed evaluator picks candidates by the tests their code passed (no LLM call)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from models.architecture import parse_architecture
from models.call_plan import plan_calls
from models.errors import ConfigError, InvalidArchitecture
from worker.techniques import technique_for
from worker.techniques.base import Candidate, CodeTestReport, LayerState, ReplyError
from worker.techniques.conversation import Conversation
from worker.techniques.executable_tests_prompt import (
    generator_messages,
    io_test,
    parse_tests,
    read_tests,
)


def test_numbered_asserts_in_backticks_are_read_without_their_numbers() -> None:
    reply = ("Here are the tests:\n1. `assert add(2, 3) == 5`\n2) `assert add(-1, 1) == 0` "
             "(negative numbers)\nTest 3: assert add(0, 0) == 0\n- assert add(10, 5) == 15\n")
    assert parse_tests(reply, 4) == ["assert add(2, 3) == 5", "assert add(-1, 1) == 0",
                                     "assert add(0, 0) == 0", "assert add(10, 5) == 15"]


def test_a_fenced_block_of_asserts_with_a_multi_line_one() -> None:
    reply = ("```python\n# basic\nassert sort_list([3, 1, 2]) == [1, 2, 3]\n"
             "assert sort_list([\n    5,\n    4,\n]) == [4, 5]\nassert sort_list([]) == []\n```")
    assert read_tests(reply) == ["assert sort_list([3, 1, 2]) == [1, 2, 3]",
                                 "assert sort_list([\n    5,\n    4,\n]) == [4, 5]",
                                 "assert sort_list([]) == []"]


def test_input_output_pairs_with_fences_bold_labels_and_expected_output() -> None:
    reply = ("1. **Input:**\n```\n3\n1 2 3\n```\n**Expected Output:**\n```\n6\n```\n\n"
             "Test 2\nInput:\n```text\n1\n5\n```\nOutput:\n```text\n5\n```\n"
             "3. Input: 0\n   Output: 0\n")
    assert read_tests(reply) == [io_test("3\n1 2 3\n", "6\n"), io_test("1\n5\n", "5\n"),
                                 io_test("0\n", "0\n")]
    assert io_test("1\n5\n", "5\n") == "Input:\n```\n1\n5\n```\nOutput:\n```\n5\n```\n"


def test_too_few_tests_or_prose_is_a_reply_error() -> None:
    with pytest.raises(ReplyError, match="2 runnable unit tests in the reply, 3 were asked"):
        parse_tests("assert f(1) == 1\nassert f(2) == 4\n", 3)
    with pytest.raises(ReplyError, match="no runnable unit tests"):
        parse_tests("1. The function returns the sum.\n2. It handles empty lists.", 2)
    # an assert left unfinished is not read as a test
    assert read_tests("assert f([1, 2) == 3\nassert f([]) == 0") == ["assert f([]) == 0"]


def test_the_prompt_asks_for_both_forms_and_the_count() -> None:
    messages = generator_messages(Conversation(query="Write add(a, b)."), 5, no_system=False)
    prompt = messages[-1][1]
    assert "Write exactly 5 unit tests" in prompt and "assert statement" in prompt
    assert "'Input:'" in prompt and "'Output:'" in prompt and "Write add(a, b)." in prompt


def component(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "model": "sim-small", "model_type": "OpenAI_API",
            "temperature": 0.7, "max_tokens": 512, **fields}


def test_an_executed_evaluator_makes_no_call_by_the_call_plan() -> None:
    assert plan_calls("unit_test_evaluator", samples=1, candidates=10, unit_tests=True,
                      execute_tests=True).calls == 0
    assert plan_calls("unit_test_evaluator", samples=1, candidates=10, unit_tests=True).calls \
        == 10


def test_an_executed_evaluator_on_sentence_tests_is_an_error_with_its_path() -> None:
    layers = [[component("unit_test_generator", unit_test_cap=5)],
              [component("generator", samples=4)],
              [component("unit_test_evaluator", top_k=1, execute_tests=True)]]
    with pytest.raises(InvalidArchitecture) as caught:
        parse_architecture({"name": "x", "layers": layers})
    assert any("layers[2][0].execute_tests: this unit_test_evaluator runs the tests as code"
               in line for line in caught.value.details), caught.value.details
    layers[0][0]["execute_tests"] = True
    architecture, warnings = parse_architecture({"name": "x", "layers": layers})
    assert architecture.layers[2][0].execute_tests and not warnings


class Runner:
    """A runner of the test's own: candidate text "passes:N" passes its first N tests."""

    def __init__(self) -> None:
        self.asked: list[tuple[list[str], list[str]]] = []

    def run_tests(self, replies: Sequence[str], tests: Sequence[str]) -> CodeTestReport:
        self.asked.append((list(replies), list(tests)))
        rows = [["pass" if t < int(r.split(":")[1]) else "error" for t in range(len(tests))]
                for r in replies]
        return CodeTestReport(rows, len(tests))


def evaluate(fields: dict[str, object], passes: list[int]) -> tuple[list[str], LayerState]:
    architecture, _ = parse_architecture({"name": "x", "layers": [
        [component("unit_test_generator", execute_tests=True)],
        [component("generator", samples=len(passes))],
        [component("unit_test_evaluator", execute_tests=True, **fields)]]})
    evaluator = architecture.layers[2][0]
    runner = Runner()
    technique = technique_for(evaluator, lambda _: False, runner)
    state = LayerState(candidates=[Candidate(f"passes:{n}") for n in passes],
                       unit_tests=["assert a()", "assert b()", "assert c()"])
    conversation = Conversation(query="q")
    assert technique.plan(evaluator, conversation, state) == []
    out = technique.combine(evaluator, conversation, state, [])
    assert runner.asked == [([f"passes:{n}" for n in passes], state.unit_tests)]
    assert out.test_results is not None
    assert [r["passed"] for r in out.test_results] == passes
    return [c.text for c in out.candidates or []], state


def test_the_executed_evaluator_keeps_the_top_k_by_tests_passed() -> None:
    chosen, _ = evaluate({"top_k": 2}, [1, 3, 0, 2, 3])
    assert chosen == ["passes:3", "passes:3"]
    chosen, _ = evaluate({"first_k": 1, "top_k": 2}, [2, 1, 3, 3])
    assert chosen == ["passes:3"]


def test_an_executed_evaluator_without_a_code_benchmark_is_refused() -> None:
    architecture, _ = parse_architecture({"name": "x", "layers": [
        [component("unit_test_generator", execute_tests=True)], [component("generator")],
        [component("unit_test_evaluator", execute_tests=True, top_k=1)]]})
    with pytest.raises(ConfigError, match="only a code benchmark"):
        technique_for(architecture.layers[2][0], lambda _: False, None)
