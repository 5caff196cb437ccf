"""The simulated reasoning model (sim-reasoner): it refuses what OpenAI's reasoning models
refuse, word for word, and answers the form they take, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sim
from .helpers import chat, texts

QUESTION = "What is 17 + 25? End with a line 'Answer: N'."


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    return dict(response.json()["error"])


def test_max_tokens_is_refused_with_openais_400_body(sim: Sim) -> None:
    with sim.client() as client:
        refused = chat(client, "sim-reasoner", QUESTION, max_tokens=256)
    assert error_of(refused) == {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                   "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error", "param": "max_tokens",
        "code": "unsupported_parameter"}


@pytest.mark.parametrize(("temperature", "shown"), [(0.7, "0.7"), (0, "0")])
def test_a_temperature_but_the_default_is_refused_with_openais_400_body(
        sim: Sim, temperature: float, shown: str) -> None:
    with sim.client() as client:
        refused = chat(client, "sim-reasoner", QUESTION, max_completion_tokens=256,
                       temperature=temperature)
        default = chat(client, "sim-reasoner", QUESTION, max_completion_tokens=256,
                       temperature=1)
    assert error_of(refused) == {
        "message": f"Unsupported value: 'temperature' does not support {shown} with this "
                   "model. Only the default (1) value is supported.",
        "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}
    assert texts(default)


def test_the_reasoning_form_is_answered_with_reasoning_tokens_by_effort(sim: Sim) -> None:
    used = {}
    with sim.client() as client:
        for effort in (None, "minimal", "low", "high"):
            extra = {} if effort is None else {"reasoning_effort": effort}
            response = chat(client, "sim-reasoner", QUESTION, max_completion_tokens=512,
                            seed=3, **extra)
            assert "Answer:" in texts(response)[0]
            usage = response.json()["usage"]
            reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
            # Thinking is part of the completion tokens, as OpenAI bills it.
            assert usage["completion_tokens"] > reasoning
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            used[effort] = reasoning
    assert used["minimal"] == 0 < used["low"] < used[None] < used["high"]


def test_reasoning_effort_is_checked_and_refused_by_a_model_that_does_not_reason(
        sim: Sim) -> None:
    with sim.client() as client:
        unknown = chat(client, "sim-reasoner", QUESTION, max_completion_tokens=64,
                       reasoning_effort="extreme")
        chat_model = chat(client, "sim-large", QUESTION, max_tokens=64, reasoning_effort="low")
        plain = chat(client, "sim-large", QUESTION, max_tokens=64, temperature=0.7)
    assert error_of(unknown)["param"] == "reasoning_effort"
    assert "'extreme'" in error_of(unknown)["message"]
    assert error_of(chat_model) == {
        "message": "Unsupported parameter: 'reasoning_effort' is not supported with this "
                   "model.", "type": "invalid_request_error", "param": "reasoning_effort",
        "code": "unsupported_parameter"}
    assert "completion_tokens_details" not in plain.json()["usage"]  # not a reasoning model


def test_the_openai_routes_are_served_under_geminis_path_too(sim: Sim) -> None:
    body = {"model": "sim-large", "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 64}
    with sim.client() as client:
        answered = client.post("/v1beta/openai/chat/completions", json=body)
        listed = client.get("/v1beta/openai/models")
    assert "Answer:" in texts(answered)[0]
    assert "sim-reasoner" in {m["id"] for m in listed.json()["data"]}
