"""`itas run` with a reasoning-style LLM (the simulator's sim-reasoner, which refuses max_tokens
and temperature as OpenAI's o-series does) as generator and fuser: under its marked name the
registry says how to call it, under its unmarked name the workers learn it from its 400."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.engine import Engine
from tests.services import RunServices

pytestmark = pytest.mark.slow


def generate_then_fuse(tmp_path: Path, llm: str, **fields: object) -> str:
    """Two samples of ``llm``, fused by ``llm``; ``fields`` set on both components."""
    component = {"model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
                 "max_tokens": 1024, **fields}
    path = tmp_path / f"{llm}.json"
    path.write_text(json.dumps({"name": f"reasoning {llm}", "layers": [
        [{**component, "type": "generator", "samples": 2}],
        [{**component, "type": "fuser"}]]}))
    return str(path)


def calls_of(database_url: str, llm: str) -> list[tuple[str, int, str]]:
    """(role, tokens_out, status) of every paid call of ``llm`` so far."""
    with psycopg.connect(database_url) as conn:
        return [(str(r[0]), int(r[1]), str(r[2])) for r in conn.execute(
            "SELECT role, tokens_out, status FROM llm_calls WHERE llm_name = %s AND NOT "
            "cache_hit", (llm,))]


# Each name on its own questions: both are the same simulated model on the wire, so the
# second would otherwise be served from the first's cache and call nothing.
@pytest.mark.parametrize(("llm", "split"), [("sim-reasoner", "test"),
                                            ("sim-reasoner-unmarked", "search")])
def test_a_reasoning_model_answers_as_generator_and_fuser(
        engine: Engine, tmp_path: Path, services: RunServices, llm: str, split: str) -> None:
    summary = engine.run_json(generate_then_fuse(tmp_path, llm), "--benchmark", "synth-math",
                              "--limit", "4", "--split", split)
    assert summary["questions"] == 4 and summary["failed_questions"] == 0
    assert summary["llm_calls"] == 4 * 3  # 2 samples + 1 fusion per question
    assert summary["score"] is not None and float(summary["score"]) > 0  # type: ignore[arg-type]
    roles = {role for role, _, status in calls_of(services.database_url, llm)
             if status == "ok"}
    assert roles == {"generate", "fuse"}
    learnt = "simulator: sim-reasoner refused max_tokens/temperature as a reasoning model does"
    logs = "\n".join(p.read_text(errors="replace") for p in engine.logs.glob("*.log"))
    # Marked, it is called in its form from the start; unmarked, its first 400 teaches it.
    assert (learnt in logs) == (llm == "sim-reasoner-unmarked")


def test_a_components_reasoning_effort_reaches_the_provider(
        engine: Engine, tmp_path: Path, services: RunServices) -> None:
    # The simulator thinks 1,024 tokens a choice at high effort, 256 at its default (medium),
    # and bills them as output tokens, as OpenAI does: the effort shows in what was paid. (A
    # call at another effort is another call: none of these is served from the cache.)
    summary = engine.run_json(
        generate_then_fuse(tmp_path, "sim-reasoner", reasoning_effort="high"),
        "--benchmark", "synth-math", "--limit", "2", "--split", "all")
    assert summary["failed_questions"] == 0
    with psycopg.connect(services.database_url) as conn:
        rows = conn.execute(
            "SELECT role, tokens_out FROM llm_calls WHERE evaluation_id = %s AND NOT cache_hit",
            (summary["evaluation_id"],)).fetchall()
    assert sorted(role for role, _ in rows) == ["fuse"] * 2 + ["generate"] * 4
    assert all(tokens > 1024 for _, tokens in rows)
