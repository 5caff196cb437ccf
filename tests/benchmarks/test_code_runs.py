"""Code benchmarks' answers run through the sandbox (worker.code_runs, the worker's own path):
right code passes, wrong code fails, and each run's result is kept. These need the sandbox
(bubblewrap): they run the real path, never ``--unsafe-no-sandbox``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.code.code_contests import CodeContests
from benchmarks.code.humaneval import HumanEval
from benchmarks.code.mbpp import MBPP
from benchmarks.registry import load_questions
from worker.code_runs import score_code_answer

CODE_CONTESTS = load_questions("code-contests", split="all")


@pytest.mark.parametrize("item", CODE_CONTESTS, ids=[i.item_id for i in CODE_CONTESTS])
def test_each_packaged_problem_passes_its_solution_and_fails_its_wrong_one(item: object) -> None:
    from benchmarks.base import Item

    assert isinstance(item, Item)
    benchmark = CodeContests()
    right = score_code_answer(benchmark, item.reference,
                              benchmark.reference_solutions(item.reference)[0])
    assert right.score == 1.0, right.note
    assert right.details is not None and len(right.details) == len(item.reference["tests"])
    assert all(d["passed"] and d["status"] == "ok" for d in right.details)
    for wrong in benchmark.incorrect_solutions(item.reference):
        scored = score_code_answer(benchmark, item.reference, wrong)
        assert scored.score == 0.0, item.item_id
        assert scored.details is not None and not all(d["passed"] for d in scored.details)


def test_a_too_slow_solution_times_out() -> None:
    item = next(i for i in CODE_CONTESTS if i.item_id == "1011_C. Range Sums")
    scored = score_code_answer(CodeContests(), item.reference,
                               CodeContests().incorrect_solutions(item.reference)[0])
    assert scored.score == 0.0
    assert scored.details is not None
    assert [d["status"] for d in scored.details if not d["passed"]] == ["timeout"]


def test_a_reply_without_code_scores_zero_with_no_run() -> None:
    scored = score_code_answer(CodeContests(), CODE_CONTESTS[0].reference, "")
    assert (scored.extracted, scored.score, scored.details) == (None, 0.0, None)


def test_humaneval_chat_reply_and_wrong_reply(datasets: Path) -> None:
    item = load_questions("humaneval", split="all", limit=1)[0]
    reply = ("Here is the completed function:\n\n```python\nfrom typing import List\n\n\n"
             "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
             "    return any(abs(a - b) < threshold\n"
             "               for i, a in enumerate(numbers) for b in numbers[i + 1:])\n\n\n"
             "if __name__ == '__main__':  # reads stdin: must not run\n"
             "    print(has_close_elements(eval(input()), 0.5))\n```\n\n"
             "Example:\n```python\nprint(has_close_elements([1.0, 2.0], 0.5))\n```\n")
    assert score_code_answer(HumanEval(), item.reference, reply).score == 1.0
    wrong = reply.replace("< threshold", "<= threshold - 1")
    scored = score_code_answer(HumanEval(), item.reference, wrong)
    assert scored.score == 0.0 and scored.note and "AssertionError" in scored.note


def test_mbpp_details_say_which_asserts_failed(datasets: Path) -> None:
    item = load_questions("mbpp", split="all", limit=1)[0]  # remove_Occ
    # Wrong for words of three letters or fewer ("PHP"), the third assert's.
    reply = ("```python\ndef remove_Occ(s, ch):\n"
             "    return s.replace(ch, '') if len(s) > 3 else s\n```")
    scored = score_code_answer(MBPP(), item.reference, reply)
    assert scored.score == 0.0 and scored.details is not None
    assert [(d["name"], d["passed"]) for d in scored.details] == [
        ("assert 1", True), ("assert 2", True), ("assert 3", False)]


def test_executed_generated_tests(datasets: Path) -> None:
    item = load_questions("mbpp", split="all", limit=1)[0]
    code = ("def remove_Occ(s, ch):\n"
            "    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n")
    runs, unread = MBPP().generated_test_runs(item.reference, code, [
        "1. assert remove_Occ('abcab', 'a') == 'bcb'",
        "```python\nassert remove_Occ('xx', 'x') == ''\n```",
        "assert remove_Occ('abc', 'z') == 'abcz'",
        "It should remove both ends."])
    assert unread == ["It should remove both ends."]
    from worker.code_runs import run_programs

    outcomes = run_programs(runs)
    assert [o.status for o in outcomes] == ["ok", "ok", "error"]
