"""The simulator reads prompts as an LLM does: any wording gets a reply of the asked role and form.

Every request goes through the official OpenAI SDK to the real server. The wordings are in
tests/simulator/prompts.py: Archon-shaped ones and others with different delimiters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import openai
import pytest

from benchmarks.synth_math import generate

from . import prompts
from .conftest import KEY, ZERO_LATENCY, Sim

PROBLEM = generate(0, 8)[6]  # level 2
RIGHT = "\n".join(PROBLEM.solution) + f"\nAnswer: {PROBLEM.answer}"
WRONG = f"I add the numbers up.\nAnswer: {int(PROBLEM.answer) + 7}"
OTHER = f"Roughly estimating gives {int(PROBLEM.answer) * 2}.\nAnswer: {int(PROBLEM.answer) * 2}"
CANDIDATES = [WRONG, RIGHT, OTHER]


@pytest.fixture()
def client(sim: Sim) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{sim.url}/v1", api_key=KEY, max_retries=0,
                       default_headers=ZERO_LATENCY) as c:
        yield c


def say(client: openai.OpenAI, messages: prompts.Messages, llm: str = "sim-large",
        seed: int = 3) -> str:
    completion = client.chat.completions.create(
        model=llm, messages=messages, seed=seed, max_tokens=2000  # type: ignore[arg-type]
    )
    assert completion.choices[0].finish_reason == "stop"
    return completion.choices[0].message.content or ""


def test_archon_style_ranker_gets_the_ranking_on_the_first_line(client: openai.OpenAI) -> None:
    reply = say(client, prompts.archon_rank(PROBLEM.question, CANDIDATES))
    first = reply.splitlines()[0]
    assert re.fullmatch(r"Answer: \[\d\] > \[\d\] > \[\d\]", first), reply
    assert sorted(prompts.read_ranking(first, 3)) == [1, 2, 3]
    assert len(reply.splitlines()) > 1  # the explanation the prompt asked for follows


def test_archon_style_ranker_with_critiques_still_ranks(client: openai.OpenAI) -> None:
    critiques = ["Strengths:\n- short\nWeaknesses:\n- the final answer is wrong"] * 3
    reply = say(client, prompts.archon_rank(PROBLEM.question, CANDIDATES, critiques))
    assert sorted(prompts.read_ranking(reply.splitlines()[0], 3)) == [1, 2, 3]


def test_tagged_candidates_get_a_bare_ranking_on_the_last_line(client: openai.OpenAI) -> None:
    reply = say(client, prompts.other_rank(PROBLEM.question, CANDIDATES))
    last = reply.strip().splitlines()[-1]
    assert re.fullmatch(r"\d > \d > \d", last), reply
    assert "[" not in last


def test_archon_style_critic_writes_strengths_and_weaknesses_per_identifier(
    client: openai.OpenAI,
) -> None:
    reply = say(client, prompts.archon_critique(PROBLEM.question, CANDIDATES))
    assert reply.startswith("[1]")
    parts = re.split(r"^\[(\d+)\]", reply, flags=re.MULTILINE)[1:]
    numbers, bodies = parts[0::2], parts[1::2]
    assert numbers == ["1", "2", "3"]
    assert all("Strengths:" in b and "Weaknesses:" in b for b in bodies)


def test_markdown_headed_responses_get_a_critique_each(client: openai.OpenAI) -> None:
    reply = say(client, prompts.other_critique(PROBLEM.question, CANDIDATES))
    for n in (1, 2, 3):
        assert f"Response {n}:" in reply
    assert reply.count("Strengths:") == 3 and reply.count("Weaknesses:") == 3


@pytest.mark.parametrize("with_critiques", [False, True])
def test_archon_style_fuser_answers_the_question(
    client: openai.OpenAI, with_critiques: bool
) -> None:
    critiques = ["Strengths:\n- clear\nWeaknesses:\n- none"] * 3 if with_critiques else []
    reply = say(client, prompts.archon_fuse(PROBLEM.question, CANDIDATES, critiques),
                llm="sim-frontier")
    assert ">" not in reply and "Strengths" not in reply and "[Correct]" not in reply
    final = re.search(r"(?:Answer:|answer is|Final answer:\*\*)\s*(-?\d+)", reply)
    assert final is not None, reply


def test_labelled_drafts_are_fused_into_a_boxed_answer(client: openai.OpenAI) -> None:
    reply = say(client, prompts.other_fuse(PROBLEM.question, CANDIDATES), llm="sim-frontier")
    assert prompts.read_boxed(reply) is not None, reply


def test_archon_style_verifier_reasons_then_gives_a_bracketed_verdict(
    client: openai.OpenAI,
) -> None:
    reasoning = say(client, prompts.archon_reason(PROBLEM.question, RIGHT))
    assert "[Correct]" not in reasoning and "[Incorrect]" not in reasoning
    assert "Verdict" not in reasoning
    verdict = say(client, prompts.archon_verdict(PROBLEM.question, RIGHT, reasoning))
    assert ("[Correct]" in verdict) != ("[Incorrect]" in verdict), verdict
    assert verdict.rstrip().endswith(("[Correct]", "[Incorrect]"))


def test_a_yes_no_question_about_an_answer_gets_yes_or_no(client: openai.OpenAI) -> None:
    reply = say(client, prompts.other_verify(PROBLEM.question, WRONG))
    assert reply.strip().splitlines()[-1] in ("Yes", "No"), reply


def test_archon_style_unit_test_generator_returns_a_list_of_strings(
    client: openai.OpenAI,
) -> None:
    tests = prompts.read_python_list(say(client, prompts.archon_write_tests(PROBLEM.question, 4)))
    assert len(tests) == 4
    assert all(t.startswith("The answer") for t in tests)


def test_bullet_unit_tests_come_in_the_asked_number(client: openai.OpenAI) -> None:
    reply = say(client, prompts.other_write_tests(PROBLEM.question, 6))
    assert len([line for line in reply.splitlines() if line.startswith("- ")]) == 6, reply


def test_archon_style_unit_test_evaluator_gives_a_verdict_per_test(
    client: openai.OpenAI,
) -> None:
    tests = prompts.read_python_list(say(client, prompts.archon_write_tests(PROBLEM.question, 5)))
    reply = say(client, prompts.archon_apply_tests(PROBLEM.question, RIGHT, tests))
    assert len(prompts.read_archon_results(reply, 5)) == 5


def test_tagged_answer_and_numbered_tests_get_pass_fail_lines(client: openai.OpenAI) -> None:
    tests = ["The answer states a final value greater than 1.", "The answer shows its steps."]
    reply = say(client, prompts.other_apply_tests(PROBLEM.question, RIGHT, tests))
    assert re.findall(r"^Test (\d): (?:pass|fail)$", reply, re.MULTILINE) == ["1", "2"], reply


@pytest.mark.parametrize(
    ("framing", "pattern"),
    [
        ("Put your final answer within \\boxed{}.", r"\\boxed\{-?\d+\}"),
        ("Write the final number after '####'.", r"^#### -?\d+$"),
        ("End with 'Answer:' followed by the number.", r"^Answer: -?\d+$"),
    ],
)
def test_a_question_is_found_whatever_the_framing_and_answered_in_its_form(
    client: openai.OpenAI, framing: str, pattern: str
) -> None:
    question = f"**Problem.**  {PROBLEM.question.replace(' ', '  ')}"  # markdown, spacing
    reply = say(client, prompts.ask(question, framing, system="You are a helpful assistant."))
    assert re.search(pattern, reply, re.MULTILINE), reply
    assert PROBLEM.solution[0] in reply  # the worked steps of this very problem


def test_the_question_inside_a_judging_prompt_does_not_count_as_unplaced(sim: Sim) -> None:
    def unplaced() -> int:
        return int(httpx.get(f"{sim.url}/health").json()["unplaced"])

    with openai.OpenAI(base_url=f"{sim.url}/v1", api_key=KEY, max_retries=0,
                       default_headers=ZERO_LATENCY) as client:
        before = unplaced()
        say(client, prompts.archon_fuse(PROBLEM.question, CANDIDATES))
        say(client, prompts.other_rank(PROBLEM.question, CANDIDATES))
        assert unplaced() == before
        say(client, prompts.ask("What is the capital of the moon's third ocean?"))
        assert unplaced() == before + 1
