"""A worker's HTTP connections to a provider: kept and reused while calls come and go, and
never closed under a call that is waiting for its reply.

A worker's calls run on the threads of one executor (worker/runtime.py); each thread keeps its
own connections (worker/clients/transport.py says why: httpcore's shared pool could close a
connection another thread was using, encode/httpcore#1110).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from tests.engine import fleet_simulator
from worker.clients import transport
from worker.clients.transport import http_client, reset_http_client

AT_ONCE = 100
KEY = "pool-test-key"


def _fleet(latency_ms: int) -> dict[str, object]:
    return {
        "keys": [{"key": KEY, "requests_per_min": 10_000_000, "tokens_per_min": 10_000_000_000}],
        "llms": {"sim-fixed": {"ability": 0, "judge": 0, "latency": {
            "ttft_median_ms": latency_ms, "ttft_p95_ms": latency_ms, "tokens_per_s": 1e9}}},
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A simulator whose one LLM answers after 0.3 s, so that a wave of calls overlaps."""
    work: Path = tmp_path_factory.mktemp("sim-pool")
    with fleet_simulator(work, _fleet(300)) as url:
        yield url, int(url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def fast_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator whose one LLM answers after 0.1 s, every time."""
    work: Path = tmp_path_factory.mktemp("sim-pool-fast")
    with fleet_simulator(work, _fleet(100)) as url:
        yield url


def _call(url: str, i: int, timeout_s: float) -> None:
    reply = http_client().post(
        f"{url}/v1/chat/completions", timeout=timeout_s,
        headers={"authorization": f"Bearer {KEY}"},
        json={"model": "sim-fixed", "max_tokens": 8,
              "messages": [{"role": "user", "content": f"Say {i}."}]})
    reply.raise_for_status()


def _wave(url: str, threads: ThreadPoolExecutor) -> None:
    """AT_ONCE chat completions sent at the same moment, one from each of the executor's
    threads (the barrier holds each until all are running)."""
    start = threading.Barrier(AT_ONCE)

    def one(i: int) -> None:
        start.wait(30)
        _call(url, i, 30)

    for done in [threads.submit(one, i) for i in range(AT_ONCE)]:
        done.result(60)


def _connections_to(port: int) -> set[int]:
    """Local ports of this process's open connections to the simulator."""
    return {c.laddr.port for c in psutil.Process().net_connections(kind="tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED}


def test_a_hundred_calls_at_once_twice_reuse_the_first_waves_connections(
        sim: tuple[str, int]) -> None:
    url, port = sim
    reset_http_client()
    try:
        with ThreadPoolExecutor(AT_ONCE) as threads:
            _wave(url, threads)
            first = _connections_to(port)
            _wave(url, threads)
            second = _connections_to(port)
    finally:
        reset_http_client()
    # Every connection of the first wave is kept (with httpcore's shared pool and 50 kept
    # alive, about half were closed as the wave ended), and the second wave opened none.
    assert len(first) == AT_ONCE
    assert second == first


def test_connections_that_expire_while_calls_come_and_go_never_strand_a_call(
        fast_sim: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """200 threads call for 10 s with pauses around the keep-alive expiry, so connections
    expire all the time while others are being handed out. With one client shared by the
    threads, 8 to 20 calls of such a run failed with EBADF or hung to their timeout (the pool
    closed their connection under them); none may. A stranded call never gets its reply, so it
    fails here either way (EBADF, or the read timeout); how long a call that did get its reply
    took is not checked (on a loaded machine a few take seconds)."""
    monkeypatch.setattr(transport, "KEEPALIVE_S", 0.003)
    reset_http_client()
    failures: list[str] = []
    calls = [0]
    end = time.monotonic() + 10

    def caller(seed: int) -> None:
        pause = random.Random(seed)
        while time.monotonic() < end:
            try:
                _call(fast_sim, seed, 10)
            except Exception as exc:  # noqa: BLE001  # counted and shown by the test
                failures.append(f"{type(exc).__name__}: {exc}")
            calls[0] += 1
            time.sleep(pause.uniform(0, 0.006))

    try:
        with ThreadPoolExecutor(200) as threads:
            for done in [threads.submit(caller, seed) for seed in range(200)]:
                done.result(60)
    finally:
        reset_http_client()
    assert calls[0] > 1_000  # the run did make calls (about 3,000 on two idle cores)
    assert not failures, (len(failures), failures[:3])


def test_a_thread_that_ends_leaves_no_connection_open(sim: tuple[str, int]) -> None:
    url, port = sim
    reset_http_client()
    try:
        before = _connections_to(port)
        for i in range(5):
            thread = threading.Thread(target=_call, args=(url, i, 30))
            thread.start()
            thread.join(30)
        assert _connections_to(port) == before  # each thread's client closed as it ended
        # ...while a thread that lives on keeps its connection for its next call.
        with ThreadPoolExecutor(1) as one:
            one.submit(_call, url, 0, 30).result(30)
            kept = _connections_to(port) - before
            one.submit(_call, url, 1, 30).result(30)
            assert len(kept) == 1 and _connections_to(port) - before == kept
    finally:
        reset_http_client()
