"""`itas demo`: the whole service on this machine, end to end, with no account anywhere.

Starts what is missing — embedded PostgreSQL and Redis (unless URLs are set), the LLM
simulator, a Celery worker, a scheduler and Flower — runs the search job of
examples/search-demo.yaml over the simulated fleet on synth-math, prints the leaderboard and the
best architecture and writes the HTML report. It stops the processes it started; the data
services keep running (`itas services down`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from models.errors import ItasError
from scheduler.processes import start_process, stop

#: The simulator's keys (not secrets), handed to the workers the demo starts.
DEMO_KEYS = {"ITAS_SIM_KEY_1": "sim-key-1", "ITAS_SIM_KEY_2": "sim-key-2"}
#: The simulated latencies as the fleet file gives them (realistic: 0.1-1 s to the first token,
#: 55-300 tokens/s): the demo shows how a search runs against real providers' latencies. A
#: worker with its defaults keeps enough calls in flight that this takes a few minutes
#: (worker/concurrency.py); tests pass a smaller scale.
DEMO_LATENCY_SCALE = 1.0


#: The search the demo runs: synth-math over the simulated fleet.
DEMO_JOB = Path(__file__).resolve().parents[1] / "examples" / "search-demo.yaml"


@contextmanager
def background(name: str, args: list[str], log: Path, ready: str,
               env: dict[str, str] | None = None) -> Iterator[None]:
    """Run ``args`` in the background until the block ends; wait for ``ready`` in its log."""
    process = start_process(args, log, {**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + 60
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ItasError(f"{name} did not start; see {log}")
            time.sleep(0.2)
        yield
    finally:
        stop(process, grace_s=20)


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False
