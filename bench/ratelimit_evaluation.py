"""Issue 4's rate-limit criterion through the whole engine: an *evaluation* of 3,000 calls on
one simulated endpoint with two keys of 300 requests/min each, run by 4 Celery worker
processes that share the Redis limiter.

Prints the 429s the simulator sent (its own count, from /health) as a share of all requests,
and the achieved request rate as a ratio of the combined limit of 600/min. (The side-by-side
comparison with a naive client that only retries 429s is bench/ratelimit_utilisation.py.)

    .venv/bin/python -u bench/ratelimit_evaluation.py [--questions 300]

(300 questions x 10 samples = 3,000 calls: about 5 minutes at 600/min.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ITAS, fresh_stack  # noqa: E402

LIMIT_PER_KEY = 300

REGISTRY = {
    "endpoints": {"simulator": {
        "kind": "openai", "base_url": "${ITAS_SIMULATOR_URL}/v1",
        "api_key_envs": ["ITAS_SIM_KEY_A", "ITAS_SIM_KEY_B"],
        "requests_per_min": LIMIT_PER_KEY, "tokens_per_min": 10_000_000, "max_in_flight": 64,
        "timeout_s": 60, "model_types": ["OpenAI_API"]}},
    "llms": {"sim-medium": {"endpoint": "simulator", "price_in_per_mtok": 0.5,
                            "price_out_per_mtok": 1.5}},
}
ARCHITECTURE = {"name": "sim-medium x10", "layers": [[{
    "type": "generator", "model": "sim-medium", "model_type": "OpenAI_API",
    "temperature": 0.7, "max_tokens": 256, "samples": 10}]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--questions", type=int, default=300)
    args = parser.parse_args()
    keys = {"ITAS_SIM_KEY_A": "bench-key-a", "ITAS_SIM_KEY_B": "bench-key-b"}
    fleet_keys = [{"key": v, "requests_per_min": LIMIT_PER_KEY, "tokens_per_min": 10_000_000}
                  for v in keys.values()]
    registry = Path(tempfile.mkdtemp(prefix="itas-bench-")) / "endpoints.yaml"
    registry.write_text(yaml.safe_dump(REGISTRY))
    with fresh_stack(latency_scale=0.0, workers=4, threads=8, fleet_keys=fleet_keys,
                     extra_env={**keys, "ITAS_ENDPOINTS_FILE": str(registry)}) as (env, work):
        arch = work / "arch.json"
        arch.write_text(json.dumps(ARCHITECTURE))
        started = time.monotonic()
        done = subprocess.run([*ITAS, "run", str(arch), "--benchmark", "synth-math", "--split",
                               "all", "--limit", str(args.questions), "--json"], env=env,
                              capture_output=True, text=True, timeout=3600)
        elapsed = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        health = httpx.get(f"{env['ITAS_SIMULATOR_URL']}/health", timeout=5).json()
        with psycopg.connect(env["ITAS_DATABASE_URL"]) as conn:
            first, last = conn.execute(
                "SELECT min(created_at), max(created_at) FROM llm_calls "
                "WHERE evaluation_id = %s AND NOT cache_hit",
                (summary["evaluation_id"],)).fetchone() or (None, None)
    responses = {int(k): v for k, v in health["responses"].items()}
    total = sum(responses.values())
    limited = responses.get(429, 0)
    span = (last - first).total_seconds() if first and last else elapsed
    rate = summary["provider_calls"] / span * 60 if span else 0.0
    combined = 2 * LIMIT_PER_KEY
    print(f"evaluation: {summary['questions']} questions, {summary['provider_calls']} provider "
          f"calls, {summary['failed_calls']} failed, 4 worker processes x 8 threads, "
          f"{elapsed:.0f} s")
    print(f"simulator responses: {responses}")
    print(f"429s: {limited} of {total} requests = {limited / total:.2%} (criterion <= 1%)")
    print(f"rate: {rate:.1f} requests/min over {span:.0f} s, {rate / combined:.3f} of the "
          f"combined limit {combined}/min (criterion >= 0.90)")


if __name__ == "__main__":
    main()
