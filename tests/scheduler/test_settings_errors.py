"""A malformed ITAS_* value stops `itas` with one line naming the variable, exit 2."""

from __future__ import annotations

import os
import subprocess

import pytest

from scheduler.processes import ITAS

BAD_VALUES = [
    ("ITAS_DATABASE_URL", "nonsense"),
    ("ITAS_DATABASE_URL", "mysql://root@localhost/db"),
    ("ITAS_REDIS_URL", "http://127.0.0.1:6379"),
    ("ITAS_BROKER_URL", "redis://"),
    ("ITAS_CACHE_REDIS_URL", "postgresql://x@y/z"),
    ("ITAS_SIMULATOR_URL", "ftp://127.0.0.1:8300"),
    ("ITAS_EMBEDDED_POSTGRES_PORT", "99999"),
    ("ITAS_EMBEDDED_REDIS_PORT", "six"),
    ("ITAS_TASK_TIME_LIMIT_S", "-1"),
    ("ITAS_REDIS_PREFIX", "has space"),
]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ITAS_")}
    return subprocess.run([*ITAS, *args], env={**clean, **env}, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize(("variable", "value"), BAD_VALUES)
def test_malformed_variable_is_named_in_one_line(variable: str, value: str) -> None:
    done = _run(["services", "status"], {variable: value})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0]
    assert "Traceback" not in done.stderr


def test_password_in_a_malformed_url_is_not_echoed() -> None:
    done = _run(["services", "status"], {"ITAS_DATABASE_URL": "mysql://u:s3cret-pw@h/db"})
    assert done.returncode == 2
    assert "s3cret-pw" not in done.stderr + done.stdout


def test_visibility_timeout_below_task_limit_is_refused() -> None:
    done = _run(["services", "status"],
                {"ITAS_VISIBILITY_TIMEOUT_S": "60", "ITAS_TASK_TIME_LIMIT_S": "120"})
    assert done.returncode == 2
    assert "ITAS_VISIBILITY_TIMEOUT_S" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_worker_queue_is_a_user_error() -> None:
    done = _run(["worker", "--queues", "itas.layrs"], {})
    assert done.returncode == 2
    assert "itas.layrs" in done.stderr and "itas.layers" in done.stderr
    assert "Traceback" not in done.stderr
