"""The techniques' parsers on replies as real LLMs write them: the forms a small real model
(Qwen2.5-Coder-0.5B and SmolLM2-135M through llama.cpp, bench/real_llm.py) and larger ones
use, and the ones that must be refused rather than guessed."""

from __future__ import annotations

import pytest

from worker.techniques import critic_prompt, ranker_prompt, unit_tests_prompt, verifier_prompt
from worker.techniques.base import ReplyError

RANKINGS: list[tuple[str, int, int, list[int] | None]] = [
    # (reply, candidates, needed, expected order or None for a refusal)
    ("[2] > [1] > [3]", 3, 1, [2, 1, 3]),
    ("Ranking: [3] > [1] > [2]", 3, 3, [3, 1, 2]),
    ("Ranking: 3 > 2 > 1", 3, 3, [3, 2, 1]),
    ("**Ranking:** [2] > [3] > [1]", 3, 3, [2, 3, 1]),
    ("Answer: [1] > [3] > [2]\nI preferred 1 because it adds correctly.", 3, 3, [1, 3, 2]),
    ("Reasoning first.\n\nFinal ranking: [4]>[2]>[1]>[3]", 4, 4, [4, 2, 1, 3]),
    ("Response 2 > Response 3 > Response 1", 3, 3, [2, 3, 1]),
    ("[Response 2] > [Response 1]", 2, 2, [2, 1]),
    ("The best is [2]. Ranking: [2] > [1]", 2, 1, [2, 1]),
    ("- Ranking: [1] > [2] > [3] > [4] > [5]", 5, 5, [1, 2, 3, 4, 5]),
    ("2 > 3", 3, 1, [2, 3, 1]),  # partial, covering top_k 1: the rest follow in input order
    ("[3] > [1]", 4, 2, [3, 1, 2, 4]),
    ("Since 5 > 3 the second is right.\nRanking: [2] > [1] > [3]", 3, 3, [2, 1, 3]),
    ("Ranking: [1] > [3] > [2]\nAlso 10 > 7 holds.", 3, 3, [1, 3, 2]),
    # refused
    ("[2] > [1] > [3]\n\nTherefore, the correct answer is [3] > [2] > [1].", 3, 1, None),
    ("[2] > [1]\n\nExplanation...\n\n[3] > [1]", 3, 1, None),
    ("Ranking: [4] > [1] > [2] > [3]", 3, 1, None),  # a copied example: [4] does not exist
    ("Ranking: [1] > [1] > [2]", 3, 1, None),
    ("[2] > [1]", 3, 3, None),  # names 2 where 3 are needed
    ("I think the second one is best.", 3, 1, None),
    ("1. 266\n2. 43\n3. 800", 3, 1, None),
    ("", 3, 1, None),
]


@pytest.mark.parametrize(("reply", "count", "needed", "expected"), RANKINGS)
def test_rankings(reply: str, count: int, needed: int, expected: list[int] | None) -> None:
    if expected is None:
        with pytest.raises(ReplyError):
            ranker_prompt.parse(reply, count, needed)
    else:
        assert ranker_prompt.parse(reply, count, needed) == expected


VERDICTS: list[tuple[str, bool | None]] = [
    ("The steps add up.\nVerdict: correct", True),
    ("Verdict: incorrect", False),
    ("**Verdict:** Correct", True),
    ("**Verdict: Incorrect**", False),
    ("Verdict - CORRECT", True),
    ("Verdict: incorrect.\nThe answer is incorrect because 180 - 54 = 126.", False),
    ("It checks out. [Correct]", True),
    ("The final number is off. [Incorrect]", False),
    ("Thus the response is correct.", True),
    ("So the response is not correct.", False),
    ("Overall, the response is entirely wrong.", False),
    ("\\[ \\text{Verdict: incorrect} \\]", False),
    ("Verdict: Correct\n\nReasoning: 3 + 4 = 7.", True),
    ("At first I thought Verdict: incorrect, but rechecking: Verdict: correct", True),
    ("Verdict: right", True),
    ("Verdict: wrong", False),
    # refused
    ("Verdict: correct or incorrect", None),
    ("Verdict: 540\nThe correct answer is not provided as a decimal value.", None),
    ("I'm ready to help. What's your next question?", None),
    ("The output confirms that James runs 540 meters. The correct answer is indeed 540.", None),
]


