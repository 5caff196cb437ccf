"""Per-question latency of a 3-layer architecture vs its slowest chain of single calls.

Issue 4's criterion: "a 3-layer architecture's median per-question latency is <= 2x the
latency of its slowest chain of single calls (components run concurrently)". This script runs
one evaluation through real worker processes against the simulator at its default (realistic)
latencies, with a fresh database and Redis namespace so every call goes to the simulator, and
prints, per question and as medians:

- chain: the sum over layers of the slowest single call of that layer (the floor that
  concurrent components could reach);
- in-task: the sum of the layers' wall times inside the workers;
- end-to-end: first layer's start to the answer row, queueing between layers included;
- sequential: the sum of every call's latency (what running the calls one after another,
  as Archon does, would take) — the baseline, measured in the same run.

    .venv/bin/python bench/layer_concurrency.py [--questions 20]

Needs PostgreSQL and Redis (ITAS_DATABASE_URL / ITAS_REDIS_URL, or `itas services up`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ITAS, fresh_stack  # noqa: E402

ARCHITECTURE = {
    "name": "3 generators x2 -> critic -> fuser",
    "layers": [
        [{"type": "generator", "model": llm, "model_type": "OpenAI_API", "temperature": 0.7,
          "max_tokens": 512, "samples": 2} for llm in ("sim-large", "sim-medium", "sim-small")],
        [{"type": "critic", "model": "sim-critic", "model_type": "OpenAI_API",
          "temperature": 0.7, "max_tokens": 512}],
        [{"type": "fuser", "model": "sim-large", "model_type": "OpenAI_API",
          "temperature": 0.7, "max_tokens": 512}],
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    with fresh_stack(latency_scale=1.0) as (env, work):
        arch = work / "arch.json"
        arch.write_text(json.dumps(ARCHITECTURE))
        done = subprocess.run([*ITAS, "run", str(arch), "--benchmark", "synth-math", "--limit",
                               str(args.questions), "--json"], env=env, capture_output=True,
                              text=True, timeout=1200)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        report(env["ITAS_DATABASE_URL"], int(summary["evaluation_id"]))


def report(database_url: str, evaluation_id: int) -> None:
    with psycopg.connect(database_url) as conn:
        calls = conn.execute(
            "SELECT question_id, layer_index, latency_s FROM llm_calls "
            "WHERE evaluation_id = %s AND NOT cache_hit", (evaluation_id,)).fetchall()
        layers = conn.execute(
            "SELECT question_id, layer_index, created_at, (state->>'elapsed_s')::float "
            "FROM layer_outputs WHERE evaluation_id = %s", (evaluation_id,)).fetchall()
        answers = conn.execute("SELECT question_id, created_at, latency_s FROM answers "
                               "WHERE evaluation_id = %s", (evaluation_id,)).fetchall()
    slowest: dict[tuple[str, int], float] = {}
    total: dict[str, float] = {}
    for question, layer, latency in calls:
        slowest[(question, layer)] = max(slowest.get((question, layer), 0.0), latency)
        total[question] = total.get(question, 0.0) + latency
    start = {q: created.timestamp() - elapsed for q, layer, created, elapsed in layers
             if layer == 0}
    rows = []
    for question, created, in_task in answers:
        chain = sum(v for (q, _), v in slowest.items() if q == question)
        rows.append((chain, in_task, created.timestamp() - start[question], total[question]))
    chain, in_task, e2e, sequential = (statistics.median(col) for col in zip(*rows, strict=True))
    print(f"questions: {len(rows)}, architecture: {ARCHITECTURE['name']} "
          f"({sum(len(x) for x in ARCHITECTURE['layers'])} components, 3 layers)")
    print(f"median slowest chain of single calls: {chain:.3f} s")
    print(f"median in-task latency:   {in_task:.3f} s  = {in_task / chain:.2f} x chain")
    print(f"median end-to-end latency: {e2e:.3f} s  = {e2e / chain:.2f} x chain")
    print(f"baseline, calls one after another: {sequential:.3f} s = "
          f"{sequential / chain:.2f} x chain")
    per_question = [r[2] / r[0] for r in rows]
    print(f"per question end-to-end/chain: median {statistics.median(per_question):.2f}, "
          f"max {max(per_question):.2f}")


if __name__ == "__main__":
    main()
