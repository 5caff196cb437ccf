"""One run's process: spawned, fed its stdin, its output captured within a bound, killed at the
deadline, and its end read as a :class:`~worker.sandbox.api.Result`.

The process is started in a process group of its own (``start_new_session``); the deadline or
the output bound kills that group with SIGKILL. In the sandbox the group is bwrap: its child,
pid 1 of the run's PID namespace, has ``--die-with-parent``, and when pid 1 dies the kernel
kills everything else in the namespace, so no process of the run survives whatever it forked
or however it re-parented itself.

How a limit is recognised (``Result.limit``), from what the run leaves:

- ``output``: more than ``output_bytes`` on stdout or on stderr (counted here, then killed);
- ``cpu``: ended by SIGXCPU, or SIGKILL that this module did not send (the hard CPU limit);
- ``file_size``: ended by SIGXFSZ (the launcher restores its default action), or a last error
  line ``[Errno 27] File too large`` from a child that ignored it;
- ``memory``: a last error line naming ``MemoryError`` or ``[Errno 12] Cannot allocate memory``;
- ``processes``: a last error line ``[Errno 11] Resource temporarily unavailable`` (fork or
  thread creation refused under RLIMIT_NPROC); a fork bomb whose forks keep failing without
  ending the program runs to its ``timeout`` instead;
- ``open_files``: a last error line ``[Errno 24] Too many open files``.

A program that catches these errors and goes on, or prints such a line itself, is read by what
it prints: a forged line only changes its own result. Signals go through bwrap as exit codes
``128 + N`` (its convention), so a program that exits with 152 or 153 itself reads as killed.
"""

from __future__ import annotations

import os
import re
import select
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.sandbox.api import Result

__all__ = ["execute"]

#: (pattern of stderr's last non-empty line, limit); the first match wins.
_ERRORS = (
    (re.compile(r"\bMemoryError\b|\[Errno 12\]"), "memory"),
    (re.compile(r"\[Errno 11\] Resource temporarily unavailable"), "processes"),
    (re.compile(r"\[Errno 24\]"), "open_files"),
    (re.compile(r"\[Errno 27\]"), "file_size"),
)
_SIGNALS: dict[int, str] = {signal.SIGXCPU: "cpu", signal.SIGXFSZ: "file_size",
                          signal.SIGKILL: "cpu"}
_CHUNK = 65536


def execute(argv: Sequence[str], *, env: dict[str, str], cwd: str | None, stdin: bytes,
            timeout: float, output_bytes: int, marker_read: int, pass_fds: Sequence[int],
            in_namespace: bool) -> Result:
    """Run ``argv`` to its end, the deadline or the output bound; the result.

    ``marker_read`` is the read end of the launcher's marker pipe (its write end among
    ``pass_fds``; both are closed here). ``in_namespace``: signals come as bwrap's
    ``128 + N`` exit codes rather than as negative return codes.
    """
    from worker.sandbox.api import Result, Status

    started = time.monotonic()
    deadline = started + timeout
    try:
        process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=cwd, pass_fds=tuple(pass_fds), start_new_session=True)
    except OSError as exc:
        os.close(marker_read)
        return Result(Status.REFUSED, "", "", 0.0, reason=f"could not start {argv[0]}: {exc}")
    finally:
        for fd in pass_fds:
            os.close(fd)
    assert process.stdin and process.stdout and process.stderr
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    captured = {out_fd: bytearray(), err_fd: bytearray()}
    why_killed: str | None = None
    with selectors.DefaultSelector() as selector:
        for fd in captured:
            selector.register(fd, selectors.EVENT_READ)
        pending = memoryview(stdin)
        stdin_fd = process.stdin.fileno()
        if pending:
            os.set_blocking(stdin_fd, False)
            selector.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            process.stdin.close()
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                why_killed = "timeout"
                break
            for key, _ in selector.select(left):
                if key.fd == stdin_fd:
                    try:
                        pending = pending[os.write(key.fd, pending[:_CHUNK]):]
                    except (BrokenPipeError, BlockingIOError) as exc:
                        pending = pending[:0] if isinstance(exc, BrokenPipeError) else pending
                    if not pending:
                        selector.unregister(key.fd)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                buffer = captured[key.fd]
                room = output_bytes - len(buffer)
                buffer += chunk[:room]
                if len(chunk) > room:
                    why_killed = "output"
            if why_killed:
                break
        if why_killed:
            _kill(process)
            _drain(selector, stdin_fd, time.monotonic() + 0.8)
    returncode = _wait(process, deadline)
    if returncode is None:
        # The pipes closed but the process lingers (it closed its output and keeps running).
        why_killed = why_killed or "timeout"
        _kill(process)
        returncode = process.wait()
    seconds = time.monotonic() - started
    for stream in (process.stdin, process.stdout, process.stderr):
        if not stream.closed:
            stream.close()
    reached = _read_marker(marker_read)
    stdout = captured[out_fd].decode("utf-8", "replace")
    stderr = captured[err_fd].decode("utf-8", "replace")
    if why_killed == "timeout":
        return Result(Status.TIMEOUT, stdout, stderr, seconds)
    if why_killed == "output":
        return Result(Status.KILLED, stdout, stderr, seconds, limit="output")
    if not reached:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}"
        return Result(Status.REFUSED, stdout, stderr, seconds, exit_code=returncode,
                      reason=f"the sandbox could not be set up: {reason}")
    killed_by = _signal_of(returncode, in_namespace)
    if killed_by in _SIGNALS:
        return Result(Status.KILLED, stdout, stderr, seconds, exit_code=returncode,
                      limit=_SIGNALS[killed_by])
    if returncode == 0:
        return Result(Status.OK, stdout, stderr, seconds, exit_code=0)
    lines = [line for line in stderr.splitlines() if line.strip()]
    for pattern, limit in _ERRORS:
        if lines and pattern.search(lines[-1]):
            return Result(Status.KILLED, stdout, stderr, seconds, exit_code=returncode,
                          limit=limit)
    return Result(Status.ERROR, stdout, stderr, seconds, exit_code=returncode)


def _drain(selector: selectors.BaseSelector, stdin_fd: int, until: float) -> None:
    """After the kill, until the output pipes close: their write ends are held by the run's
    processes, so their closing means every one of those is gone (the PID namespace is torn
    down after bwrap's death, not at once) and none is left when run() returns."""
    while any(fd != stdin_fd for fd in selector.get_map()):
        left = until - time.monotonic()
        if left <= 0:
            return
        for key, _ in selector.select(left):
            if key.fd == stdin_fd or not os.read(key.fd, _CHUNK):
                selector.unregister(key.fd)


def _wait(process: subprocess.Popen[bytes], deadline: float) -> int | None:
    """The process's exit code once it has ended, None if it is still running at the deadline.

    Blocks in poll() on a pidfd: ``Popen.wait(timeout)`` polls with sleeps of 1, 2, 4... ms,
    and bwrap, which closes the pipes as it exits, is still running at that point in about
    one run of six (1.2 ms lost each time). Without pidfds (Linux before 5.3), that poll.
    """
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:
        try:
            return process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            return None
    finally:
        os.close(pidfd)
    return process.wait()


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _signal_of(returncode: int, in_namespace: bool) -> int | None:
    if returncode < 0:
        return -returncode
    if in_namespace and returncode > 128:
        return returncode - 128
    return None


def _read_marker(fd: int) -> bool:
    try:
        os.set_blocking(fd, False)
        return os.read(fd, 1) == b"S"
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
