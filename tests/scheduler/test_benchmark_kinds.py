"""Every kind of benchmark through `itas run`: CLI -> PostgreSQL -> workers -> the simulator
over HTTP -> the benchmark's own scorer. An ensemble (10 samples, ranked, fused) beats its
generator alone on each kind; answers keep the final text beside what was extracted from it;
a reward-model ranker (Archon's PairRM configs) runs on the simulator's rerank route; a
two-turn question answers its second turn with its own first answer in the conversation."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.engine import Engine, datasets
from tests.services import RunServices

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PAIRRM = REPO / "examples" / "architectures" / "pairrm-rank-then-fuse.json"


def component(kind: str, llm: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 1024, **fields}


def architecture(tmp_path: Path, name: str, *layers: list[dict[str, object]]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "layers": list(layers)}))
    return str(path)


def needs_data(benchmark: str) -> None:
    # As ../shared/datasets/README.md asks: skip, saying why, on a clone without them.
    if benchmark in ("gsm8k", "mixeval-hard-mc", "mt-bench") and datasets() is None:
        pytest.skip(f"{benchmark} needs the public datasets: set ITAS_DATASETS to the folder "
                    "holding gsm8k/, mixeval_hard/ and mt_bench/ (../shared/datasets here)")


@pytest.mark.parametrize("benchmark", ["synth-math", "gsm8k", "math", "mixeval-hard-mc"])
def test_an_ensemble_beats_its_generator_alone_on_every_kind(
    engine: Engine, services: RunServices, tmp_path: Path, benchmark: str
) -> None:
    needs_data(benchmark)
    alone = architecture(tmp_path, "alone", [component("generator", "sim-small")])
    ensemble = architecture(
        tmp_path, "ensemble", [component("generator", "sim-small", samples=10)],
        [component("ranker", "sim-critic", top_k=5)], [component("fuser", "sim-critic")])
    args = ("--benchmark", benchmark, "--limit", "40", "--split", "test")
    single = engine.run_json(alone, *args)
    combined = engine.run_json(ensemble, *args)
    for summary in (single, combined):
        assert summary["questions"] == 40 and summary["failed_questions"] == 0
        assert summary["provider_calls"] > 0 or summary["cache_hits"] > 0  # real answers
    assert combined["llm_calls"] >= 40 * 12
    assert combined["score"] > single["score"], (benchmark, single["score"],
                                                 combined["score"])
    with psycopg.connect(services.database_url) as conn:
        rows = conn.execute(
            "SELECT final_text, final_answer, score FROM answers WHERE evaluation_id = %s",
            (combined["evaluation_id"],)).fetchall()
        roles = dict(conn.execute(
            "SELECT role, count(*) FROM llm_calls WHERE evaluation_id = %s GROUP BY role",
            (combined["evaluation_id"],)).fetchall())
    assert all(text for text, _, _ in rows)  # the whole final reply is kept
    assert sum(1 for _, extracted, _ in rows if extracted) >= 30  # and what it answered
    assert {"generate", "rank", "fuse"} <= set(roles)


def test_archons_pairrm_config_ranks_with_the_simulated_reward_model(
    engine: Engine, services: RunServices
) -> None:
    summary = engine.run_json(str(PAIRRM), "--benchmark", "synth-math", "--limit", "5")
    assert summary["questions"] == 5 and summary["failed_questions"] == 0
    assert summary["parse_failures"] == 0
    with psycopg.connect(services.database_url) as conn:
        scored = conn.execute(
            "SELECT count(*), min(endpoint), min(response_text) FROM llm_calls "
            "WHERE evaluation_id = %s AND role = 'score'",
            (summary["evaluation_id"],)).fetchone()
    assert scored is not None and scored[0] == 5
    assert scored[1] == "simulator-rerank" and '"scores"' in scored[2]


def test_a_second_turn_sees_the_first_turns_own_answer(
    engine: Engine, services: RunServices, tmp_path: Path
) -> None:
    needs_data("mt-bench")
    three_layers = architecture(
        tmp_path, "three", [component("generator", "sim-medium", samples=3)],
        [component("ranker", "sim-critic", top_k=2)], [component("fuser", "sim-large")])
    summary = engine.run_json(three_layers, "--benchmark", "mt-bench", "--limit", "2",
                              "--split", "all", "--judge", "sim-frontier")
    assert summary["questions"] == 2 and summary["failed_questions"] == 0
    with psycopg.connect(services.database_url) as conn:
        asked = conn.execute("SELECT question_ids FROM evaluations WHERE id = %s",
                             (summary["evaluation_id"],)).fetchone()
        assert asked is not None
        questions = conn.execute(
            "SELECT question_id, turns FROM questions WHERE benchmark = 'mt-bench' AND "
            "question_id = ANY(%s)", (list(asked[0]),)).fetchall()
        assert len(questions) == 2
        for question_id, turns in questions:
            assert len(turns) == 2
            first = conn.execute(
                "SELECT state FROM layer_outputs WHERE evaluation_id = %s AND question_id = %s "
                "AND layer_index = 2", (summary["evaluation_id"], question_id)).fetchone()
            assert first is not None
            first_answer = first[0]["candidates"][0]["text"]
            second_turn = conn.execute(
                "SELECT request_messages FROM llm_calls WHERE evaluation_id = %s AND "
                "question_id = %s AND layer_index >= 3 AND request_messages IS NOT NULL "
                "AND role <> 'judge'",
                (summary["evaluation_id"], question_id)).fetchall()
            assert second_turn, "no second-turn call was paid for"
            for (messages,) in second_turn:
                said = [(m["role"], m["content"]) for m in messages]
                assert ("assistant", first_answer) in said
                assert ("user", turns[0]) in said
            final = conn.execute(
                "SELECT final_text, score, score_note FROM answers WHERE evaluation_id = %s "
                "AND question_id = %s", (summary["evaluation_id"], question_id)).fetchone()
            # Graded by the benchmark's judge, turn by turn: a mean grade of 1-10.
            assert final is not None and final[0] and 1 <= final[1] <= 10
