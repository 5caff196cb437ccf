"""Reading code out of replies as chat models write them (and as one really wrote them: the
MT-Bench answers in the datasets), and reading the tests they write. Pure: no run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.code.code_contests import CodeContests
from benchmarks.code.extract import extract_code
from benchmarks.code.functions import defines
from benchmarks.code.humaneval import HumanEval
from benchmarks.code.mbpp import MBPP
from benchmarks.code.written_tests import read_assert_test, read_io_test

HE_REFERENCE = {
    "prompt": "from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n"
              "    \"\"\" True when the balance falls below zero.\n    >>> below_zero([1, -2])\n"
              "    True\n    \"\"\"\n",
    "entry_point": "below_zero",
    "test": "def check(c):\n    assert c([1, -2])\n\ncheck(below_zero)\n",
    "canonical_solution": "    b = 0\n    for op in operations:\n        b += op\n"
                          "        if b < 0:\n            return True\n    return False\n",
}


def test_prose_block_explanation_gives_the_block() -> None:
    reply = ("Sure! Here's the implementation:\n\n```python\ndef add(a, b):\n    return a + b\n"
             "```\n\nThis function simply returns the sum of `a` and `b`.")
    assert extract_code(reply) == "def add(a, b):\n    return a + b\n"


def test_the_last_complete_block_wins_and_a_cut_off_one_does_not() -> None:
    reply = ("First attempt:\n```py\nx = 1\n```\nBetter:\n```python3\nx = 2\n```\n"
             "And a faster version:\n```python\nx = 3\nwhile Tr")
    assert extract_code(reply) == "x = 2\n"


def test_a_reply_cut_off_inside_its_only_block_is_taken_whole() -> None:
    reply = "```python\ndef f():\n    return 1"
    assert extract_code(reply) == reply + "\n"


def test_no_block_gives_the_whole_reply_and_empty_gives_none() -> None:
    assert extract_code("def f():\n    return 1\n\n") == "def f():\n    return 1\n"
    assert extract_code("   \n") is None
    assert extract_code("") is None


def test_crlf_tildes_and_reasoning_sections() -> None:
    reply = ("<think>\nMaybe:\n```python\nprint('draft')\n```\n</think>\r\n\r\n"
             "~~~python\r\nprint('final')\r\n~~~\r\n")
    assert extract_code(reply) == "print('final')\n"
    # The template opened the section: only a closing tag is in the reply.
    assert extract_code("ok so x...\n```python\nprint(0)\n```\n</think>\n```python\nprint(1)\n"
                        "```") == "print(1)\n"
    # Cut off while thinking: no answer.
    assert extract_code("<think>\nLet me write\n```python\nprint(2)\n```\nhmm") is None


def test_a_block_inside_a_list_item_loses_the_items_indentation() -> None:
    reply = ("1. Read the input:\n\n   ```python\n   n = int(input())\n   if n:\n"
             "       print(n)\n   ```\n")
    assert extract_code(reply) == "n = int(input())\nif n:\n    print(n)\n"


def test_a_longer_fence_holds_a_shorter_one() -> None:
    reply = "````markdown\n```python\nprint(1)\n```\n````\n"
    assert extract_code(reply) == "```python\nprint(1)\n```\n"


def test_humaneval_takes_the_solution_not_a_trailing_usage_example() -> None:
    reply = ("Here is the completed function:\n\n```python\nfrom typing import List\n\n"
             "def below_zero(operations: List[int]) -> bool:\n    balance = 0\n"
             "    for op in operations:\n        balance += op\n        if balance < 0:\n"
             "            return True\n    return False\n```\n\n### Example usage\n\n"
             "```python\nprint(below_zero([1, 2, -4, 5]))  # True\n```\n")
    code = HumanEval().extract(HE_REFERENCE, reply)
    assert code is not None and code.startswith("from typing import List\n\ndef below_zero(")


def test_humaneval_puts_a_bare_body_under_the_prompts_signature() -> None:
    reply = ("```python\n    return any(sum(operations[:i + 1]) < 0 "
             "for i in range(len(operations)))\n```")
    code = HumanEval().extract(HE_REFERENCE, reply)
    assert code is not None
    assert code.startswith("def below_zero(operations: List[int]) -> bool:\n")
    assert code.endswith("    return any(sum(operations[:i + 1]) < 0 for i in range(len("
                         "operations)))\n")
    program = HumanEval().program_runs(HE_REFERENCE, code)[0].source
    assert "from typing import List\n\n\ndef below_zero" in program  # the prompt's preamble
    assert program.rstrip().endswith("check(below_zero)")


def test_mbpp_prefers_the_block_defining_the_tested_function() -> None:
    reference = {"entry_point": "is_even", "tests": ["assert is_even(2)"], "setup": ""}
    reply = ("```python\ndef is_even(n):\n    return n % 2 == 0\n```\nTest it:\n```python\n"
             "assert is_even(4)\nprint('ok')\n```")
    assert MBPP().extract(reference, reply) == "def is_even(n):\n    return n % 2 == 0\n"


def test_code_contests_skips_sample_blocks_after_the_program() -> None:
    reply = ("```python\nn = int(input())\nprint(n * 2)\n```\n\nFor the sample input\n```\n3\n"
             "```\nit prints\n```\n6\n```")
    assert CodeContests().extract({}, reply) == "n = int(input())\nprint(n * 2)\n"


@pytest.mark.parametrize(("test", "expected"), [
    ("assert add(1, 2) == 3", "assert add(1, 2) == 3\n"),
    ("1. assert add(1, 2) == 3", "assert add(1, 2) == 3\n"),
    ("Test 2: `assert add(-1, 1) == 0`", "assert add(-1, 1) == 0\n"),
    ("- assert add(0, 0) == 0  # zeros", "assert add(0, 0) == 0  # zeros\n"),
    ("```python\nresult = add(2, 2)\nassert result == 4, f'got {result}'\n```",
     "result = add(2, 2)\nassert result == 4, f'got {result}'\n"),
    ("assert sort_list(\n    [3, 1, 2]\n) == [1, 2, 3]",
     "assert sort_list(\n    [3, 1, 2]\n) == [1, 2, 3]\n"),
    ("This checks the empty case:\nassert add(0, 0) == 0\nIt should pass because zero plus "
     "zero is zero.", "assert add(0, 0) == 0\n"),
])
def test_assert_tests_in_the_forms_models_write(test: str, expected: str) -> None:
    assert read_assert_test(test) == expected


def test_an_assertless_test_is_not_read() -> None:
    assert read_assert_test("The function should return 3 when given 1 and 2.") is None
    assert read_assert_test("print(add(1, 2))") is None


@pytest.mark.parametrize(("test", "expected"), [
    ("Input:\n```\n3\n1 2 3\n```\nOutput:\n```\n6\n```", ("3\n1 2 3\n", "6\n")),
    ("**Input:**\n```\n2\n```\n**Expected output:**\n```\n4\n```\nExplanation: 2 * 2 = 4.",
     ("2\n", "4\n")),
    ("Test case 1\nInput:\n5\n1 2 3 4 5\nExpected Output:\n15\n\nExplanation: the sum.",
     ("5\n1 2 3 4 5\n", "15\n")),
    ("Input: `7`  Output: `YES`", ("7\n", "YES\n")),
])
def test_io_tests_in_the_forms_models_write(test: str, expected: tuple[str, str]) -> None:
    assert read_io_test(test) == expected


def test_an_io_test_without_output_is_not_read() -> None:
    assert read_io_test("Input:\n```\n3\n```\n(the answer should be small)") is None


def test_generated_test_runs_name_the_unread_ones() -> None:
    runs, unread = CodeContests().generated_test_runs(
        {"time_limit_s": 1.0}, "print(int(input()) * 2)\n",
        ["Input:\n```\n2\n```\nOutput:\n```\n4\n```", "It should double the number."])
    assert [(r.stdin, r.expected_stdout, r.timeout_s) for r in runs] == [("2\n", "4\n", 3.0)]
    assert unread == ["It should double the number."]


def test_real_replies_end_with_usage_or_output_blocks(datasets: Path) -> None:
    """Qwen2-72B's MT-Bench coding answers (a real model's replies, read from the datasets):
    questions 125 and 130 end with a usage example or the printed output, after the function.
    The plain last block would be that example; the block defining the function is taken."""
    answers = {}
    path = datasets / "mt_bench" / "model_answer" / "Qwen2-72B-Instruct.jsonl"
    for line in path.read_text().splitlines():
        row = json.loads(line)
        answers[row["question_id"]] = row["choices"][0]["turns"]
    for question, function in ((125, "find_HCA"), (130, "find_common_elements")):
        for reply in answers[question]:
            assert not defines(extract_code(reply) or "", function)  # the plain rule
            reference = {"entry_point": function, "tests": [], "setup": ""}
            assert defines(MBPP().extract(reference, reply) or "", function), question
