"""Tests written and code judged for code problems, over HTTP: executable tests in the asked
form (asserts for a function, Input/Output blocks for a program reading stdin), truthful by
skill; rank, fuse, critique and apply-tests perceive which program a candidate is; code the
simulator did not write has unknown quality and is counted as foreign.
"""

from __future__ import annotations

import re

import httpx

from . import code_helpers as ch
from .conftest import Sim

STRONG, WEAK, JUDGE = "sim-frontier", "sim-tiny", "sim-critic"
ASK_ASSERTS = ("Task:\n{task}\n\nCome up with a few checks first. Write {n} unit tests for "
               "this task, each one a Python assert statement that calls the function.")
ASK_IO = ("{task}\n\nPlease write {n} tests for a program solving this. For each test give "
          "Input: and a fenced block with the exact input, then Output: and a fenced block "
          "with the expected output.")


def truthful_share(client: httpx.Client, llm: str, items: list[ch.Row]) -> float:
    def one(row: ch.Row) -> list[bool]:
        reply = ch.chat(client, llm, ASK_ASSERTS.format(task=row["prompt"], n=4), seed=3)
        asserts = [line for line in ch.code_of(reply).splitlines() if line.strip()]
        assert len(asserts) == 4 and all(a.startswith("assert ") for a in asserts), reply
        assert all(ch.entry_point(row) + "(" in a for a in asserts), asserts
        return ch.run_asserts(row["prompt"] + row["canonical_solution"], asserts)

    results = [ok for oks in ch.parallel(one, items) for ok in oks]
    return sum(results) / len(results)


def test_written_asserts_call_the_function_and_are_truthful_by_skill(sim: Sim) -> None:
    items = ch.humaneval()[:20]
    with sim.client() as client:
        strong, weak = truthful_share(client, STRONG, items), truthful_share(client, WEAK, items)
    print(f"truthful asserts: {STRONG} {strong:.2f}, {WEAK} {weak:.2f}")
    assert strong >= 0.9, strong
    assert weak < strong - 0.1, (strong, weak)


def test_written_io_tests_are_input_and_output_blocks_of_the_problem(sim: Sim) -> None:
    truthful = []
    with sim.client() as client:
        for row in ch.contests():
            reply = ch.chat(client, STRONG, ASK_IO.format(task=row["description"], n=3),
                            seed=1, temperature=0)
            pairs = re.findall(r"Input:\n```\n(.*?)```\nOutput:\n```\n(.*?)```", reply, re.S)
            assert len(pairs) == 3, reply
            known = [(i.strip(), o.strip()) for kind in ("public_tests", "private_tests",
                                                         "generated_tests")
                     for i, o in zip(row[kind]["input"], row[kind]["output"], strict=True)]
            for given, expected in pairs:
                outputs = [o for i, o in known if i == given.strip()]
                assert outputs, f"an input the problem does not have: {given!r}"
                truthful.append(expected.strip() == outputs[0])
    assert sum(truthful) / len(truthful) >= 0.65, truthful


def _candidates(row: ch.Row, client: httpx.Client) -> tuple[list[str], list[bool]]:
    """Replies of the weak LLM over seeds (right and wrong ones), and which pass."""
    replies = [ch.chat(client, WEAK, ch.mbpp_prompt(row), seed=s) for s in range(6)]
    return replies, [ch.passes("mbpp", row, ch.code_of(r)) for r in replies]


def _numbered(replies: list[str]) -> str:
    return "\n\n".join(f"Response {i}:\n{r}" for i, r in enumerate(replies, start=1))


