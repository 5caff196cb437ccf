"""Throughput of the simulator: requests/s at zero latency, requests held in flight at 1 s.

Starts ``python -m simulator`` on a free loopback port and drives it with async httpx clients
(loopback only, bounded in count and time; it stops by itself):

1. zero latency: chat completions (a synth-math generate prompt) from CLIENT_PROCESSES
   processes for DURATION seconds each; the baseline is ``GET /health`` driven the same way,
   so the ratio shows what the simulator's own work costs over a trivial endpoint. The
   server's CPU time per request is printed too: the load generator shares the 2 cores, so
   1 / (CPU s per request) is the server's capacity when the client is not the bottleneck.
2. 1 s simulated latency (``x-sim-latency-ms: 1000``): IN_FLIGHT requests sent at once over
   connections opened beforehand; prints the server's own peak of requests in flight (from
   ``/health``) and the latency the clients saw.

    .venv/bin/python bench/simulator_throughput.py
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.synth_math import generate  # noqa: E402

DURATION = 5.0  # seconds per zero-latency phase
MAX_REQUESTS = 30_000  # per client process and phase: a hard bound on the traffic
CLIENT_PROCESSES = 2
CONCURRENCY = 16  # per client process; httpx's pool gets slow with long queues
IN_FLIGHT = 2_200
HEADERS = {"authorization": "Bearer sim-key-1", "x-sim-latency-scale": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _drive(url: str, path: str, start_at: float) -> int:
    """Requests completed by CONCURRENCY workers in DURATION seconds (count-bounded)."""
    body = {"model": "sim-medium", "messages": [{"role": "user", "content": ""}], "seed": 0}
    # A question as a benchmark frames it: the text, then how to give the final answer.
    questions = [f"{p.question}\n\nFinish with the final answer after 'Final answer:'."
                 for p in generate(0, 200)]
    done = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits) as client:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stop = time.monotonic() + DURATION

        async def worker(w: int) -> None:
            nonlocal done
            i = w
            while time.monotonic() < stop and done < MAX_REQUESTS:
                if path == "/health":
                    response = await client.get(path)
                else:
                    body["messages"][0]["content"] = questions[i % len(questions)]
                    body["seed"] = i
                    response = await client.post(path, json=body)
                response.raise_for_status()
                done += 1
                i += CONCURRENCY

        await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    return done


def _client_process(url: str, path: str, start_at: float, out: multiprocessing.Queue) -> None:
    out.put(asyncio.run(_drive(url, path, start_at)))


def rate(url: str, path: str, server: psutil.Process) -> tuple[float, float]:
    """(requests/s over all client processes, server CPU seconds per request)."""
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    start_at = time.time() + 1.5  # all clients start together, after their imports
    procs = [
        multiprocessing.Process(target=_client_process, args=(url, path, start_at, queue))
        for _ in range(CLIENT_PROCESSES)
    ]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = sum(server.cpu_times()[:2])
    total = sum(queue.get(timeout=DURATION + 60) for _ in procs)
    cpu = sum(server.cpu_times()[:2]) - cpu0
    for p in procs:
        p.join()
    return total / DURATION, cpu / max(total, 1)


async def _hold(url: str, count: int, start_at: float) -> tuple[int, list[float]]:
    """Send ``count`` 1 s requests at ``start_at`` over connections opened beforehand."""
    body = {
        "model": "sim-small",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "What is 2 + 3?"}],
    }
    headers = {**HEADERS, "x-sim-latency-ms": "1000"}
    # Several small pools: one httpx pool with thousands of connections is slow to schedule.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    clients = [
        httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits)
        for _ in range(-(-count // 100))
    ]
    # Open every connection first (TCP setup is not what is measured).
    await asyncio.gather(*(clients[i % len(clients)].get("/health") for i in range(count)))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    latencies: list[float] = []

    async def one(i: int) -> bool:
        start = time.monotonic()
        response = await clients[i % len(clients)].post("/v1/chat/completions", json=body)
        latencies.append(time.monotonic() - start)
        return response.status_code == 200

    ok = sum(await asyncio.gather(*(one(i) for i in range(count))))
    for c in clients:
        await c.aclose()
    return ok, latencies


def _hold_process(url: str, count: int, start_at: float, out: multiprocessing.Queue) -> None:
    out.put(asyncio.run(_hold(url, count, start_at)))


def in_flight(url: str) -> tuple[int, int, float, float]:
    """(server's peak in flight, succeeded, median s, max s) for IN_FLIGHT 1 s requests."""
    queue: multiprocessing.Queue[tuple[int, list[float]]] = multiprocessing.Queue()
    start_at = time.time() + 8  # after every process has opened its connections
    share = IN_FLIGHT // CLIENT_PROCESSES
    procs = [
        multiprocessing.Process(target=_hold_process, args=(url, share, start_at, queue))
        for _ in range(CLIENT_PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for _, lats in results for x in lats)
    # The server's own gauge: how many completion requests it held at the same moment.
    peak = int(httpx.get(f"{url}/health").json()["peak_in_flight"])
    return peak, sum(ok for ok, _ in results), latencies[len(latencies) // 2], latencies[-1]


def main() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        server = psutil.Process(proc.pid)
        print(
            f"simulator on {url}; {psutil.cpu_count()} cores; {CLIENT_PROCESSES} client "
            f"processes x {CONCURRENCY} connections, {DURATION:.0f} s per phase"
        )
        base, base_cpu = rate(url, "/health", server)
        print(
            f"baseline GET /health          : {base:8.0f} req/s  "
            f"(server {base_cpu * 1e6:5.0f} us CPU/request)"
        )
        chat, chat_cpu = rate(url, "/v1/chat/completions", server)
        print(
            f"POST /v1/chat/completions, 0 s: {chat:8.0f} req/s  "
            f"(server {chat_cpu * 1e6:5.0f} us CPU/request, "
            f"capacity ~{1 / chat_cpu:,.0f} req/s per core)"
        )
        print(f"ratio chat / baseline         : {chat / base:8.2f}")
        peak, ok, median, slowest = in_flight(url)
        print(
            f"1 s latency: {IN_FLIGHT} requests sent at once, {ok} succeeded; the server held "
            f"{peak} in flight at its peak; latency median {median:.2f} s, max {slowest:.2f} s"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
