"""Each simulated LLM reads at most its context window; a longer prompt gets the providers'
own 400, on both wire formats, and max_tokens is not counted against the window."""

from __future__ import annotations

import httpx

from .conftest import KEY, ZERO_LATENCY, Sim

LONG = "Please read this carefully. " * 1500  # about 10,500 tokens at 4 characters a token


def test_a_prompt_over_the_window_gets_openais_context_length_exceeded(sim: Sim) -> None:
    with sim.client() as client:
        refused = client.post("/v1/chat/completions", json={
            "model": "sim-short-context", "max_tokens": 16,
            "messages": [{"role": "user", "content": LONG + "What is 2 + 3?"}]})
        fits = client.post("/v1/chat/completions", json={
            "model": "sim-tiny", "max_tokens": 200_000,
            "messages": [{"role": "user", "content": "What is 2 + 3?"}]})
        big_window = client.post("/v1/chat/completions", json={
            "model": "sim-medium", "max_tokens": 16,
            "messages": [{"role": "user", "content": LONG + "What is 2 + 3?"}]})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert error["message"].startswith("This model's maximum context length is 2048 tokens. "
                                       "However, your messages resulted in ")
    tokens = int(error["message"].split("resulted in ")[1].split()[0])
    assert 10_000 < tokens < 11_000
    # max_tokens far beyond a window (sim-tiny's 32,768) is not refused: Archon's configs ask
    # 200000. Only an LLM with a max_output_tokens (sim-short-context's 1,024) refuses it.
    assert fits.status_code == 200, fits.text
    assert big_window.status_code == 200, big_window.text


def test_a_prompt_over_the_window_gets_anthropics_prompt_is_too_long(sim: Sim) -> None:
    response = httpx.post(
        f"{sim.url}/v1/messages", timeout=30,
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01", **ZERO_LATENCY},
        json={"model": "sim-short-context", "max_tokens": 16, "system": LONG,
              "messages": [{"role": "user", "content": "What is 2 + 3?"}]})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    message = body["error"]["message"]
    assert message.startswith("prompt is too long: ") and message.endswith(" > 2048 maximum")
