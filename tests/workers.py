"""Real Celery worker processes for tests, started through `itas worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil

from scheduler.processes import ITAS


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.process = process
        self.name = name
        self.log = log

    def pool_children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_text():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log_text()[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"worker {self.name} not ready in {timeout}s: {self.log_text()[-2000:]}")

    def kill_everything(self) -> None:
        """SIGKILL the worker and its pool processes at once: a machine that died."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)


class WorkerPool:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.started: list[Worker] = []

    def start(self, *, concurrency: int = 1, extra_env: dict[str, str] | None = None,
              queues: str = "itas.layers,itas.control", pool: str | None = None) -> Worker:
        """``pool`` None: the worker's default pool (threads)."""
        name = f"test-{uuid.uuid4().hex[:6]}"
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*ITAS, "worker", "--concurrency", str(concurrency), "--queues", queues,
                 "--hostname", f"{name}@%h", "--loglevel", "INFO",
                 *(["--pool", pool] if pool else [])],
                env={**self.env, **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a kill takes the pool too
            )
        worker = Worker(process, name, log)
        self.started.append(worker)
        worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.kill_everything()
