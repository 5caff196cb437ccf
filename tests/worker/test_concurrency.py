"""How much a worker runs at once is sized from the endpoints registry (worker/concurrency.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.endpoints import load_registry
from models.errors import ConfigError
from worker.concurrency import MAX_THREADS, MIN_THREADS, call_threads, task_threads


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