@pytest.mark.parametrize(("reply", "expected"), VERDICTS)
def test_verdicts(reply: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(ReplyError):
            verifier_prompt.parse(reply)
    else:
        assert verifier_prompt.parse(reply) is expected


CRITIQUES: list[tuple[str, int, set[int] | None]] = [
    ("[1]\nStrengths:\n- right sum\nWeaknesses:\n- terse\n\n[2]\nStrengths: clear\n"
     "Weaknesses: wrong sum", 2, {1, 2}),
    ("[1] [Strengths]: adds well.\n[Weaknesses]: none.\n\n[2] [Strengths]: short.\n"
     "[Weaknesses]: wrong.", 2, {1, 2}),
    ("**[1]**\n**Strengths:** a\n**Weaknesses:** b\n\n**[2]**\n**Strengths:** c\n"
     "**Weaknesses:** d", 2, {1, 2}),
    ("### Response 1\nStrengths: a\nWeaknesses: b\n### Response 2\nStrengths: c\n"
     "Weaknesses: d", 2, {1, 2}),
    ("Response 1: Strengths - a. Weaknesses - b.\nResponse 2: Strengths - c. Weaknesses - d.",
     2, {1, 2}),
    ("Candidate 1\nStrengths: a\nWeaknesses: b\nCandidate 2\nStrengths: c\nWeaknesses: d\n"
     "Candidate 3\nStrengths: e\nWeaknesses: f", 3, {1, 2, 3}),
    # a critique of a response that does not exist is ignored
    ("[1]\nStrengths: a\nWeaknesses: b\n[2]\nStrengths: c\nWeaknesses: d\n[3]\nStrengths: e\n"
     "Weaknesses: f", 2, {1, 2}),
    # refused: one response has no weaknesses, or no critique at all
    ("[1]\nStrengths: a\nWeaknesses: b\n[2]\nStrengths: c", 2, None),
    ("1. 10.65\n2. 940\n3. 98", 3, None),
    ("Both responses look fine to me.", 2, None),
]


@pytest.mark.parametrize(("reply", "count", "expected"), CRITIQUES)
def test_critiques(reply: str, count: int, expected: set[int] | None) -> None:
    if expected is None:
        with pytest.raises(ReplyError):
            critic_prompt.parse(reply, count)
    else:
        assert set(critic_prompt.parse(reply, count)) == expected


UNIT_TESTS: list[tuple[str, int | None, list[str] | None]] = [
    ("1. The answer states 7.\n2. The answer adds 3 and 4.", 2,
     ["The answer states 7.", "The answer adds 3 and 4."]),
    ("1) States 7\n2) Adds 3 and 4\n3) Is one sentence", 2, ["States 7", "Adds 3 and 4"]),
    ("Test 1: states 7\nTest 2: adds 3 and 4", 2, ["states 7", "adds 3 and 4"]),
    ("**1.** states 7\n**2.** adds", 2, ["states 7", "adds"]),
    ("- states 7\n- adds 3 and 4", None, ["states 7", "adds 3 and 4"]),
    ("['The answer mentions 7', 'The answer is short']", None,
     ["The answer mentions 7", "The answer is short"]),
    ("Here are the tests:\n1. states 7\n2. adds", None, ["states 7", "adds"]),
    ("1. only one", 2, None),  # fewer than asked
    ("```python\nprint(540)\n```", None, None),
    ("", 3, None),
]


@pytest.mark.parametrize(("reply", "cap", "expected"), UNIT_TESTS)
def test_unit_tests(reply: str, cap: int | None, expected: list[str] | None) -> None:
    if expected is None:
        with pytest.raises(ReplyError):
            unit_tests_prompt.parse_tests(reply, cap)
    else:
        assert unit_tests_prompt.parse_tests(reply, cap) == expected


TEST_RESULTS: list[tuple[str, int, list[bool] | None]] = [
    ("Test 1: pass\nTest 2: fail", 2, [True, False]),
    ("Unit Test #1: [Passed]\nUnit Test #2: [Failed]\nUnit Test #3: [Passed]", 3,
     [True, False, True]),
    ("Test 1: The answer states the final result 20.\n- Passed\n\nTest 2: The answer shows "
     "the steps.\n- Failed", 2, [True, False]),
    ("Reasoning...\n- Test 1: PASS\n- Test 2: FAIL", 2, [True, False]),
    ("1. Pass\n2. Fail", 2, [True, False]),
    ("**Test 1:** passes\n**Test 2:** fails", 2, [True, False]),
    ("Test 1: Passed\nTest 2: Passed\nTest 3: Passed", 3, [True, True, True]),
    ("Test 1: fail at first sight... Test 1: pass after all\nTest 2: pass", 2, [True, True]),
    ("Test 1: pass", 2, None),  # test 2 has no result
    ("The answer is 10.95", 1, None),
]


@pytest.mark.parametrize(("reply", "count", "expected"), TEST_RESULTS)
def test_unit_test_results(reply: str, count: int, expected: list[bool] | None) -> None:
    if expected is None:
        with pytest.raises(ReplyError):
            unit_tests_prompt.parse_results(reply, count)
    else:
        assert unit_tests_prompt.parse_results(reply, count) == expected
