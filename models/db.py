"""Engine, sessions and the schema, for every process.

The schema is created and upgraded on first use by Alembic (``models/migrations``), under a
PostgreSQL advisory lock so that many workers starting at once do not race. Alembic's version
table is ``itas_schema_version``: Optuna, sharing the database, keeps its own
``alembic_version``.

Connection failures are translated to :class:`~models.errors.ServiceUnavailable` here, once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlmodel import Session

from models.errors import ServiceUnavailable

VERSION_TABLE = "itas_schema_version"
_MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same in every itas process.
_SCHEMA_LOCK_KEY = 0x17A5_5C4E

_engines: dict[str, Engine] = {}
_schema_ready: set[str] = set()
_lock = threading.Lock()


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` as users write it -> the psycopg 3 driver SQLAlchemy should use."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def get_engine(database_url: str) -> Engine:
    """One pooled engine per URL per process; the schema is ensured before it is returned."""
    with _lock:
        engine = _engines.get(database_url)
        if engine is None:
            engine = create_engine(
                sqlalchemy_url(database_url), pool_size=5, max_overflow=10,
                # A PostgreSQL that is away (restarting, a cut link) fails a connection within
                # seconds, and keepalives find a dead one, instead of hanging a task.
                connect_args={"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                              "keepalives_interval": 10, "keepalives_count": 3},
            )
            _ping_when_idle(engine)
            _engines[database_url] = engine
        if database_url not in _schema_ready:
            ensure_schema(engine)
            _schema_ready.add(database_url)
    return engine


@contextmanager
def one_statement(database_url: str) -> Iterator[Connection]:
    """A pooled connection in autocommit, for a single statement (a statement is atomic by
    itself). What a transaction would add is two round trips, psycopg's BEGIN and the COMMIT
    or ROLLBACK: on the paths that run for every LLM call (the durable cache's lookup, the
    call's record) they were two thirds of the round trips to PostgreSQL. SQLAlchemy puts the
    connection back in its usual mode when it returns to the pool."""
    with get_engine(database_url).connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


#: A pooled connection idle longer than this is tested with a round trip before it is used.
PING_AFTER_IDLE_S = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for connections idle more than
    PING_AFTER_IDLE_S: the pre-ping is a round trip on every check-out, and a worker checks
    out a connection twice per LLM call (the durable cache's lookup, the call's record), a
    tenth of its CPU per call (bench/README.md). A connection back in use within a second
    was working a second ago; one that a PostgreSQL restart broke in between fails its
    statement, which SQLAlchemy sees as a disconnect (it drops the whole pool) and the caller
    retries as for PostgreSQL being down (models/service_errors.py)."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned <= PING_AFTER_IDLE_S:
            return  # new, or in use a moment ago
        try:
            dbapi.execute("SELECT 1")
            dbapi.rollback()
        except Exception as exc:
            # The pool drops this connection and checks out another (SQLAlchemy's contract
            # for this exception in a checkout listener).
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def dispose_engines(*, close: bool = True) -> None:
    """Drop every pool. In a forked child pass ``close=False``: the parent's connections must
    be abandoned there, not closed under the parent's feet."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()
        _schema_ready.clear()


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade itas's tables to the newest revision. Idempotent and race-free."""
    from alembic import command
    from alembic.config import Config

    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise ServiceUnavailable(
            f"PostgreSQL at {redacted(str(engine.url))} does not answer "
            f"({_first_line(exc)}): start it with `itas services up`, or check ITAS_DATABASE_URL"
        ) from exc


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(database_url)) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
