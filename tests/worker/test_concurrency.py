"""How much a worker runs at once is sized from the endpoints registry (worker/concurrency.py)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from models.endpoints import load_registry
from models.errors import ConfigError
from worker.concurrency import (
    MAX_THREADS,
    MIN_THREADS,
    call_threads,
    open_files_needed,
    task_threads,
)


def _registry(tmp_path: Path, endpoints: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "endpoints.yaml"
    path.write_text(f"endpoints:\n{endpoints}\nllms:\n  m: {{endpoint: a, "
                    "price_in_per_mtok: 0, price_out_per_mtok: 0}\n")
    return load_registry(path)


def test_threads_are_the_in_flight_limits_of_every_key_of_every_endpoint(tmp_path: Path) -> None:
    registry = _registry(tmp_path, """\
  a: {kind: openai, base_url: "http://127.0.0.1:1/v1", api_key_envs: [K1, K2], max_in_flight: 40}
  b: {kind: openai, base_url: "http://127.0.0.1:2/v1", api_key_envs: [], max_in_flight: 30}""")
    assert registry.in_flight_capacity() == 2 * 40 + 30
    assert task_threads(registry) == 110


def test_threads_stay_within_bounds(tmp_path: Path) -> None:
    one = _registry(tmp_path, '  a: {kind: openai, base_url: "http://127.0.0.1:1/v1", '
                              'max_in_flight: 1}')
    assert task_threads(one) == MIN_THREADS
    many = _registry(tmp_path, '  a: {kind: openai, base_url: "http://127.0.0.1:1/v1", '
                               'api_key_envs: [A, B, C], max_in_flight: 1000}')
    assert task_threads(many) == MAX_THREADS


def test_the_default_registry_fills_the_simulators_limits() -> None:
    # Two keys of 64 in flight on the chat endpoint and on the rerank endpoint.
    assert task_threads(load_registry(None, simulator_url="http://127.0.0.1:8300")) == 256


def test_call_threads_follow_the_registry_unless_set(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_registry(None, simulator_url="http://127.0.0.1:8300")
    monkeypatch.delenv("ITAS_CALL_THREADS", raising=False)
    assert call_threads(registry) == 256
    monkeypatch.setenv("ITAS_CALL_THREADS", "12")
    assert call_threads(registry) == 12
    monkeypatch.setenv("ITAS_CALL_THREADS", "many")
    with pytest.raises(ConfigError, match="ITAS_CALL_THREADS"):
        call_threads(registry)


def _limit_in_child(soft: int, hard: int, needed: int) -> tuple[int, int, str]:
    """Run raise_open_files_limit(needed) in a child process started with the given limits:
    (the limit it returned, the soft limit the child then had, what it logged)."""
    code = (
        "import logging, resource\n"
        "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
        "from worker.concurrency import raise_open_files_limit\n"
        f"got = raise_open_files_limit({needed})\n"
        "print(got, resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    # The limits are set by a first program that then execs the child, not by a preexec_fn:
    # a fork from this multi-threaded test process can hang in preexec_fn when another
    # thread held a lock at the fork, and Popen waits for the exec without a timeout (the
    # suite stalled in this test twice, to pytest's 300 s limit).
    start = ("import os, resource, sys\n"
             f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
             "os.execv(sys.executable, [sys.executable, '-c', sys.argv[1]])\n")
    done = subprocess.run(
        [sys.executable, "-c", start, code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got, now = done.stdout.split()
    return int(got), int(now), done.stderr


def test_a_worker_raises_its_open_files_limit_to_what_its_threads_may_hold() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    needed = open_files_needed(MAX_THREADS)
    if hard != resource.RLIM_INFINITY and hard < needed + 1:
        pytest.fail(f"this machine's hard limit on open files ({hard}) is below {needed + 1}")
    got, now, logged = _limit_in_child(256, hard, needed)
    assert got == now == needed
    assert logged == ""


def test_a_hard_limit_too_low_is_used_in_full_and_named_in_a_warning() -> None:
    got, now, logged = _limit_in_child(256, 512, open_files_needed(MAX_THREADS))
    assert got == now == 512
    assert "hard limit on open files is 512" in logged and "ITAS_CALL_THREADS" in logged
