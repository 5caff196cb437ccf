"""With a seed, answers are a pure function of (LLM, messages, seed, temperature); without one,
every request is a fresh sample (Archon sends no seed)."""

from __future__ import annotations

import httpx

from benchmarks.synth_math import generate

from .conftest import Sim
from .helpers import answer, chat, texts

# A level-3 problem: sim-small is right on it only some of the time.
PROBLEM = generate(0, 3)[2]
PROMPT = f"{PROBLEM.question}\n\nShow your steps and end with a line 'Answer: N'."


def test_the_same_seed_gives_the_same_answer(sim: Sim) -> None:
    with sim.client() as client:
        first = texts(chat(client, "sim-small", PROMPT, seed=11))
        again = texts(chat(client, "sim-small", PROMPT, seed=11))
        # Whitespace does not change the question, so it does not change the answer either.
        spaced = texts(chat(client, "sim-small", PROMPT.replace(" ", "  "), seed=11))
    assert first == again == spaced


def test_twenty_seeds_give_more_than_one_answer(sim: Sim) -> None:
    with sim.client() as client:
        answers = {
            answer(texts(chat(client, "sim-small", PROMPT, seed=s))[0])
            for s in range(20)
        }
    assert len(answers) > 1
    assert PROBLEM.answer in answers


def test_n_choices_are_independent_samples_and_choice_0_is_the_seeds_sample(sim: Sim) -> None:
    with sim.client() as client:
        many = texts(chat(client, "sim-small", PROMPT, seed=5, n=12))
        one = texts(chat(client, "sim-small", PROMPT, seed=5))
    assert many[0] == one[0]
    assert len({answer(t) for t in many}) > 1


def test_temperature_zero_is_greedy_every_seed_gives_the_same_answer(sim: Sim) -> None:
    with sim.client() as client:
        answers = {
            texts(chat(client, "sim-small", PROMPT, seed=s, temperature=0))[0] for s in range(8)
        }
    assert len(answers) == 1


def test_anthropic_requests_take_the_seed_from_a_header_or_the_body(sim: Sim) -> None:
    body = {
        "model": "sim-small",
        "max_tokens": 400,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    with sim.client() as client:
        by_header = {
            client.post("/v1/messages", json=body, headers={"x-sim-seed": str(s)}).json()[
                "content"
            ][0]["text"]
            for s in range(20)
        }
        by_body = client.post("/v1/messages", json={**body, "seed": 3}).json()
        by_header_3 = client.post("/v1/messages", json=body, headers={"x-sim-seed": "3"}).json()
    assert len(by_header) > 1
    assert by_body["content"] == by_header_3["content"]


def test_without_a_seed_repeated_requests_are_fresh_samples(sim: Sim) -> None:
    with sim.client() as client:
        openai_replies = [texts(chat(client, "sim-small", PROMPT))[0] for _ in range(12)]
        body = {"model": "sim-small", "max_tokens": 400,
                "messages": [{"role": "user", "content": PROMPT}]}
        anthropic_replies = [
            client.post("/v1/messages", json=body).json()["content"][0]["text"]
            for _ in range(12)
        ]
        many = texts(chat(client, "sim-small", PROMPT, n=6))
    assert len({answer(t) for t in openai_replies}) > 1
    assert len(set(anthropic_replies)) > 1
    assert len({answer(t) for t in many}) > 1


def test_an_unknown_question_gets_a_plausible_answer_and_is_counted(sim: Sim) -> None:
    question = "A farmer has 12 cows and buys 5 more. How many cows are there?"
    before = httpx.get(f"{sim.url}/health").json()["unplaced"]
    with sim.client() as client:
        reply = texts(chat(client, "sim-large", question + " Reply 'Answer: N'.", seed=1))[0]
        critique = texts(chat(client, "sim-large", (
            f"{question}\n\n[1] Answer: 17\n[2] Answer: 60\n\nEvaluate the strengths and "
            "weaknesses of each response."), seed=1))[0]
    assert answer(reply).isdigit()
    assert "[1]" in critique and "[2]" in critique and "Strengths" in critique
    assert httpx.get(f"{sim.url}/health").json()["unplaced"] == before + 2


def test_a_plain_prompt_that_contains_a_known_question_is_recognised(sim: Sim) -> None:
    easy = generate(0, 1)[0]  # level 1: far below sim-frontier's ability
    prompt = f"Solve this problem.\n{easy.question}\nReply with 'Answer: N' at the end."
    with sim.client() as client:
        reply = texts(chat(client, "sim-frontier", prompt, temperature=0))[0]
    assert answer(reply) == easy.answer
    assert easy.solution[0] in reply  # the worked steps of this very problem
