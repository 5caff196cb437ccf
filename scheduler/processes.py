"""Starting and stopping itas's own processes: one place for the demo, the tests and the benches.

Each process gets a session of its own (``start_new_session``), so :func:`stop` ends it with
everything it forked (a Celery worker's pool, say) and a Ctrl-C in the terminal reaches only
the parent that started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

#: The `itas` command in this very interpreter (whatever PATH holds, and without needing the
#: console script installed).
ITAS = [sys.executable, "-c", "from scheduler.cli import main; main()"]


def start_process(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``args`` with ``env`` (the whole environment), output (both streams) to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path,
              timeout_s: float = 60) -> None:
    """Wait until ``url`` answers; RuntimeError (with the log's tail) if the process exits
    first, TimeoutError if it does not answer in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer: {log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """SIGTERM the process's group, SIGKILL it after ``grace_s``; a no-op if it has ended."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(grace_s)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(grace_s)
