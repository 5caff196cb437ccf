"""One run of a drill's job: its own database and Redis prefix on the drill's private services,
a simulator, worker processes, and the `itas` commands of the run.

Both runs of a drill (clean and under the fault) get a stack of their own, so the second run
finds nothing of the first in any cache and pays for every call again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from bench.drills.services import PrivateServices
from scheduler.processes import ITAS, start_process, stop, wait_http
from scheduler.services.ports import free_port
from simulator.fleet import DEFAULT_FLEET

REPO = Path(__file__).resolve().parents[2]
KEYS = {"ITAS_SIM_KEY_1": "sim-key-1", "ITAS_SIM_KEY_2": "sim-key-2"}
DEFAULT_ENDPOINTS = REPO / "models" / "endpoints.default.yaml"


@dataclass
class StackOptions:
    """What a drill changes in a run's stack. Faults go in ``faults`` (simulator rates)."""

    latency_scale: float = 0.05
    faults: dict[str, float] = field(default_factory=dict)
    hang_seconds: float = 120
    #: Endpoint timeout (seconds) in the run's endpoints registry; None keeps the default.
    endpoint_timeout_s: float | None = None
    #: Extra LLMs for the registry (name -> entry), e.g. one the simulator does not know.
    extra_llms: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Drill-sized reliability settings: a dead worker's messages come back in seconds.
    task_time_limit_s: int = 40
    visibility_timeout_s: int = 50
    unacked_restore_interval_s: int = 2


class Worker:
    """An `itas worker` process (its own process group) and where it logs."""

    def __init__(self, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.process, self.name, self.log = process, name, log

    def alive(self) -> bool:
        return self.process.poll() is None

    def pool_children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def kill_group(self) -> None:
        """SIGKILL the worker with its pool at once: a machine that died."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def ready(self) -> bool:
        return self.alive() and "ready." in self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log.read_text(errors="replace"):
                return
            if not self.alive():
                raise RuntimeError(f"worker {self.name} exited: "
                                   f"{self.log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} not ready in {timeout}s")


class Stack:
    """A run's database, prefix, simulator and workers on the drill's private services.

    ``host`` is the address the run's own processes use to reach the services (loopback, or a
    veth address inside a network namespace: see :meth:`env_for`)."""

    def __init__(self, services: PrivateServices, work: Path, label: str,
                 options: StackOptions, sim_host: str = "127.0.0.1") -> None:
        self.services = services
        self.work = work / label
        self.work.mkdir(parents=True, exist_ok=True)
        self.label = label
        self.options = options
        self.database = f"itas_drill_{label.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        self.prefix = f"itas-drill-{label}-{uuid.uuid4().hex[:6]}:"
        self.sim_host = sim_host
        self.sim_port = free_port()
        self.simulator: subprocess.Popen[bytes] | None = None
        self.workers: list[Worker] = []
        self.others: list[subprocess.Popen[bytes]] = []

    # -- set-up ----------------------------------------------------------------------------

    def start(self) -> Stack:
        self.services.postgres.create_database(self.database)
        fleet = yaml.safe_load(DEFAULT_FLEET.read_text())
        fleet["latency_scale"] = self.options.latency_scale
        fleet["hang_seconds"] = self.options.hang_seconds
        fleet["faults"] = {**fleet.get("faults", {}), **self.options.faults}
        (self.work / "fleet.yaml").write_text(yaml.safe_dump(fleet))
        endpoints = yaml.safe_load(DEFAULT_ENDPOINTS.read_text())
        if self.options.endpoint_timeout_s is not None:
            for endpoint in endpoints["endpoints"].values():
                endpoint["timeout_s"] = self.options.endpoint_timeout_s
        endpoints["llms"].update(self.options.extra_llms)
        (self.work / "endpoints.yaml").write_text(yaml.safe_dump(endpoints))
        log = self.work / "simulator.log"
        self.simulator = start_process(
            [sys.executable, "-m", "simulator", "--host", self.sim_host, "--port",
             str(self.sim_port), "--fleet", str(self.work / "fleet.yaml")], log, self.env())
        wait_http(self._health_url(), self.simulator, log)
        return self

    def env(self, host: str = "127.0.0.1", keys: dict[str, str] | None = None) -> dict[str, str]:
        """The whole environment of an itas process of this run reaching the services at
        ``host``; ``keys`` replaces the simulator's key variables (None: the right keys)."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("ITAS_") or k == "ITAS_DATASETS"}
        # A simulator on every address is reached where the services are (a veth address
        # inside a namespace); otherwise at the one address it listens on.
        sim = host if self.sim_host == "0.0.0.0" else self.sim_host
        return {
            **base, **(KEYS if keys is None else keys),
            "ITAS_HOME": str(self.work),
            "ITAS_DATABASE_URL": self.services.postgres.url(self.database, host),
            "ITAS_REDIS_URL": self.services.cache.url(host),
            "ITAS_CACHE_REDIS_URL": self.services.cache.url(host),
            "ITAS_BROKER_URL": self.services.broker.url(host),
            "ITAS_REDIS_PREFIX": self.prefix,
            "ITAS_SIMULATOR_URL": f"http://{sim}:{self.sim_port}",
            "ITAS_ENDPOINTS_FILE": str(self.work / "endpoints.yaml"),
            "ITAS_TASK_TIME_LIMIT_S": str(self.options.task_time_limit_s),
            "ITAS_VISIBILITY_TIMEOUT_S": str(self.options.visibility_timeout_s),
            "ITAS_UNACKED_RESTORE_INTERVAL_S": str(self.options.unacked_restore_interval_s),
            "PYTHONUNBUFFERED": "1",
        }

    def start_worker(self, *, concurrency: int = 2, pool: str = "prefork",
                     host: str = "127.0.0.1", wrapper: Sequence[str] = (),
                     keys: dict[str, str] | None = None, name: str | None = None,
                     wait: bool = True) -> Worker:
        """Start an `itas worker`; ``wrapper`` prefixes the command (``ip netns exec NS``)."""
        name = name or f"w{len(self.workers)}-{uuid.uuid4().hex[:4]}"
        log = self.work / f"worker-{name}.log"
        process = start_process(
            [*wrapper, *ITAS, "worker", "--pool", pool, "--concurrency", str(concurrency),
             "--hostname", f"{name}@drill", "--loglevel", "INFO"], log, self.env(host, keys))
        worker = Worker(process, name, log)
        self.workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    # -- commands --------------------------------------------------------------------------

    def itas(self, *args: str, timeout: float = 900, keys: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ITAS, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env(keys=keys), cwd=REPO)

    def start_itas(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        process = start_process([*ITAS, *args], self.work / f"{name}.log", self.env())
        self.others.append(process)
        return process

    def simulator_counts(self) -> dict[str, int]:
        """The simulator's replies by HTTP status: what the provider saw."""
        body = httpx.get(self._health_url(), timeout=5).json()
        return {str(k): int(v) for k, v in body["responses"].items()}

    def _health_url(self) -> str:
        host = "127.0.0.1" if self.sim_host == "0.0.0.0" else self.sim_host
        return f"http://{host}:{self.sim_port}/health"

    def database_url(self) -> str:
        return self.services.postgres.url(self.database)

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.kill_group()
        for process in self.others:
            stop(process, grace_s=5)
        if self.simulator is not None:
            stop(self.simulator, grace_s=5)
