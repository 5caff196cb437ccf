"""Several components of one kind in a layer, through `itas run` (real workers, the simulator
over HTTP): as in Archon's Layer.process each works on what the layer before handed on and
extends what the layer hands on, in component order; several critics' critiques of one
candidate are joined (models/archon_types.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.engine import Engine
from tests.services import RunServices
from worker.layer import CRITIQUE_JOINER
from worker.techniques.critic_prompt import parse as parse_critiques
from worker.techniques.ranker_prompt import parse as parse_ranking

pytestmark = pytest.mark.slow


def component(kind: str, llm: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 1024, **fields}


def run(engine: Engine, tmp_path: Path, name: str, *layers: list[dict[str, object]]
        ) -> dict[str, Any]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "layers": list(layers)}))
    summary = engine.run_json(str(path), "--benchmark", "synth-math", "--limit", "3")
    assert summary["questions"] == 3 and summary["failed_questions"] == 0
    return summary


def layer_states(database_url: str, evaluation_id: object) -> dict[tuple[str, int], Any]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT question_id, layer_index, state FROM layer_outputs "
                            "WHERE evaluation_id = %s", (evaluation_id,)).fetchall()
    return {(question, layer): state for question, layer, state in rows}


def test_two_rankers_hand_on_both_their_top_k_in_component_order(
        engine: Engine, services: RunServices, tmp_path: Path) -> None:
    summary = run(engine, tmp_path, "two-rankers",
                  [component("generator", "sim-small", samples=6)],
                  [component("ranker", "sim-critic", top_k=2),
                   component("ranker", "sim-large", top_k=3)],
                  [component("fuser", "sim-critic")])
    states = layer_states(services.database_url, summary["evaluation_id"])
    questions = {question for question, _ in states}
    assert len(questions) == 3
    with psycopg.connect(services.database_url) as conn:
        for question in questions:
            generated = [c["text"] for c in states[question, 0]["candidates"]]
            ranked = [c["text"] for c in states[question, 1]["candidates"]]
            assert len(generated) == 6 and len(ranked) == 2 + 3  # each ranker's top_k
            assert set(ranked) <= set(generated)
            # the first two are sim-critic's top 2, the next three sim-large's top 3: each
            # ranker's own reply (its order of the six) decides its part
            for llm, top_k, part in (("sim-critic", 2, ranked[:2]), ("sim-large", 3, ranked[2:])):
                reply = conn.execute(
                    "SELECT p.response_text FROM llm_calls l JOIN llm_calls p ON "
                    "p.request_hash = l.request_hash AND p.response_text IS NOT NULL "
                    "WHERE l.evaluation_id = %s AND l.question_id = %s AND l.role = 'rank' "
                    "AND l.llm_name = %s AND l.status = 'ok' LIMIT 1",
                    (summary["evaluation_id"], question, llm)).fetchone()
                assert reply is not None, (llm, question)
                order = parse_ranking(reply[0], 6, top_k)
                assert part == [generated[i - 1] for i in order[:top_k]], llm
            # and all five reach the fuser of the next layer
            fused = conn.execute(
                "SELECT p.request_messages FROM llm_calls l JOIN llm_calls p ON "
                "p.request_hash = l.request_hash AND p.request_messages IS NOT NULL "
                "WHERE l.evaluation_id = %s AND l.question_id = %s AND l.role = 'fuse' "
                "LIMIT 1", (summary["evaluation_id"], question)).fetchone()
            assert fused is not None
            prompt = "\n".join(m["content"] for m in fused[0])
            assert all(text in prompt for text in ranked)


def test_two_critics_give_each_candidate_both_critiques_in_component_order(
        engine: Engine, services: RunServices, tmp_path: Path) -> None:
    summary = run(engine, tmp_path, "two-critics",
                  [component("generator", "sim-small", samples=3)],
                  [component("critic", "sim-critic"), component("critic", "sim-large")],
                  [component("fuser", "sim-critic")])
    states = layer_states(services.database_url, summary["evaluation_id"])
    questions = {question for question, _ in states}
    assert len(questions) == 3
    with psycopg.connect(services.database_url) as conn:
        for question in questions:
            generated = states[question, 0]["candidates"]
            critiqued = states[question, 1]["candidates"]
            # the same three candidates go on, in order
            assert [c["text"] for c in critiqued] == [c["text"] for c in generated]
            written = {}
            for llm in ("sim-critic", "sim-large"):
                reply = conn.execute(
                    "SELECT p.response_text FROM llm_calls l JOIN llm_calls p ON "
                    "p.request_hash = l.request_hash AND p.response_text IS NOT NULL "
                    "WHERE l.evaluation_id = %s AND l.question_id = %s AND l.role = 'critique' "
                    "AND l.llm_name = %s AND l.status = 'ok' LIMIT 1",
                    (summary["evaluation_id"], question, llm)).fetchone()
                assert reply is not None, (llm, question)
                written[llm] = parse_critiques(reply[0], 3)
            for number, candidate in enumerate(critiqued, 1):
                assert candidate["critique"] == CRITIQUE_JOINER.join(
                    [written["sim-critic"][number], written["sim-large"][number]])