def test_a_skilled_ranker_puts_passing_code_first_and_a_fuser_returns_it(sim: Sim) -> None:
    items = ch.mbpp()[:40]

    def one(row: ch.Row) -> tuple[float, bool, bool] | None:
        with sim.client() as client:
            replies, ok = _candidates(row, client)
            if all(ok) or not any(ok):
                return None
            task = f"Problem: {row['prompt']}\n\n{_numbered(replies)}\n\n"
            ranked = ch.chat(client, JUDGE, task + "Rank the responses from best to worst. "
                             "End with a line such as 2 > 1 > 3.", seed=0)
            order = [int(n) for n in re.findall(r"\d+", ranked.strip().splitlines()[-1])]
            fused = ch.chat(client, JUDGE, task + "Merge these into a single response that "
                            "is better than each of them.", seed=0)
        return (sum(ok) / len(ok), ok[order[0] - 1],
                ch.passes("mbpp", row, ch.code_of(fused)))

    found = [r for r in ch.parallel(one, items) if r is not None]
    mixed = len(found)
    chances = sum(r[0] for r in found)
    top_passes = sum(r[1] for r in found)
    fused_passes = sum(r[2] for r in found)
    print(f"MBPP, 6 samples of {WEAK}, judge {JUDGE}: {mixed} mixed problems, chance "
          f"{chances / mixed:.2f}, top-ranked {top_passes / mixed:.2f}, fused "
          f"{fused_passes / mixed:.2f}")
    assert mixed >= 8, mixed
    assert top_passes / mixed > chances / mixed + 0.2, (top_passes, chances, mixed)
    assert fused_passes / mixed > chances / mixed + 0.2, (fused_passes, chances, mixed)


def test_apply_tests_and_critique_see_a_broken_candidate(sim: Sim) -> None:
    row = ch.humaneval()[0]
    reference = row["prompt"] + row["canonical_solution"]
    # The simulator's own syntax-error mutation of this problem: a loop header's colon dropped.
    broken = reference.replace("for idx, elem in enumerate(numbers):",
                               "for idx, elem in enumerate(numbers)")
    tests = "\n".join(f"Test {i}: {a}" for i, a in enumerate(
        ["assert has_close_elements([1.0, 2.0, 3.9], 0.3) == False",
         "assert has_close_elements([1.0, 1.1], 0.5) == True"], start=1))
    with sim.client() as client:
        def verdicts(code: str) -> list[str]:
            prompt = (f"Function to check:\n{row['prompt']}\n\nResponse:\n```python\n{code}\n```"
                      f"\n\nUnit tests:\n{tests}\n\nDoes the response pass each unit test? "
                      "Answer one line per test, Test N: pass or Test N: fail.")
            return re.findall(r"Test \d+: (pass|fail)", ch.chat(client, STRONG, prompt))

        assert verdicts(reference) == ["pass", "pass"]
        assert "fail" in verdicts(broken)
        critique = ch.chat(client, STRONG, f"Problem:\n{row['prompt']}\n\n"
                           f"Response 1:\n```python\n{broken}\n```\n\nResponse 2:\n```python\n"
                           f"{reference}\n```\n\nCritique each response: strengths and "
                           "weaknesses.")
    first, second = critique.split("Response 2", 1)
    assert "syntax error" in first and "incorrect" in first
    assert "likely correct" in second


def test_code_the_simulator_did_not_write_is_judged_foreign(sim: Sim) -> None:
    row = ch.mbpp()[0]
    foreign = ("```python\ndef remove_Occ(s, ch):\n    i = s.find(ch)\n    if i >= 0:\n"
               "        s = s[:i] + s[i + 1:]\n    j = s.rfind(ch)\n    if j >= 0:\n"
               "        s = s[:j] + s[j + 1:]\n    return s\n```")
    with sim.client() as client:
        mine = ch.chat(client, STRONG, ch.mbpp_prompt(row), temperature=0)
        before = client.get("/health").json()["judged_foreign"]
        ch.chat(client, JUDGE, f"Problem: {row['prompt']}\n\n{_numbered([mine, foreign])}\n\n"
                "Rank the responses from best to worst. End with a line such as 2 > 1.")
        after = client.get("/health").json()["judged_foreign"]
    assert after == before + 1
