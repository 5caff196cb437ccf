"""Answers are a pure function of (LLM, messages, seed, temperature); seeds give new samples."""

from __future__ import annotations

from benchmarks.synth_math import generate
from simulator import protocol
from simulator.protocol import Role

from .conftest import Sim
from .helpers import chat, texts

# A level-3 problem: sim-small is right on it only some of the time.
PROBLEM = generate(0, 3)[2]
PROMPT = protocol.build_prompt(Role.GENERATE, PROBLEM.question)


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
            protocol.parse_answer(texts(chat(client, "sim-small", PROMPT, seed=s))[0])
            for s in range(20)
        }
    assert len(answers) > 1
    assert PROBLEM.answer in answers


def test_n_choices_are_independent_samples_and_choice_0_is_the_seeds_sample(sim: Sim) -> None:
    with sim.client() as client:
        many = texts(chat(client, "sim-small", PROMPT, seed=5, n=12))
        one = texts(chat(client, "sim-small", PROMPT, seed=5))
    assert many[0] == one[0]
    assert len({protocol.parse_answer(t) for t in many}) > 1


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


def test_an_unknown_question_gets_a_plausible_answer(sim: Sim) -> None:
    question = "A farmer has 12 cows and buys 5 more. How many cows are there?"
    with sim.client() as client:
        reply = texts(chat(client, "sim-large", question, seed=1))[0]
    assert protocol.parse_answer(reply).isdigit()


def test_a_plain_prompt_that_contains_a_known_question_is_recognised(sim: Sim) -> None:
    easy = generate(0, 1)[0]  # level 1: far below sim-frontier's ability
    prompt = f"Solve this problem.\n{easy.question}\nReply with the number at the end."
    with sim.client() as client:
        reply = texts(chat(client, "sim-frontier", prompt, temperature=0))[0]
    assert protocol.parse_answer(reply) == easy.answer
    assert easy.solution[0] in reply  # the worked steps of this very problem
