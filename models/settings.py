"""Typed settings, read from ``ITAS_*`` environment variables (and a ``.env`` file if present).

Every process (CLI, scheduler, worker) reads its configuration here and nowhere else. A malformed
value becomes a :class:`~models.errors.ConfigError` whose one-line message names the variable;
values are never echoed back, because a URL may carry a password.

Service URLs are *resolved*, not just read: when ``ITAS_DATABASE_URL`` / ``ITAS_REDIS_URL`` are
unset, the URLs of the embedded services that ``itas services up`` started under ``ITAS_HOME``
are used (see :mod:`models.embedded_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.embedded_state import read_embedded_state
from models.errors import ConfigError, ServiceUnavailable

ENV_PREFIX = "ITAS_"

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_REDIS_SCHEMES = {"redis", "rediss", "unix"}


def _check_url(value: str | None, schemes: set[str], example: str) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or (parts.scheme != "unix" and not parts.hostname):
        # Deliberately not echoing the value: it may contain a password.
        raise ValueError(f"expected a URL like {example}")
    return value


class Settings(BaseSettings):
    """All of itas's settings. Environment variable = ``ITAS_`` + field name in capitals."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    #: PostgreSQL for itas's tables and Optuna's storage. Unset: the embedded one.
    database_url: str | None = None
    #: Redis for the Celery broker and the cache. Unset: the embedded one.
    redis_url: str | None = None
    #: Optional separate Redis (or Redis database) for the broker; defaults to redis_url.
    broker_url: str | None = None
    #: Optional separate Redis (or Redis database) for the LLM-response cache and rate limiter.
    cache_redis_url: str | None = None
    #: Every Redis key and broker queue itas creates starts with this, so several deployments
    #: (or test runs) can share one Redis without seeing each other.
    redis_prefix: str = "itas:"
    #: State directory: embedded services' data, logs, reports.
    home: Path = Path(".itas")
    #: The endpoints registry (YAML). Unset: the packaged default, pointing at the simulator.
    endpoints_file: Path | None = None
    #: Where the simulated LLM fleet listens (the offline default).
    simulator_url: str = "http://127.0.0.1:8300"
    #: Ports for the embedded services; 0 picks a free one on first start and keeps it.
    embedded_postgres_port: int = 0
    embedded_redis_port: int = 0
    #: Hard limit of one task. The broker's visibility timeout must exceed it, or a slow task
    #: still running would be handed to a second worker.
    task_time_limit_s: int = 1800
    #: After this long without an ack, the Redis broker redelivers a message (a dead worker's).
    visibility_timeout_s: int = 3600
    #: How often each worker sweeps for messages past their visibility timeout.
    unacked_restore_interval_s: int = 30
    #: Celery retries of a layer whose service or endpoint stayed down (backoff from 5 s,
    #: capped at 5 minutes: 12 wait about 35 minutes). Past them the question fails, unscored.
    layer_retries: int = Field(default=12, ge=0, le=100)
    #: How long the preflight waits for a worker to answer (``itas submit`` just after
    #: ``itas worker``: a worker takes several seconds to start) before it gives up.
    preflight_wait_s: float = Field(default=30.0, gt=0, le=3600)
    #: Flower's logins, ``user:password`` (several: comma-separated). ``itas flower`` refuses to
    #: listen beyond loopback without them. Secret: never echoed.
    flower_basic_auth: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        return _check_url(value, _POSTGRES_SCHEMES, "postgresql://user@host:5432/dbname")

    @field_validator("redis_url", "broker_url", "cache_redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return _check_url(value, _REDIS_SCHEMES, "redis://host:6379/0")

    @field_validator("simulator_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected a URL like http://127.0.0.1:8300")
        return value.rstrip("/")

    @field_validator("flower_basic_auth")
    @classmethod
    def _credentials(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        for credential in value.get_secret_value().split(","):
            user, sep, password = credential.partition(":")
            if not (user and sep and password):
                # Deliberately not echoing the value: it is a password.
                raise ValueError("expected user:password (several: comma-separated), "
                                 "both parts non-empty")
        return value

    @field_validator("embedded_postgres_port", "embedded_redis_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("expected a TCP port between 0 and 65535 (0 = pick a free one)")
        return value

    @field_validator("task_time_limit_s", "visibility_timeout_s", "unacked_restore_interval_s")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("expected a positive number of seconds")
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError("expected a non-empty prefix without spaces, such as itas:")
        return value

    @model_validator(mode="after")
    def _visibility_above_time_limit(self) -> Settings:
        if self.visibility_timeout_s <= self.task_time_limit_s:
            raise ValueError(
                "visibility_timeout_s must be larger than task_time_limit_s, "
                "or running tasks get delivered twice"
            )
        return self

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None and self.redis_url is None


def load_settings() -> Settings:
    """Read the environment; the one boundary where pydantic errors become ConfigError."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ()
        if loc:
            where = ENV_PREFIX + str(loc[0]).upper()
        else:  # a model-level rule: name both variables it relates
            where = f"{ENV_PREFIX}VISIBILITY_TIMEOUT_S / {ENV_PREFIX}TASK_TIME_LIMIT_S"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}") from exc


@dataclass(frozen=True)
class ServiceUrls:
    """Where the services are, after resolution. ``origin`` is "environment" or "embedded"."""

    database_url: str
    redis_url: str
    broker_url: str
    cache_redis_url: str
    origin: str


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """Return the URLs to use: the environment's if set, else the embedded services'.

    Raises ServiceUnavailable, saying what to run, when neither is available.
    """
    database_url, redis_url = settings.database_url, settings.redis_url
    origin = "environment"
    if database_url is None or redis_url is None:
        state = read_embedded_state(settings.home)
        if database_url is None and state.postgres_url is not None:
            database_url = state.postgres_url
            origin = "embedded"
        if redis_url is None and state.redis_url is not None:
            redis_url = state.redis_url
            origin = "embedded"
    missing = [
        name
        for name, value in (("ITAS_DATABASE_URL", database_url), ("ITAS_REDIS_URL", redis_url))
        if value is None
    ]
    if missing:
        raise ServiceUnavailable(
            f"{' and '.join(missing)} not set and no embedded services under "
            f"{settings.home}: run `itas services up` or set {' and '.join(missing)}"
        )
    assert database_url is not None and redis_url is not None
    return ServiceUrls(
        database_url=database_url,
        redis_url=redis_url,
        broker_url=settings.broker_url or redis_url,
        cache_redis_url=settings.cache_redis_url or redis_url,
        origin=origin,
    )
