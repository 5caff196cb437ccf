"""`itas demo`: the whole service on this machine, end to end, with no account anywhere.

Starts what is missing (embedded PostgreSQL and Redis unless URLs are set, Celery workers,
Flower), runs the biggest job the service can run so far, prints its figures and where to look,
and stops the processes it started (the data services keep running; `itas services down`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from models.errors import ItasError

ITAS = [sys.executable, "-c", "from scheduler.cli import main; main()"]


@contextmanager
def background(name: str, args: list[str], log: Path, ready: str) -> Iterator[None]:
    """Run ``itas ARGS`` in the background until the block ends; wait for ``ready`` in its log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen([*ITAS, *args], stdout=out, stderr=subprocess.STDOUT,
                                   env=os.environ.copy(), start_new_session=True)
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


def flower_answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
