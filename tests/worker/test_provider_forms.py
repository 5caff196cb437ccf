"""Providers as they are in 2026: reasoning models (marked in the registry, or learnt from the
provider's 400) and base URLs with any path.

Bodies, URLs and edge cases go through httpx.MockTransport (the transport-level double,
mock_http in tests/worker/conftest.py); the learning and the Gemini-style path also go over
real HTTP to a simulator of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from models.endpoints import load_registry
from models.errors import BadRequest
from tests.engine import fleet_simulator
from tests.worker.test_clients import (
    KEY_ENV,
    Endpoint,
    Handler,
    anthropic_body,
    openai_body,
    request,
)
from worker.clients import reasoning, send_chat
from worker.clients.openai import OPENAI
from worker.clients.transport import endpoint_url
from worker.sending import Sender
from worker.techniques.base import Role, spec

Mock = Callable[[Handler], list[httpx.Request]]

#: OpenAI's answers to a reasoning model sent the classic form (word for word).
MAX_TOKENS_REFUSED = {"error": {
    "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
               "'max_completion_tokens' instead.", "type": "invalid_request_error",
    "param": "max_tokens", "code": "unsupported_parameter"}}
TEMPERATURE_REFUSED = {"error": {
    "message": "Unsupported value: 'temperature' does not support 0.7 with this model. Only "
               "the default (1) value is supported.", "type": "invalid_request_error",
    "param": "temperature", "code": "unsupported_value"}}


@pytest.fixture(autouse=True)
def nothing_learnt() -> Iterator[None]:
    reasoning.forget()
    yield
    reasoning.forget()


def sent_bodies(seen: list[httpx.Request]) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in seen]


def send(endpoint: Endpoint | None = None, **overrides: Any) -> Any:
    return send_chat(endpoint or Endpoint(), request(**overrides), key_env=KEY_ENV,
                     keys_env={KEY_ENV: "sk-test"})


def like_a_reasoning_model(req: httpx.Request) -> httpx.Response:
    """Refuses max_tokens and a temperature as OpenAI's o-series does; answers the rest."""
    body = json.loads(req.content)
    if "max_tokens" in body:
        return httpx.Response(400, json=MAX_TOKENS_REFUSED)
    if body.get("temperature", 1) != 1:
        return httpx.Response(400, json=TEMPERATURE_REFUSED)
    return httpx.Response(200, json=openai_body())


# -- the reasoning form --------------------------------------------------------------------------


def test_a_reasoning_request_takes_max_completion_tokens_and_no_temperature(
        mock_http: Mock) -> None:
    seen = mock_http(like_a_reasoning_model)
    assert send(reasoning=True, temperature=0.7, reasoning_effort="high").text == "Answer: 5"
    (body,) = sent_bodies(seen)
    assert body["max_completion_tokens"] == 32 and body["reasoning_effort"] == "high"
    assert "max_tokens" not in body and "temperature" not in body


def test_registry_flag_and_component_effort_reach_the_request(
        mock_http: Mock, tmp_path: Path) -> None:
    registry_file = tmp_path / "endpoints.yaml"
    registry_file.write_text(
        "endpoints:\n  openai: {kind: openai, base_url: 'http://mock/v1'}\nllms:\n"
        "  o-model: {endpoint: openai, price_in_per_mtok: 1, price_out_per_mtok: 4,"
        " reasoning: true, reasoning_effort: low}\n"
        "  chat-model: {endpoint: openai, price_in_per_mtok: 1, price_out_per_mtok: 4}\n")
    registry = load_registry(registry_file)
    sender = Sender(limiter=None)  # type: ignore[arg-type]  # _request only: no call made

    def body_for(llm: str, **component: Any) -> dict[str, Any]:
        fields = {"model": llm, "temperature": 0.7, "max_tokens": 100, **component}
        wanted = spec(SimpleNamespace(**fields), Role.GENERATE, (("user", "2+3?"),), 0)
        return OPENAI.body(sender._request(registry.llm(llm), wanted))

    registry_default = body_for("o-model")
    assert registry_default["reasoning_effort"] == "low"
    assert registry_default["max_completion_tokens"] == 100
    assert "temperature" not in registry_default
    assert body_for("o-model", reasoning_effort="high")["reasoning_effort"] == "high"
    classic = body_for("chat-model")
    assert classic["max_tokens"] == 100 and classic["temperature"] == 0.7
    assert "reasoning_effort" not in classic


@pytest.mark.parametrize("refusal", [MAX_TOKENS_REFUSED, TEMPERATURE_REFUSED])
def test_the_client_learns_the_form_from_the_providers_400_once(
        mock_http: Mock, refusal: dict[str, Any]) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        body = json.loads(req.content)
        # The o-models refuse the classic form with the refusal under test.
        if body["model"].startswith("o-") and "max_tokens" in body:
            return httpx.Response(400, json=refusal)
        return httpx.Response(200, json=openai_body())

    seen = mock_http(handler)
    assert send(llm="o-unmarked", temperature=0.7).text == "Answer: 5"
    assert send(llm="o-unmarked", temperature=0.7).text == "Answer: 5"
    first, resent, second = sent_bodies(seen)
    assert "max_tokens" in first and "max_completion_tokens" in resent
    assert "temperature" not in resent
    # Learnt for that LLM on that endpoint: its next request goes in reasoning form at once.
    assert "max_completion_tokens" in second and len(seen) == 3
    # Another LLM, or the same name on another endpoint, keeps the classic form.
    send(llm="gpt-4o")
    send(Endpoint(name="other-ep"), llm="o-unmarked")
    assert "max_tokens" in sent_bodies(seen)[3] and "max_tokens" in sent_bodies(seen)[4]


