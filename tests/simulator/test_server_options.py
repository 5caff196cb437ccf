"""Fleet options that emulate a provider's habits: a key whose answers state no limits, and a
local server (llama.cpp's) that runs one completion at a time and queues the rest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from .conftest import start_simulator

BODY = {"messages": [{"role": "user", "content": "What is 2 + 3?"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work: Path = tmp_path_factory.mktemp("sim-options")
    latency = {"ttft_median_ms": 300, "ttft_p95_ms": 300, "tokens_per_s": 1e9}
    (work / "fleet.yaml").write_text(yaml.safe_dump({
        "keys": [{"key": "loud", "requests_per_min": 600},
                 {"key": "quiet", "requests_per_min": 5, "limit_headers": False}],
        "llms": {"serial": {"ability": 0, "judge": 0, "server_concurrency": 1,
                            "latency": latency},
                 "parallel": {"ability": 0, "judge": 0, "latency": latency}},
    }))
    proc, address = start_simulator("--fleet", str(work / "fleet.yaml"), log=work / "sim.log")
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_key_without_limit_headers_says_nothing_until_its_429(url: str) -> None:
    def post(key: str) -> httpx.Response:
        return httpx.post(f"{url}/v1/chat/completions", json={**BODY, "model": "parallel"},
                          headers={"authorization": f"Bearer {key}", "x-sim-latency-ms": "0"})

    assert post("loud").headers["x-ratelimit-limit-requests"] == "600"
    quiet = post("quiet")
    assert quiet.status_code == 200
    assert not [h for h in quiet.headers if h.startswith("x-ratelimit-")]
    for _ in range(5):
        if (refused := post("quiet")).status_code == 429:
            break
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert not [h for h in refused.headers if h.startswith("x-ratelimit-")]


def _latencies(url: str, llm: str, parallel: int) -> list[float]:
    def one(_: int) -> float:
        started = time.monotonic()
        reply = httpx.post(f"{url}/v1/chat/completions", json={**BODY, "model": llm},
                           headers={"authorization": "Bearer loud"}, timeout=30)
        assert reply.status_code == 200
        return time.monotonic() - started

    with ThreadPoolExecutor(parallel) as pool:
        return sorted(pool.map(one, range(parallel)))


def test_a_serial_server_queues_parallel_requests_one_completion_at_a_time(url: str) -> None:
    serial = _latencies(url, "serial", 4)
    # 0.3 s each, one after another: the last waits for the three before it.
    assert serial[-1] >= 1.15, serial
    assert serial[-1] - serial[0] >= 0.85, serial
    parallel = _latencies(url, "parallel", 4)  # without the option: all at once
    assert parallel[-1] <= serial[-1] - 0.5, (parallel, serial)
