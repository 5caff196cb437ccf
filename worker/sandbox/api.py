"""The sandbox's value objects and entry points (contracts: worker/sandbox/__init__.py).

This first version holds the interface and the unsafe path only (a bare subprocess); the
bubblewrap path replaces the ``NotImplementedError`` below.
"""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "Result", "Status", "availability", "run", "slots"]


class Status(enum.StrEnum):
    OK = "ok"            # exit code 0
    ERROR = "error"      # non-zero exit code or killed by a signal the code caused
    TIMEOUT = "timeout"  # still running at the wall-clock timeout: the whole tree killed
    KILLED = "killed"    # a limit was hit (Result.limit says which)
    REFUSED = "refused"  # not run (Result.reason says why)


@dataclass(frozen=True)
class Limits:
    """Per-run limits (setrlimit, and the captured output). ``cpu_s`` None: the timeout,
    rounded up, plus one second."""

    memory_mb: int = 1024
    cpu_s: int | None = None
    processes: int = 64
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class Result:
    status: Status
    stdout: str
    stderr: str
    seconds: float
    exit_code: int | None = None
    limit: str | None = None
    reason: str | None = None


_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def slots() -> int:
    """How many runs go at once in this process."""
    return max(1, os.cpu_count() or 1)


def availability() -> str | None:
    """None when a sandbox can be set up on this machine; else one line: why not, and what to
    change."""
    raise NotImplementedError("the bubblewrap sandbox is not built yet")


def run(source: str | None = None, *, files: Mapping[str, str] | None = None,
        entry: str = "main.py", stdin: str = "", timeout: float,
        limits: Limits | None = None, unsafe: bool = False) -> Result:
    """Run ``source`` (or ``files``, a name -> text mapping written into the working
    directory, starting ``entry``) with Python, ``stdin`` on its standard input."""
    if source is None and not files:
        return Result(Status.REFUSED, "", "", 0.0, reason="nothing to run")
    if not unsafe:
        raise NotImplementedError("the bubblewrap sandbox is not built yet")
    with _SLOTS, tempfile.TemporaryDirectory(prefix="itas-unsafe-") as workdir:
        for name, text in ({entry: source} if source is not None else dict(files or {})).items():
            (Path(workdir) / name).write_text(text, encoding="utf-8")
        started = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-I", entry], cwd=workdir, input=stdin,
                                  capture_output=True, text=True, timeout=timeout, env={})
        except subprocess.TimeoutExpired as exc:
            return Result(Status.TIMEOUT, str(exc.stdout or ""), str(exc.stderr or ""),
                          time.monotonic() - started)
        status = Status.OK if done.returncode == 0 else Status.ERROR
        return Result(status, done.stdout, done.stderr, time.monotonic() - started,
                      exit_code=done.returncode)
