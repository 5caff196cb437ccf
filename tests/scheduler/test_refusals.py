"""No silent zero, end to end (CLI -> PostgreSQL -> broker -> worker processes -> simulator):
a question whose prompt is over the LLM's context window is recorded ``refused`` with the
provider's reason, beside the questions scored as usual; a parameter the LLM refuses stops the
run with the provider's message, before any question is scored: the preflight's probe call
meets it before anything is queued."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from benchmarks.math_style import DEFAULT_DATA
from tests.engine import Engine
from tests.services import RunServices

pytestmark = pytest.mark.slow

#: About 3,000 tokens of preamble: over sim-short-context's 2,048-token window.
PREAMBLE = "Read the following background before you answer. " * 240


def short_context(tmp_path: Path, max_tokens: int) -> str:
    path = tmp_path / f"short-{max_tokens}.json"
    path.write_text(json.dumps({"name": f"short-{max_tokens}", "layers": [[{
        "type": "generator", "model": "sim-short-context", "model_type": "OpenAI_API",
        "temperature": 0.7, "max_tokens": max_tokens, "samples": 1}]]}))
    return str(path)


def math_rows(tmp_path: Path, long_rows: int, rows: int) -> str:
    """The packaged MATH-style set's first ``rows`` problems (which the simulator knows), the
    first ``long_rows`` of them behind a preamble that overflows sim-short-context."""
    items = [json.loads(line) for line in DEFAULT_DATA.read_text().splitlines()[:rows]]
    for item in items[:long_rows]:
        item["problem"] = PREAMBLE + item["problem"]
    path = tmp_path / "math-long.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return str(path)


def answers(database_url: str, evaluation_id: int) -> dict[str, tuple[str, float | None,
                                                                       str | None]]:
    with psycopg.connect(database_url) as conn:
        return {row[0]: (row[1], row[2], row[3]) for row in conn.execute(
            "SELECT question_id, status, score, error FROM answers WHERE evaluation_id = %s",
            (evaluation_id,))}


def test_a_prompt_over_the_context_window_is_refused_not_a_plain_zero(
    engine: Engine, tmp_path: Path, services: RunServices,
) -> None:
    data = math_rows(tmp_path, long_rows=2, rows=6)
    args = (short_context(tmp_path, 512), "--benchmark", "math", "--data", data,
            "--split", "all")
    summary = engine.run_json(*args)
    assert summary["questions"] == 6 and summary["failed_questions"] == 0
    assert summary["refused_questions"] == 2 and summary["no_answer_questions"] == 0
    assert "maximum context length is 2048 tokens" in str(summary["first_refusal"])
    rows = answers(services.database_url, int(str(summary["evaluation_id"])))
    refused = {q: r for q, r in rows.items() if r[0] == "refused"}
    assert len(refused) == 2
    for _status, score, error in refused.values():
        # The benchmark's rule for an empty reply (0), recorded as the provider's refusal.
        assert score == 0.0 and error is not None
        assert "This model's maximum context length is 2048 tokens" in error
    scored = [r for r in rows.values() if r[0] == "ok"]
    assert len(scored) == 4 and all(r[1] is not None and r[2] is None for r in scored)

    text = engine.itas("run", *args)
    assert text.returncode == 0, text.stderr[-2000:]
    assert "refused_questions: 2" in text.stdout


def test_a_refused_parameter_stops_the_run_with_the_providers_message(
    engine: Engine, tmp_path: Path, services: RunServices,
) -> None:
    with psycopg.connect(services.database_url) as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM evaluations").fetchone()
    assert before is not None
    done = engine.itas("run", short_context(tmp_path, 4096), "--benchmark", "synth-math",
                       "--limit", "5")
    assert done.returncode == 2, done.stdout + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert ("max_tokens is too large: 4096. This model supports at most 1024 completion "
            "tokens") in done.stderr
    with psycopg.connect(services.database_url) as conn:
        scored = conn.execute(
            "SELECT count(*) FROM answers a JOIN evaluations e ON e.id = a.evaluation_id "
            "WHERE e.id > %s", before).fetchone()
        status = conn.execute("SELECT status FROM evaluations WHERE id > %s",
                              before).fetchall()
    assert scored == (0,)  # no question was scored
    # The preflight's probe call (the architecture's parameters, one real completion) met the
    # refusal: nothing was queued at all.
    assert "preflight: LLM sim-short-context refused a probe call" in done.stderr
    assert "nothing was queued" in done.stderr
    assert status == []
