"""Pooled PostgreSQL connections across a restart of the server: a connection left idle in
the pool while PostgreSQL restarted is replaced before use, so the statement that takes it
works (no error reaches the caller), without a round trip on every check-out."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from models.db import PING_AFTER_IDLE_S, dispose_engines, get_engine
from tests.outages import PrivatePostgres


def _backend_pid(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_idle_through_a_restart_is_replaced_before_use(tmp_path: Path) -> None:
    postgres = PrivatePostgres(tmp_path / "pg")
    try:
        first = _backend_pid(postgres.url)  # now idle in the pool
        postgres.stop()
        postgres.start()
        time.sleep(PING_AFTER_IDLE_S + 0.5)
        # The pooled connection's server process died with the restart; the check-out tests
        # it (idle more than PING_AFTER_IDLE_S), drops it and connects anew.
        second = _backend_pid(postgres.url)
        assert second != first
        assert _backend_pid(postgres.url) == second  # and the new one is pooled, not pinged
    finally:
        dispose_engines()
        postgres.stop()
