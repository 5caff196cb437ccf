"""`itas demo`: the whole service on this machine, end to end, with no account anywhere.

Starts what is missing — embedded PostgreSQL and Redis (unless URLs are set), the LLM
simulator, Celery workers and Flower — evaluates a few Archon architectures over the simulated
fleet on synth-math, prints the leaderboard and writes a report. It stops the processes it
started; the data services keep running (`itas services down`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from models.errors import ItasError

ITAS = [sys.executable, "-c", "from scheduler.cli import main; main()"]

#: The simulator's keys (not secrets), handed to the workers the demo starts.
DEMO_KEYS = {"ITAS_SIM_KEY_1": "sim-key-1", "ITAS_SIM_KEY_2": "sim-key-2"}
#: The simulated latencies, scaled down so the demo takes a minute, not ten.
DEMO_LATENCY_SCALE = 0.1


def _generator(llm: str, samples: int = 1) -> dict[str, Any]:
    return {"type": "generator", "model": llm, "model_type": "OpenAI_API",
            "temperature": 0.7, "max_tokens": 1024, "samples": samples}


def _judge(kind: str, llm: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 1024, **fields}


DEMO_ARCHITECTURES: list[dict[str, Any]] = [
    {"name": "sim-small alone", "layers": [[_generator("sim-small")]]},
    {"name": "sim-large alone", "layers": [[_generator("sim-large")]]},
    {"name": "sim-large x10 -> rank top 5 -> fuse (Archon quick start)",
     "layers": [[_generator("sim-large", 10)], [_judge("ranker", "sim-critic", top_k=5)],
                [_judge("fuser", "sim-frontier")]]},
    {"name": "3 LLMs x3 -> critic -> rank top 4 -> fuse",
     "layers": [[_generator("sim-large", 3), _generator("sim-medium", 3),
                 _generator("sim-small", 3)],
                [_judge("critic", "sim-critic")],
                [_judge("ranker", "sim-critic", top_k=4, use_critiques=True)],
                [_judge("fuser", "sim-large")]]},
]


@contextmanager
def background(name: str, args: list[str], log: Path, ready: str,
               env: dict[str, str] | None = None) -> Iterator[None]:
    """Run ``args`` in the background until the block ends; wait for ``ready`` in its log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ItasError(f"{name} did not start; see {log}")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False


def demo_fleet(directory: Path) -> Path:
    from simulator.fleet import DEFAULT_FLEET

    fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
    fleet["latency_scale"] = DEMO_LATENCY_SCALE
    path = directory / "demo-fleet.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# The default simulated fleet with latencies scaled for the demo.\n"
                    + yaml.safe_dump(fleet))
    return path


def write_architectures(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, architecture in enumerate(DEMO_ARCHITECTURES):
        path = directory / f"{i + 1}.json"
        path.write_text(json.dumps(architecture, indent=2))
        paths.append(path)
    return paths
