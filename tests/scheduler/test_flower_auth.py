"""`itas flower`: a login from ITAS_FLOWER_BASIC_AUTH, never beyond loopback without one, and
tasks listed with named arguments. A real Flower process on the run's Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scheduler.processes import ITAS, start_process, stop, wait_http
from scheduler.services.ports import free_port
from tests.services import RunServices

LOGIN = ("watcher", "s3cret:with:colons")


def _itas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ITAS, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60)


def test_flower_refuses_to_listen_beyond_loopback_without_a_login(
        services: RunServices) -> None:
    env = {**services.env(), "ITAS_FLOWER_BASIC_AUTH": ""}
    done = _itas(env, "flower", "--address", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2
    assert "ITAS_FLOWER_BASIC_AUTH" in done.stderr and "Traceback" not in done.stderr


def test_a_malformed_login_is_named_without_echoing_it(services: RunServices) -> None:
    env = {**services.env(), "ITAS_FLOWER_BASIC_AUTH": "only-a-password-XYZZY"}
    done = _itas(env, "flower", "--port", str(free_port()))
    assert done.returncode == 2
    assert "ITAS_FLOWER_BASIC_AUTH: expected user:password" in done.stderr
    assert "XYZZY" not in done.stderr and "Traceback" not in done.stderr


def test_flower_asks_for_the_login_and_shows_named_task_arguments(
        services: RunServices, tmp_path: Path) -> None:
    port = free_port()
    # A Redis prefix of its own (inside the run's, which is dropped at the end): the task sent
    # below reaches no worker of the other tests and no queue they count.
    env = {**os.environ, **services.env(), "ITAS_FLOWER_BASIC_AUTH": ":".join(LOGIN),
           "ITAS_REDIS_PREFIX": f"{services.redis_prefix}flower-test:"}
    log = tmp_path / "flower.log"
    flower = start_process([*ITAS, "flower", "--address", "0.0.0.0", "--port", str(port)],
                           log, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthcheck", flower, log, timeout_s=60)
        for path in ("/", "/tasks", "/api/tasks", "/api/workers"):
            assert httpx.get(base + path).status_code == 401, path
        assert httpx.get(base + "/api/tasks", auth=(LOGIN[0], "wrong")).status_code == 401
        assert LOGIN[1] not in " ".join(_command_lines(flower.pid))  # not on the command line

        # A layer task for an evaluation that does not exist, sent the way the scheduler sends
        # them; no worker takes it, Flower sees it sent (events on) and shows what it is about.
        subprocess.run(
            [sys.executable, "-c", "from worker.celery_app import app; app.send_task("
             "'worker.tasks.run_layer', args=[987654, 'q-flower-1', 2], queue='itas.layers')"],
            env=env, check=True, timeout=60)
        deadline = time.monotonic() + 30
        shown: list[str] = []
        while time.monotonic() < deadline:
            tasks = httpx.get(base + "/api/tasks", auth=LOGIN).json()
            shown = [f"{t['name']} {t['args']}" for t in tasks.values()]
            if shown:
                break
            time.sleep(0.5)
        assert "worker.tasks.run_layer evaluation=987654 question=q-flower-1 layer=2" in shown
    finally:
        stop(flower)


def _command_lines(pid: int) -> list[str]:
    import psutil

    process = psutil.Process(pid)
    return [" ".join(p.cmdline()) for p in [process, *process.children(recursive=True)]]
