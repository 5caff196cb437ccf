"""The benchmarks' judges: each role found by content, answered in the asked format, over HTTP.

The prompts are the benchmarks' own (read from ../shared/datasets and filled here) and
paraphrases of them (tests/simulator/judge_prompts.py). Answers to judge are the simulator's
own (whose quality is written in their text) and real ones it did not write (Arena-Hard's
gpt-4-0314 answers), which get the default quality and are counted on /health.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import httpx
import pytest

from . import judge_prompts as jp
from .conftest import Sim, require_datasets

STRONG, WEAK, JUDGE = "sim-frontier", "sim-tiny", "sim-frontier"


def post(client: httpx.Client, llm: str, messages: jp.Messages, **params: Any) -> dict[str, Any]:
    body = {"model": llm, "messages": messages, "seed": 0, **params}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def say(client: httpx.Client, llm: str, messages: jp.Messages, **params: Any) -> str:
    return str(post(client, llm, messages, **params)["choices"][0]["message"]["content"])


def user(text: str) -> jp.Messages:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def client(sim: Sim) -> httpx.Client:
    require_datasets()
    with sim.client() as c:
        yield c


def mt_questions() -> list[dict[str, Any]]:
    path = jp.data("mt_bench", "questions.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def arena() -> list[tuple[str, str]]:
    """(question, the real gpt-4-0314 answer) of the first Arena-Hard questions."""
    questions = [json.loads(line) for line in
                 jp.data("arena_hard", "question.jsonl").read_text().splitlines()]
    answers = {}
    for line in jp.data("arena_hard", "model_answer", "gpt-4-0314.jsonl").read_text().splitlines():
        row = json.loads(line)
        answers[row["uid"]] = row["messages"][-1]["content"]["answer"]
    return [(q["prompt"], answers[q["uid"]]) for q in questions]


def test_mt_bench_grades_come_in_the_asked_format_for_every_prompt_kind(
        client: httpx.Client) -> None:
    references = jp.mt_bench_references()
    rows = mt_questions()
    writing = next(q for q in rows if q["category"] == "writing")
    math_q = next(q for q in rows if q["question_id"] in references)
    for q in (writing, math_q):
        turns = q["turns"]
        first = say(client, STRONG, user(turns[0]))
        history = [{"role": "user", "content": turns[0]}, {"role": "assistant", "content": first}]
        second = say(client, STRONG, [*history, {"role": "user", "content": turns[1]}])
        reference = references.get(q["question_id"])
        for messages in (jp.mt_bench_single(turns, [first], reference),
                         jp.mt_bench_single(turns, [first, second], reference),
                         jp.other_single(turns[0], first)):
            text = say(client, JUDGE, messages, temperature=0)
            assert re.search(r"\n\nRating: \[\[\d+\]\]$", text), text  # "Rating: [[5]]"
            assert 1 <= jp.rating(text) <= 10
            assert len(text.split("\n\n")[0]) > 40  # a short explanation first, as asked


def test_a_strong_llms_answer_is_graded_above_a_weak_ones(client: httpx.Client) -> None:
    rows = [q for q in mt_questions() if q["category"] in ("writing", "stem", "humanities")]

    def mean_grade(llm: str) -> float:
        grades = []
        for q in rows:
            answer = say(client, llm, user(q["turns"][0]))
            grades.append(jp.rating(say(client, JUDGE, jp.mt_bench_single(q["turns"], [answer]),
                                        temperature=0)))
        return sum(grades) / len(grades)

    strong, weak = mean_grade(STRONG), mean_grade(WEAK)
    assert strong > weak + 3, (strong, weak)


def test_pairwise_verdicts_use_the_labels_the_prompt_asks_for(client: httpx.Client) -> None:
    question, baseline = arena()[0]
    strong = say(client, STRONG, user(question))
    weak = say(client, WEAK, user(question))
    five = {"A>>B", "A>B", "A=B", "B>A", "B>>A"}
    for build, labels in ((jp.arena_pair, five), (jp.other_five, five),
                          (jp.mt_bench_pair, {"A", "B", "C"}), (jp.other_pair, {"A", "B", "C"})):
        for a, b in ((strong, weak), (weak, strong), (baseline, strong)):
            verdict = jp.label(say(client, JUDGE, build(question, a, b), temperature=0))
            assert verdict in labels
    assert jp.label(say(client, JUDGE, jp.arena_pair(question, strong, weak))) in ("A>>B", "A>B")
    assert jp.label(say(client, JUDGE, jp.other_pair(question, weak, strong))) == "B"


def test_arena_hards_follow_up_turn_gets_the_same_verdict(client: httpx.Client) -> None:
    question, baseline = arena()[1]
    answer = say(client, "sim-large", user(question))
    messages = jp.arena_pair(question, baseline, answer)
    first = say(client, JUDGE, messages, temperature=0)
    cut = first.rsplit("\n\n", 1)[0]  # the judgment without its label, as if truncated
    follow = [*messages, {"role": "assistant", "content": cut},
              {"role": "user", "content": "continue your judgment and finish by outputting a "
                                          "final verdict label"}]
    assert jp.label(say(client, JUDGE, follow, temperature=0)) == jp.label(first)


def test_alpaca_eval_label_is_one_token_with_openai_logprobs(client: httpx.Client) -> None:
    reference = json.loads(jp.data("alpaca_eval", "reference_outputs.json").read_text())
    row = reference[3]
    ours = say(client, STRONG, user(row["instruction"]))
    body = post(client, JUDGE, jp.alpaca_pair(row["instruction"], ours, row["output"]),
                max_tokens=1, logprobs=True, top_logprobs=5, temperature=1)
    choice = body["choices"][0]
    assert choice["message"]["content"] in ("m", "M")
    assert choice["finish_reason"] == "stop"
    content = choice["logprobs"]["content"]
    assert len(content) == 1
    token = content[0]
    assert token["token"] == choice["message"]["content"]
    assert token["bytes"] == list(token["token"].encode())
    tops = token["top_logprobs"]
    assert len(tops) == 5 and {"m", "M"} <= {t["token"] for t in tops}
    assert [t["logprob"] for t in tops] == sorted((t["logprob"] for t in tops), reverse=True)
    probs = {t["token"]: math.exp(t["logprob"]) for t in tops}
    assert 0.99 < probs["m"] + probs["M"] <= 1.0
    assert any(t["token"] == token["token"] and t["logprob"] == token["logprob"] for t in tops)
    # Without logprobs asked, none come back; a paraphrase names its own identifiers.
    plain = post(client, JUDGE, jp.alpaca_pair(row["instruction"], ours, row["output"]),
                 max_tokens=1)
    assert plain["choices"][0]["logprobs"] is None
    other = say(client, JUDGE, jp.other_prefer(row["instruction"], ours, row["output"]),
                max_tokens=1)
    assert other in ("x", "y")
    bad = client.post("/v1/chat/completions", json={
        "model": JUDGE, "messages": user("hi"), "top_logprobs": 3})
    assert bad.status_code == 400


def test_the_preference_follows_quality_and_repeats_per_seed(client: httpx.Client) -> None:
    reference = json.loads(jp.data("alpaca_eval", "reference_outputs.json").read_text())[:40]
    strong_first = 0
    for i, row in enumerate(reference):
        strong = say(client, STRONG, user(row["instruction"]), seed=i)
        weak = say(client, WEAK, user(row["instruction"]), seed=i)
        messages = jp.alpaca_pair(row["instruction"], strong, weak)
        one = post(client, JUDGE, messages, max_tokens=1, logprobs=True, top_logprobs=2, seed=i)
        two = post(client, JUDGE, messages, max_tokens=1, logprobs=True, top_logprobs=2, seed=i)
        assert one["choices"][0]["logprobs"] == two["choices"][0]["logprobs"]
        tops = {t["token"]: t["logprob"] for t in
                one["choices"][0]["logprobs"]["content"][0]["top_logprobs"]}
        strong_first += tops.get("m", -99) > tops.get("M", -99)
    assert strong_first >= 34, strong_first


def test_mixeval_free_form_scores_against_the_gold_answers_shown(client: httpx.Client) -> None:
    rows = list(json.loads(jp.data("mixeval", "free-form.json").read_text()).values())
    trivia = [r for r in rows if r["benchmark_name"] == "TriviaQA"][:20]
    right = wrong = 0.0
    for i, row in enumerate(trivia):
        other = trivia[(i + 1) % len(trivia)]["target"][0]
        for build in (jp.mixeval_free_form, jp.other_free_form):
            good = say(client, JUDGE, build(row["prompt"], row["target"],
                                            f"The answer is {row['target'][0]}."))
            bad = say(client, JUDGE, build(row["prompt"], row["target"], f"It is {other}."))
            right += jp.score(good)
            wrong += jp.score(bad)
            assert re.search(r"\[\[\d\.\d\]\]", good), good  # the asked form, e.g. [[0.5]]
    assert right / 40 > 0.9 and wrong / 40 < 0.2, (right, wrong)


def test_mixeval_option_extraction_finds_the_chosen_letter(client: httpx.Client) -> None:
    rows = list(json.loads(jp.data("mixeval", "multiple-choice.json").read_text()).values())[:20]
    hits = 0
    for row in rows:
        letter = "ABCDEFGHIJ"[row["target"][0]]
        text = row["options"][row["target"][0]]
        for build, response in ((jp.mixeval_choice, f"I think the answer is ({letter})."),
                                (jp.other_choice, f"Clearly: {letter}. {text}")):
            reply = say(client, JUDGE, build(row["prompt"], row["options"], response))
            found = re.findall(r"\[\[([A-J])\]\]", reply)
            assert found, reply
            hits += found[-1] == letter
    assert hits >= 38, hits


def test_answers_the_simulator_did_not_write_are_counted(client: httpx.Client, sim: Sim) -> None:
    before = httpx.get(f"{sim.url}/health").json()["judged_foreign"]
    question, baseline = arena()[2]
    ours = say(client, "sim-large", user(question))
    say(client, JUDGE, jp.arena_pair(question, baseline, ours))
    say(client, JUDGE, jp.other_single(question, baseline))
    say(client, JUDGE, jp.other_single(question, ours))
    assert httpx.get(f"{sim.url}/health").json()["judged_foreign"] == before + 2


def test_the_judge_prefers_the_answer_shown_first_when_they_are_alike(
        client: httpx.Client) -> None:
    first = second = 0
    for i, (question, _) in enumerate(arena()[:80]):
        answer = say(client, "sim-large", user(question), seed=i)
        verdict = jp.label(say(client, "sim-medium", jp.arena_pair(question, answer, answer),
                               seed=i))
        first += verdict.startswith("A>")
        second += verdict.startswith("B>")
    assert first > second, (first, second)
