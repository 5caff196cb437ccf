"""Code benchmarks end to end (real workers, the simulator over HTTP, real PostgreSQL and
Redis): answers scored by running their code in the workers' sandbox, each run's result stored
beside the answer; generate x10 -> unit tests that run -> rank -> fuse beats a single
generator; a search job on a code benchmark completes (examples/search-code.yaml's shape).

Needs the sandbox (worker/sandbox), the code benchmarks (benchmarks/code) and the simulator's
code role; humaneval and mbpp need $ITAS_DATASETS."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psycopg
import pytest

from models.search_job_reader import load_search_job
from tests.engine import Engine
from tests.scheduler.test_search import FINISHED, job_state, run_scheduler, submit, trials_of
from tests.services import RunServices

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ["humaneval", "mbpp", "code-contests"]
#: The generator: weak enough that one sample is often wrong, so executed tests have
#: something to pick from among ten.
GENERATOR = "sim-small"
JUDGE = "sim-critic"


def component(kind: str, llm: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
            "max_tokens": 1024, **fields}


SINGLE = [[component("generator", GENERATOR)]]
TESTED = [[component("unit_test_generator", JUDGE, unit_test_cap=5, execute_tests=True)],
          [component("generator", GENERATOR, samples=10)],
          [component("unit_test_evaluator", JUDGE, top_k=3, execute_tests=True)],
          [component("ranker", JUDGE, top_k=1)],
          [component("fuser", JUDGE)]]


def needs_data(benchmark: str) -> None:
    if benchmark != "code-contests" and not os.environ.get("ITAS_DATASETS"):
        pytest.skip(f"{benchmark} needs the public datasets: set ITAS_DATASETS "
                    "(../shared/datasets here)")


def run(engine: Engine, tmp_path: Path, benchmark: str, name: str,
        layers: list[list[dict[str, object]]], *flags: str) -> dict[str, Any]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "layers": layers}))
    summary = engine.run_json(str(path), "--benchmark", benchmark, "--limit", "6",
                              "--split", "all", *flags)
    assert summary["questions"] == 6 and summary["failed_questions"] == 0, summary
    return summary


def answers(database_url: str, evaluation_id: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT question_id, score, test_results FROM answers WHERE "
                            "evaluation_id = %s ORDER BY question_id",
                            (evaluation_id,)).fetchall()


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_executed_unit_tests_beat_a_single_generator_and_every_run_is_stored(
        engine: Engine, services: RunServices, tmp_path: Path, benchmark: str) -> None:
    needs_data(benchmark)
    single = run(engine, tmp_path, benchmark, "single", SINGLE)
    tested = run(engine, tmp_path, benchmark, "tested", TESTED)
    assert tested["score"] > single["score"], (single["score"], tested["score"])
    assert not single["unsafe_no_sandbox"] and not tested["unsafe_no_sandbox"]

    for summary in (single, tested):  # each answer's runs, beside it
        for question, score, results in answers(services.database_url,
                                                summary["evaluation_id"]):
            assert results, question
            assert all({"name", "passed", "status"} <= set(r) for r in results), results
            assert score == (1.0 if all(r["passed"] for r in results) else 0.0), question

    with psycopg.connect(services.database_url) as conn:
        # the executed evaluator asked no LLM: no call of its role, none at its layer
        roles = dict(conn.execute(
            "SELECT role, count(*) FROM llm_calls WHERE evaluation_id = %s GROUP BY role",
            (tested["evaluation_id"],)).fetchall())
        assert "unit_test_evaluate" not in roles and roles["unit_test_generate"] >= 6, roles
        states = conn.execute(
            "SELECT state FROM layer_outputs WHERE evaluation_id = %s AND layer_index = 2",
            (tested["evaluation_id"],)).fetchall()
    assert len(states) == 6
    for (state,) in states:  # ten candidates' outcomes of five tests, three handed on
        results = state["test_results"]
        assert len(results) == 10 and len(state["candidates"]) == 3
        assert all(r["tests"] <= 5 and len(r["outcomes"]) == r["tests"] for r in results)
        kept = sorted((r["passed"] for r in results), reverse=True)[:3]
        assert kept[0] >= kept[-1]


def test_unsafe_no_sandbox_runs_the_code_and_is_recorded_with_the_run(
        engine: Engine, services: RunServices, tmp_path: Path) -> None:
    summary = run(engine, tmp_path, "code-contests", "unsafe", SINGLE, "--unsafe-no-sandbox")
    assert summary["unsafe_no_sandbox"] is True
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute("SELECT unsafe_no_sandbox FROM evaluations WHERE id = %s",
                           (summary["evaluation_id"],)).fetchone()
    assert row == (True,)
    assert all(results for _, _, results in answers(services.database_url,
                                                    summary["evaluation_id"]))


def test_the_example_code_job_validates_and_a_six_trial_search_completes(
        engine: Engine, services: RunServices, tmp_path: Path) -> None:
    example = ROOT / "examples" / "search-code.yaml"
    job, warnings = load_search_job(example)
    assert job.trials == 6 and not warnings
    done = engine.itas("validate", str(example))
    assert done.returncode == 0, done.stderr
    spec = example.read_text().replace("name: search-code", "name: test-search-code")
    path = tmp_path / "job.yaml"
    path.write_text(spec)
    job_id = submit(engine, path)
    log = tmp_path / "scheduler.log"
    # Alone it takes about a minute; on a loaded 2-core machine it took over 150 s.
    assert run_scheduler(engine, job_id, log, 420) == 0, log.read_text()[-3000:]
    assert job_state(services, job_id) == "completed"
    trials = trials_of(services, job_id)
    assert len(trials) == 6 and all(t.state in FINISHED for t in trials)
    with psycopg.connect(services.database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(a.test_results) FROM answers a JOIN evaluations e "
            "ON e.id = a.evaluation_id WHERE e.job_id = %s", (job_id,)).fetchone()
    assert row is not None and row[0] > 0 and row[1] == row[0]
