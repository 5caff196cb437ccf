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
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.settings import load_settings, resolve_service_urls  # noqa: E402
from scheduler.services.ports import free_port  # noqa: E402
from tests.engine import start_process, stop, wait_http  # noqa: E402
from tests.workers import ITAS  # noqa: E402

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
KEYS = {"ITAS_SIM_KEY_1": "sim-key-1", "ITAS_SIM_KEY_2": "sim-key-2"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    urls = resolve_service_urls(load_settings())
    db_name = f"itas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(urls.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    database_url = make_url(urls.database_url).set(database=db_name).render_as_string(
        hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="itas-bench-"))
    sim_port = free_port()
    env = {**os.environ, **KEYS, "ITAS_DATABASE_URL": database_url,
           "ITAS_REDIS_URL": urls.redis_url, "ITAS_REDIS_PREFIX": f"itas-bench-{db_name}:",
           "ITAS_SIMULATOR_URL": f"http://127.0.0.1:{sim_port}"}
    arch = work / "arch.json"
    arch.write_text(json.dumps(ARCHITECTURE))
    sim = start_process([sys.executable, "-m", "simulator", "--port", str(sim_port)],
                        work / "sim.log", env)
    workers = []
    try:
        wait_http(f"http://127.0.0.1:{sim_port}/health", sim, work / "sim.log")
        for i in range(2):
            workers.append(start_process([*ITAS, "worker", "--pool", "threads",
                                          "--concurrency", "16", "--hostname", f"bench{i}@%h"],
                                         work / f"worker{i}.log", env))
        done = subprocess.run([*ITAS, "run", str(arch), "--benchmark", "synth-math", "--limit",
                               str(args.questions), "--json"], env=env, capture_output=True,
                              text=True, timeout=1200)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        report(database_url, int(summary["evaluation_id"]))
    finally:
        for process in [*workers, sim]:
            stop(process)
        with psycopg.connect(urls.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{db_name}" WITH (FORCE)')


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
