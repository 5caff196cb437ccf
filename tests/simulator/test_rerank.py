"""The simulated reward model on the rerank route: the shape of a real rerank API, skill-dependent.

``sim-pairrm`` (the default fleet's simulated reward model) answers ``POST /v1/rerank`` and
``/rerank`` as Jina, Cohere and vLLM do; it shares the chat routes' keys, limits and faults.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from benchmarks.synth_math import generate

from .conftest import Sim

PROBLEMS = generate(seed=1, count=150)


@pytest.fixture()
def client(sim: Sim) -> Iterator[httpx.Client]:
    with sim.client() as c:
        yield c


def documents(answer: str) -> list[str]:
    wrong = [int(answer) + 3, int(answer) * 2, max(int(answer) - 5, 0)]
    return [f"I worked it out.\nAnswer: {w}" for w in wrong[:2]] + [
        f"Step by step.\nAnswer: {answer}", f"Quick guess.\nAnswer: {wrong[2]}"
    ]


def rerank(client: httpx.Client, model: str, query: str, docs: list[object],
           path: str = "/v1/rerank", **extra: object) -> httpx.Response:
    return client.post(path, json={"model": model, "query": query, "documents": docs, **extra})


def test_rerank_has_the_shape_of_a_real_rerank_api(client: httpx.Client) -> None:
    p = PROBLEMS[0]
    docs: list[object] = [*documents(p.answer)[:3], {"text": "no idea"}]
    response = rerank(client, "sim-pairrm", p.question, docs, path="/rerank", top_n=3)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "sim-pairrm" and body["id"]
    assert body["usage"]["total_tokens"] > 0
    results = body["results"]
    assert len(results) == 3  # top_n
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    texts = [*documents(p.answer)[:3], "no idea"]
    for r in results:
        assert r["document"]["text"] == texts[r["index"]]
    bare = rerank(client, "sim-pairrm", p.question, texts, return_documents=False).json()
    assert "document" not in bare["results"][0] and len(bare["results"]) == 4
    again = rerank(client, "sim-pairrm", p.question, texts, return_documents=False).json()
    assert again["results"] == bare["results"]  # a reward model does not sample


def test_rerank_refuses_bad_requests_and_chat_models_and_vice_versa(
    sim: Sim, client: httpx.Client
) -> None:
    assert rerank(client, "sim-pairrm", "q", []).status_code == 400
    assert rerank(client, "sim-pairrm", "", ["a"]).status_code == 400
    assert rerank(client, "sim-pairrm", "q", ["a"], top_n=0).status_code == 400
    wrong_kind = rerank(client, "sim-large", "q", ["a"])
    assert wrong_kind.status_code == 400 and "chat" in wrong_kind.json()["error"]["message"]
    assert rerank(client, "no-such-model", "q", ["a"]).status_code == 404
    chat = client.post("/v1/chat/completions", json={
        "model": "sim-pairrm", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400 and "/v1/rerank" in chat.json()["error"]["message"]
    with httpx.Client(base_url=sim.url) as anonymous:
        assert rerank(anonymous, "sim-pairrm", "q", ["a"]).status_code == 401


def test_rerank_shares_the_limits_and_faults_of_the_chat_routes(sim: Sim) -> None:
    with sim.client() as client:
        faulty = client.post("/v1/rerank", headers={"x-sim-fault": "503=1"},
                             json={"model": "sim-pairrm", "query": "q", "documents": ["a"]})
        assert faulty.status_code == 503
        ok = rerank(client, "sim-pairrm", "q", ["a"])
        assert "x-ratelimit-remaining-tokens" in ok.headers
    with sim.client("sim-key-limited") as limited:
        statuses = {rerank(limited, "sim-pairrm", "q", ["a"]).status_code for _ in range(25)}
    assert 429 in statuses


def test_a_skilled_reward_model_scores_the_right_answer_first_more_often_than_chance(
    client: httpx.Client,
) -> None:
    firsts = 0
    for p in PROBLEMS:
        results = rerank(client, "sim-pairrm", p.question, documents(p.answer)).json()["results"]
        firsts += results[0]["index"] == 2
    # Chance is 1 in 4; the simulated PairRM's judging skill lifts it well above.
    assert firsts / len(PROBLEMS) > 0.5, firsts
