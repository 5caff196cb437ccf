"""The official OpenAI and Anthropic SDKs talk to the simulator as to a real provider."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from benchmarks.synth_math import generate

from .conftest import KEY, ZERO_LATENCY, Sim
from .helpers import answer

QUESTION = generate(0, 1)[0].question
PROMPT = f"{QUESTION}\nEnd your reply with a line 'Answer: N'."
LIMITED = "sim-key-limited"  # 20 requests/min in the default fleet: one new request every 3 s


_clients: list[openai.OpenAI | anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def _openai(sim: Sim, key: str = KEY, retries: int = 0) -> openai.OpenAI:
    client = openai.OpenAI(
        base_url=f"{sim.url}/v1", api_key=key, max_retries=retries, default_headers=ZERO_LATENCY
    )
    _clients.append(client)
    return client


def _anthropic(sim: Sim, key: str = KEY, retries: int = 0) -> anthropic.Anthropic:
    client = anthropic.Anthropic(
        base_url=sim.url, api_key=key, max_retries=retries, default_headers=ZERO_LATENCY
    )
    _clients.append(client)
    return client


def test_openai_sdk_parses_every_field_of_a_chat_completion(sim: Sim) -> None:
    completion = _openai(sim).chat.completions.create(
        model="sim-medium",
        messages=[{"role": "user", "content": PROMPT}],
        n=3,
        seed=7,
        temperature=0.7,
    )
    assert completion.object == "chat.completion" and completion.model == "sim-medium"
    assert completion.id and completion.created > 0
    assert [c.index for c in completion.choices] == [0, 1, 2]
    for choice in completion.choices:
        assert choice.message.role == "assistant" and choice.finish_reason == "stop"
        assert answer(choice.message.content or "")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_openai_sdk_sees_a_cut_reply_when_max_tokens_is_small(sim: Sim) -> None:
    completion = _openai(sim).chat.completions.create(
        model="sim-large", messages=[{"role": "user", "content": QUESTION}], max_tokens=5
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 5


def test_openai_sdk_lists_the_fleet_and_maps_errors(sim: Sim) -> None:
    names = {m.id for m in _openai(sim).models.list()}
    assert {"sim-frontier", "sim-tiny", "gpt3-175b-verifier-replay"} <= names
    with pytest.raises(openai.AuthenticationError):
        _openai(sim, key="not-a-key").models.list()
    with pytest.raises(openai.NotFoundError):
        _openai(sim).chat.completions.create(
            model="no-such-llm", messages=[{"role": "user", "content": "hi"}]
        )


def test_anthropic_sdk_parses_every_field_of_a_message(sim: Sim) -> None:
    prompt = PROMPT
    message = _anthropic(sim).messages.create(
        model="sim-frontier",
        max_tokens=512,
        system="You are careful.",
        messages=[{"role": "user", "content": prompt}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "sim-frontier" and message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert answer(message.content[0].text)
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    cut = _anthropic(sim).messages.create(
        model="sim-frontier", max_tokens=3, messages=[{"role": "user", "content": prompt}]
    )
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3


def test_anthropic_sdk_lists_the_fleet_and_maps_errors(sim: Sim) -> None:
    names = {m.id for m in _anthropic(sim).models.list()}
    assert "sim-critic" in names
    with pytest.raises(anthropic.AuthenticationError):
        _anthropic(sim, key="not-a-key").messages.create(
            model="sim-tiny", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def _drain(sim: Sim, path: str) -> httpx.Response:
    """Spend the limited key's requests until the simulator answers 429; return that answer."""
    body = {"model": "sim-tiny", "max_tokens": 16, "messages": [{"role": "user", "content": "x"}]}
    with sim.client(LIMITED) as client:
        for _ in range(100):
            response = client.post(path, json=body)
            if response.status_code == 429:
                return response
    raise AssertionError("the limited key never reached its limit")


@pytest.mark.slow
def test_openai_sdk_retry_honours_retry_after_on_429(sim: Sim) -> None:
    refused = _drain(sim, "/v1/chat/completions")
    wait = float(refused.headers["retry-after"])
    assert 1 <= wait <= 3
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-limit-requests"] == "20"
    for name in ("reset-requests", "limit-tokens", "remaining-tokens", "reset-tokens"):
        assert f"x-ratelimit-{name}" in refused.headers
    started = time.monotonic()
    # One retry only: the SDK's own backoff (0.5 s) would hit the limit again; waiting for
    # retry-after is the only way this call succeeds.
    completion = _openai(sim, LIMITED, retries=1).chat.completions.create(
        model="sim-tiny", max_tokens=16, messages=[{"role": "user", "content": "x"}]
    )
    assert completion.choices[0].message.content
    assert time.monotonic() - started >= 1.0


@pytest.mark.slow
def test_anthropic_sdk_retry_honours_retry_after_on_429(sim: Sim) -> None:
    refused = _drain(sim, "/v1/messages")
    assert 1 <= float(refused.headers["retry-after"]) <= 3
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert "anthropic-ratelimit-tokens-reset" in refused.headers
    started = time.monotonic()
    message = _anthropic(sim, LIMITED, retries=1).messages.create(
        model="sim-tiny", max_tokens=16, messages=[{"role": "user", "content": "x"}]
    )
    assert message.content[0].text
    assert time.monotonic() - started >= 1.0
