"""Injected faults arrive at the configured rates and look like real provider failures."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .conftest import KEY, Sim

RATES = {
    "429": 0.08,
    "500": 0.05,
    "503": 0.05,
    "hang": 0.03,
    "malformed": 0.04,
    "truncated": 0.04,
    "empty": 0.03,
}
HEADER = ",".join(f"{k}={v}" for k, v in RATES.items())
BODY = {"model": "sim-tiny", "messages": [{"role": "user", "content": "What is 2 + 3?"}]}


def classify(client: httpx.Client) -> str:
    """What a client observes for one request: a status, a hang, bad JSON, a cut body, ..."""
    try:
        response = client.post("/v1/chat/completions", json=BODY)
    except httpx.TimeoutException:
        return "hang"
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return "truncated"
    if response.status_code != 200:
        return str(response.status_code)
    try:
        payload = json.loads(response.content)
    except ValueError:
        return "malformed"
    return "empty" if payload["choices"][0]["message"]["content"] == "" else "ok"


@pytest.mark.slow
def test_fault_rates_over_5000_requests_are_within_2_points_of_the_configured_ones(
    sim: Sim,
) -> None:
    headers = {"authorization": f"Bearer {KEY}", "x-sim-fault": HEADER, "x-sim-latency-scale": "0"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # Hangs last far longer than this timeout: the client gives up, as a real one would.
    with httpx.Client(base_url=sim.url, headers=headers, timeout=0.75, limits=limits) as client:
        with ThreadPoolExecutor(max_workers=48) as pool:
            seen = Counter(pool.map(lambda _: classify(client), range(5000)))
    for kind, rate in RATES.items():
        observed = seen[kind] / 5000
        assert abs(observed - rate) <= 0.02, (kind, observed, rate, seen)
    assert seen["ok"] / 5000 == pytest.approx(1 - sum(RATES.values()), abs=0.03)


def test_a_request_id_replays_the_same_fault(sim: Sim) -> None:
    with sim.client() as client:
        outcomes = {
            client.post(
                "/v1/chat/completions",
                json=BODY,
                headers={"x-sim-fault": "500=0.5", "x-sim-request-id": "r-17"},
            ).status_code
            for _ in range(10)
        }
    assert len(outcomes) == 1


def test_fault_responses_speak_the_provider_format(sim: Sim) -> None:
    with sim.client() as client:
        overloaded = client.post(
            "/v1/messages", json={**BODY, "max_tokens": 20}, headers={"x-sim-fault": "503=1"}
        )
        limited = client.post("/v1/chat/completions", json=BODY, headers={"x-sim-fault": "429=1"})
        bad = client.post("/v1/chat/completions", json=BODY, headers={"x-sim-fault": "oops=1"})
    assert overloaded.status_code == 503
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json()["error"]["type"] == "rate_limit_exceeded"
    assert bad.status_code == 400 and "oops" in bad.json()["error"]["message"]


def test_success_responses_carry_rate_limit_headers_and_unknown_keys_get_401(sim: Sim) -> None:
    with sim.client() as client:
        openai_style = client.post("/v1/chat/completions", json=BODY)
        anthropic_style = client.post("/v1/messages", json={**BODY, "max_tokens": 20})
    assert int(openai_style.headers["x-ratelimit-remaining-requests"]) > 0
    assert "x-ratelimit-reset-tokens" in openai_style.headers
    assert int(anthropic_style.headers["anthropic-ratelimit-tokens-remaining"]) > 0
    with sim.client(key="sk-unknown") as client:
        refused = client.post("/v1/chat/completions", json=BODY)
    assert refused.status_code == 401
    with httpx.Client(base_url=sim.url) as client:
        by_header = client.post(
            "/v1/messages",
            json={**BODY, "max_tokens": 20},
            headers={"x-api-key": KEY, "x-sim-latency-scale": "0"},
        )
    assert by_header.status_code == 200