def test_another_400_stays_a_bad_request_with_the_providers_message(mock_http: Mock) -> None:
    context = {"error": {"message": "This model's maximum context length is 8192 tokens.",
                         "type": "invalid_request_error", "param": "messages",
                         "code": "context_length_exceeded"}}
    seen = mock_http(lambda req: httpx.Response(400, json=context))
    with pytest.raises(BadRequest, match="maximum context length is 8192 tokens") as caught:
        send()
    assert caught.value.status == 400 and len(seen) == 1  # not resent


def test_a_resend_refused_too_is_raised_and_not_learnt(mock_http: Mock) -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if "max_tokens" in json.loads(req.content):
            return httpx.Response(400, json=MAX_TOKENS_REFUSED)
        return httpx.Response(400, json={"error": {
            "message": "Unrecognized request argument supplied: max_completion_tokens",
            "type": "invalid_request_error", "param": None, "code": None}})

    seen = mock_http(handler)
    for _ in range(2):
        with pytest.raises(BadRequest, match="Unrecognized request argument"):
            send()
    # Each request was tried in both forms: nothing was learnt from a resend that failed.
    assert ["max_tokens" in b for b in sent_bodies(seen)] == [True, False, True, False]


def test_anthropic_is_unaffected_by_the_reasoning_flag(mock_http: Mock) -> None:
    seen = mock_http(lambda req: httpx.Response(200, json=anthropic_body()))
    send(Endpoint(kind="anthropic"), llm="claude-sim", reasoning=True, reasoning_effort="high",
         temperature=0.5)
    (body,) = sent_bodies(seen)
    assert body["max_tokens"] == 32 and body["temperature"] == 0.5
    assert "reasoning_effort" not in body and "max_completion_tokens" not in body


# -- base URLs with any path ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "base_url", "url"), [
    ("openai", "https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"),
    ("openai", "https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"),
    ("openai", "https://generativelanguage.googleapis.com/v1beta/openai",
     "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"),
    ("openai", "https://res.openai.azure.com/openai/v1",
     "https://res.openai.azure.com/openai/v1/chat/completions"),
    ("openai", "https://res.openai.azure.com/openai/deployments/gpt-4o?api-version=2024-10-21",
     "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
     "?api-version=2024-10-21"),
    ("openai", "http://localhost:8000", "http://localhost:8000/v1/chat/completions"),
    ("anthropic", "https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
    ("anthropic", "https://proxy.example/anthropic/v1",
     "https://proxy.example/anthropic/v1/messages"),
    ("rerank", "https://api.cohere.com/v2", "https://api.cohere.com/v2/rerank"),
])
def test_the_client_appends_only_the_operation_to_the_base_url(
        mock_http: Mock, kind: str, base_url: str, url: str) -> None:
    body = {"openai": openai_body(), "anthropic": anthropic_body(),
            "rerank": {"results": [{"index": 0, "relevance_score": 0.5}]}}[kind]
    seen = mock_http(lambda req: httpx.Response(200, json=body))
    send(Endpoint(kind=kind, base_url=base_url), documents=["a"] if kind == "rerank" else ())
    assert [str(r.url) for r in seen] == [url]
    assert endpoint_url(base_url, "/models") == url.replace(
        {"openai": "/chat/completions", "anthropic": "/messages", "rerank": "/rerank"}[kind],
        "/models")


# -- over HTTP, against a simulator ---------------------------------------------------------------


@pytest.fixture(scope="module")
def reasoner_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("sim-reasoner")
    instant = {"ttft_median_ms": 0, "ttft_p95_ms": 0, "tokens_per_s": 1e9}
    with fleet_simulator(work, {
        "keys": [{"key": "k", "requests_per_min": 1_000_000, "tokens_per_min": 1_000_000_000}],
        "llms": {"reasoner": {"ability": 2, "judge": 2, "reasoning": True, "latency": instant},
                 "chat": {"ability": 0, "judge": 0, "latency": instant}},
    }) as url:
        yield url


def test_a_simulator_under_geminis_path_is_called_and_teaches_the_form(
        reasoner_sim: str) -> None:
    endpoint = Endpoint(name="gemini-like", base_url=f"{reasoner_sim}/v1beta/openai")

    def ask(llm: str) -> Any:
        return send_chat(endpoint, request(llm=llm, temperature=0.7, max_tokens=300),
                         key_env=KEY_ENV, keys_env={KEY_ENV: "k"})

    assert ask("chat").text and ask("reasoner").text and ask("reasoner").text
    refused = httpx.get(f"{reasoner_sim}/health").json()["responses"].get("400", 0)
    assert refused == 1  # one refusal taught the form; the second call went in it at once
