"""A worker's HTTP connections to a provider: kept and reused while calls come and go.

The pool closing idle connections under load is what a worker must not do: each new connection
is a handshake more (TLS, with a real provider), and httpcore closes them from whichever thread
passes through the pool, sometimes one another thread was just given (worker/clients/transport.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.engine import fleet_simulator
from worker.clients.transport import http_client, reset_http_client

AT_ONCE = 100
KEY = "pool-test-key"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A simulator whose one LLM answers after 0.3 s, so that a wave of calls overlaps."""
    work: Path = tmp_path_factory.mktemp("sim-pool")
    with fleet_simulator(work, {
        "keys": [{"key": KEY, "requests_per_min": 1_000_000, "tokens_per_min": 1_000_000_000}],
        "llms": {"sim-slow": {"ability": 0, "judge": 0, "latency": {
            "ttft_median_ms": 300, "ttft_p95_ms": 300, "tokens_per_s": 1e9}}},
    }) as url:
        yield url, int(url.rsplit(":", 1)[1])


def _wave(url: str) -> None:
    """AT_ONCE chat completions sent at the same moment from as many threads."""
    start = threading.Barrier(AT_ONCE)
    failures: list[BaseException] = []

    def one(i: int) -> None:
        start.wait()
        try:
            reply = http_client().post(
                f"{url}/v1/chat/completions", timeout=30,
                headers={"authorization": f"Bearer {KEY}"},
                json={"model": "sim-slow", "max_tokens": 8,
                      "messages": [{"role": "user", "content": f"Say {i}."}]})
            reply.raise_for_status()
        except BaseException as exc:  # noqa: BLE001  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]


def _connections_to(port: int) -> set[int]:
    """Local ports of this process's open connections to the simulator."""
    return {c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED}


def test_a_hundred_calls_at_once_twice_reuse_the_first_waves_connections(
        sim: tuple[str, int]) -> None:
    url, port = sim
    reset_http_client()
    try:
        _wave(url)
        first = _connections_to(port)
        _wave(url)
        second = _connections_to(port)
    finally:
        reset_http_client()
    # Every connection of the first wave is kept (with 50 kept alive, about half were closed
    # as the wave ended), and the second wave opened none.
    assert len(first) == AT_ONCE
    assert second == first
