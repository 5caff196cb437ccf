"""Archon-style prompts (wording written here in the manner of Archon's own prompts, neither
itas's techniques' text nor Archon's verbatim) sent to the simulator through the OpenAI SDK;
the replies are read with the techniques' own parsers. The simulator must understand any
reasonable wording, as a real LLM would, and answer in the format asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from benchmarks.synth_math import generate
from tests.engine import CANARY_KEYS, Engine
from worker.techniques import critic_prompt, ranker_prompt, unit_tests_prompt, verifier_prompt

pytestmark = pytest.mark.slow

PROBLEM = generate(seed=0, count=7)[6]
WRONG = str(int(PROBLEM.answer) + 3)
RESPONSES = [f"{' '.join(PROBLEM.solution)} So the result is {PROBLEM.answer}.",
             f"I estimate roughly {WRONG}, the result is {WRONG}.",
             f"Adding everything gives {int(PROBLEM.answer) * 2}."]
SEEDS = range(6)


@pytest.fixture(scope="module")
def client(engine: Engine) -> Iterator[OpenAI]:
    sdk = OpenAI(base_url=f"{engine.simulator_url}/v1", api_key=CANARY_KEYS[0], max_retries=0)
    yield sdk
    sdk.close()


def ask(client: OpenAI, system: str, prompt: str, seed: int, llm: str = "sim-critic") -> str:
    reply = client.chat.completions.create(
        model=llm, seed=seed, temperature=0.7, max_tokens=1024,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}])
    text = reply.choices[0].message.content
    assert text and reply.choices[0].finish_reason == "stop"
    return text


def bracketed(responses: list[str]) -> str:
    return "".join(f"\n[{i}] {r}" for i, r in enumerate(responses, 1))


def test_an_archon_style_ranker_prompt_gets_a_ranking(client: OpenAI) -> None:
    prompt = (f"You are given {len(RESPONSES)} responses, each labelled with a numerical "
              f"identifier []. Rank them by their relevance to the instruction: "
              f"{PROBLEM.question}.\n{bracketed(RESPONSES)}\n\nInstruction: "
              f"{PROBLEM.question}.\n\nRank the {len(RESPONSES)} responses above in descending "
              "order of relevance, listing all of them by identifier. Use the format [] > [], "
              "for example [3] > [1]. Put the ranking first, on a line starting with Answer:, "
              "then explain how you reached it.")
    firsts = []
    for seed in SEEDS:
        order = ranker_prompt.parse(ask(client, "You rank answers.", prompt, seed), 3, 3)
        firsts.append(order[0])
    assert firsts.count(1) > len(SEEDS) / 3  # the right one is found more often than by chance


def test_an_archon_style_critic_prompt_gets_a_critique_per_response(client: OpenAI) -> None:
    prompt = (f"Below are {len(RESPONSES)} responses, each marked by a numerical identifier "
              f"[]. Assess the strengths and weaknesses of each with respect to the "
              f"instruction: {PROBLEM.question}.\n{bracketed(RESPONSES)}\n\nFor every "
              "response, begin with its identifier (such as [1]), then list its strengths and "
              "its weaknesses in this layout: [1]\nStrengths:\n- ...\nWeaknesses:\n- ...\n\n"
              "Cover every response and write nothing before or after the critiques.")
    for seed in SEEDS:
        critiques = critic_prompt.parse(ask(client, "You are a critical evaluator.", prompt,
                                            seed), 3)
        assert set(critiques) == {1, 2, 3}


def test_an_archon_style_fuser_prompt_gets_one_free_text_answer(client: OpenAI) -> None:
    prompt = (f"Several open-source models answered the latest user query, which is "
              f"{PROBLEM.question}. Your job is to merge their responses into a single, "
              "accurate, well-structured reply; some of them may be wrong, so weigh them "
              "critically instead of copying one.\nOnce more, the query: "
              f"{PROBLEM.question}\nModel responses:"
              + "".join(f"\n{i}. {r}" for i, r in enumerate(RESPONSES, 1)))
    for seed in SEEDS:
        text = ask(client, "You merge several answers into one.", prompt, seed, "sim-large")
        assert "[1]" not in text and "Strengths" not in text  # an answer, not a review
        assert any(ch.isdigit() for ch in text)


def test_an_archon_style_verifier_prompt_gets_a_verdict(client: OpenAI) -> None:
    verdicts = {}
    for number, response in ((1, RESPONSES[0]), (2, RESPONSES[1])):
        prompt = ("Judge whether the response below answers the query correctly.\n"
                  "- Weigh how the response fits the query and whether its logic holds.\n"
                  "- Explain your judgement first, then end with exactly one of '[Correct]' "
                  "or '[Incorrect]'.\n\n"
                  f"Query: {PROBLEM.question}\nResponse: {response}\n")
        verdicts[number] = [verifier_prompt.parse(ask(client, "You verify answers.", prompt,
                                                       seed)) for seed in SEEDS]
    assert sum(verdicts[1]) > sum(verdicts[2])  # the right answer is judged correct more often


def test_archon_style_unit_test_prompts_get_tests_and_verdicts(client: OpenAI) -> None:
    prompt = ("For the query below, write 3 unit tests that check whether a response to it "
              "is right. Phrase each like 'The answer states ...' with the expected outcome, "
              "and output only a list of strings, e.g. ['unit test #1', 'unit test #2'].\n\n"
              f"Query: {PROBLEM.question}\n")
    tests = unit_tests_prompt.parse_tests(ask(client, "You write unit tests.", prompt, 0), 3)
    assert len(tests) == 3
    judge = ("Given a query, a candidate response and unit tests, decide whether the response "
             "passes each test. Reason first, then end with one verdict per line in the form:\n"
             "Unit Test #1: [Passed]\nUnit Test #2: [Failed]\n\n"
             f"Query: {PROBLEM.question}\n\nCandidate Response: {RESPONSES[0]}\n\n"
             "Unit Tests:\n" + "".join(f"Unit Test #{i}: {t}\n" for i, t in enumerate(tests, 1)))
    for seed in SEEDS:
        results = unit_tests_prompt.parse_results(
            ask(client, "You evaluate unit tests.", judge, seed), 3)
        assert len(results) == 3
