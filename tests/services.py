"""How the test suite finds PostgreSQL and Redis, and gives each run its own corner of them.

- ``ITAS_DATABASE_URL`` and ``ITAS_REDIS_URL`` set (CI on this machine): those servers are
  used, and a test that needs them fails, saying how to start them, when they do not answer.
- unset (a fresh machine): the embedded servers under ``ITAS_HOME`` (default ``./.itas``) are
  started, and stopped again at the end if this run started them.

Under pytest-xdist the controller boots the embedded servers once, before the test processes
start, and stops them after they end (tests/conftest.py); each process then finds the URLs set.

Each run (each xdist process) creates its own database (``itas_test_<hex>``) and Redis key prefix
(``itas-test-<hex>:``), and drops both at the end.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from sqlalchemy.engine import make_url

from models.settings import Settings
from scheduler.services import manager

REPO = Path(__file__).resolve().parents[1]

START_POSTGRES = (
    "start it (on the project's dev machines: pg_ctlcluster --skip-systemctl-redirect "
    "$(ls /etc/postgresql) main start), or unset ITAS_DATABASE_URL and ITAS_REDIS_URL to let "
    "the tests boot the embedded servers"
)
START_REDIS = (
    "start it (on the project's dev machines: redis-server --daemonize yes --bind 127.0.0.1 "
    "--port 6379 --save '' --appendonly no), or unset ITAS_DATABASE_URL and ITAS_REDIS_URL to "
    "let the tests boot the embedded servers"
)


@dataclass
class RunServices:
    admin_database_url: str
    database_url: str
    redis_url: str
    redis_prefix: str
    started_embedded: bool
    home: Path

    def env(self) -> dict[str, str]:
        """Environment for itas processes of this run (workers, CLI)."""
        return {
            "ITAS_DATABASE_URL": self.database_url,
            "ITAS_REDIS_URL": self.redis_url,
            "ITAS_REDIS_PREFIX": self.redis_prefix,
        }


class ServiceMissing(Exception):
    pass


def _check_postgres(url: str) -> None:
    try:
        with psycopg.connect(url, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        raise ServiceMissing(
            f"PostgreSQL at {make_url(url).render_as_string()} does not answer ({exc}); "
            f"{START_POSTGRES}"
        ) from exc


def _check_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceMissing(f"Redis at {url} does not answer ({exc}); {START_REDIS}") from exc
    finally:
        client.close()


def itas_home() -> Path:
    """Where the embedded servers live (``ITAS_HOME``, by default ``./.itas``)."""
    return Path(os.environ.get("ITAS_HOME", REPO / ".itas"))


def boot_embedded() -> tuple[str, str, bool]:
    """(database URL, Redis URL, whether this call started them): the URLs given in the
    environment, and the embedded servers under ``ITAS_HOME`` for those not given."""
    db_url = os.environ.get("ITAS_DATABASE_URL")
    redis_url = os.environ.get("ITAS_REDIS_URL")
    if db_url and redis_url:
        return db_url, redis_url, False
    settings = Settings(home=itas_home(), database_url=db_url or None,
                        redis_url=redis_url or None)
    was_running = all(row.answers for row in manager.status(settings))
    state = manager.up(settings)
    db_url = db_url or state.postgres_url
    redis_url = redis_url or state.redis_url
    assert db_url and redis_url
    return db_url, redis_url, not was_running


def stop_embedded(home: Path) -> None:
    manager.down(Settings(home=home))


def open_services() -> RunServices:
    db_url, redis_url, started = boot_embedded()
    _check_postgres(db_url)
    _check_redis(redis_url)

    run = uuid.uuid4().hex[:10]
    name = f"itas_test_{run}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    test_db = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    return RunServices(db_url, test_db, redis_url, f"itas-test-{run}:", started, itas_home())


def close_services(services: RunServices) -> None:
    from models.db import dispose_engines

    dispose_engines()
    name = make_url(services.database_url).database
    with psycopg.connect(services.admin_database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    client = redis.Redis.from_url(services.redis_url)
    try:
        keys = list(client.scan_iter(match=services.redis_prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()
    if services.started_embedded:
        stop_embedded(services.home)
