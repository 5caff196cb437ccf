"""`itas services up/env/status/down` with no URLs set: real embedded PostgreSQL and Redis."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from scheduler.processes import ITAS

pytestmark = pytest.mark.slow


def _itas(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    env["ITAS_HOME"] = str(home)
    return subprocess.run([*ITAS, *args], env=env, capture_output=True, text=True, timeout=180)


def _exports(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.strip().splitlines():
        assert line.startswith("export "), line
        key, _, value = line.removeprefix("export ").partition("=")
        pairs[key] = shlex.split(value)[0]
    return pairs


def _server_processes(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(home) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.append(proc)
    return found


def test_embedded_services_boot_answer_persist_and_stop(tmp_path: Path) -> None:
    home = tmp_path / "itas-home"
    try:
        up = _itas(home, "services", "up")
        assert up.returncode == 0, up.stderr

        urls = _exports(_itas(home, "services", "env").stdout)
        assert set(urls) == {"ITAS_DATABASE_URL", "ITAS_REDIS_URL"}
        assert "127.0.0.1" in urls["ITAS_DATABASE_URL"] and "127.0.0.1" in urls["ITAS_REDIS_URL"]

        with psycopg.connect(urls["ITAS_DATABASE_URL"], autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        client = redis.Redis.from_url(urls["ITAS_REDIS_URL"])
        client.set("kept", "yes")
        client.close()

        status = _itas(home, "services", "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.count('"answers": true') == 2

        again = _itas(home, "services", "up")  # idempotent: same servers, same URLs
        assert again.returncode == 0, again.stderr
        assert _exports(_itas(home, "services", "env").stdout) == urls

        down = _itas(home, "services", "down")
        assert down.returncode == 0, down.stderr
        assert _server_processes(home) == []
        assert _itas(home, "services", "status").returncode == 1

        assert _itas(home, "services", "up").returncode == 0
        assert _exports(_itas(home, "services", "env").stdout) == urls  # ports are kept
        with psycopg.connect(urls["ITAS_DATABASE_URL"]) as conn:
            assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
        client = redis.Redis.from_url(urls["ITAS_REDIS_URL"])
        assert client.get("kept") == b"yes"
        client.close()
    finally:
        _itas(home, "services", "down")
    assert _server_processes(home) == []


def test_env_without_services_says_what_to_run(tmp_path: Path) -> None:
    done = _itas(tmp_path / "empty-home", "services", "env")
    assert done.returncode == 1
    assert "itas services up" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_urls_set_nothing_is_started(tmp_path: Path) -> None:
    home = tmp_path / "external"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    env.update(ITAS_HOME=str(home), ITAS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
               ITAS_REDIS_URL="redis://127.0.0.1:1/0")
    done = subprocess.run([*ITAS, "services", "up"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert _server_processes(home) == []
    assert not (home / "postgres").exists() and not (home / "redis").exists()
    # and status reports that the given servers do not answer
    assert "no" in done.stdout
    status = subprocess.run([*ITAS, "services", "status"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 1
