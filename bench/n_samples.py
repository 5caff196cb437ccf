"""prompt_tokens_saved_by_n: k samples of one prompt as one ``n=k`` request, against k requests.

A generator of ``--samples`` k runs on ``--questions`` questions through the layer path a
worker runs (run_layer_calls -> LLMCaller: cache, single flight, limiter, HTTP, llm_calls in
PostgreSQL) against the simulator (a simulated LLM fleet, no real LLM), twice side by side:
through an endpoint whose registry entry says ``supports_n: true`` and through one without.
The figure is the prompt tokens recorded in ``llm_calls`` with n ÷ without (goal <= 1/k
+ rounding); the requests the simulator served are printed beside it. Then every sample is
asked again alone, as a later trial would: all must be cache hits.

    ITAS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    ITAS_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/n_samples.py \\
        [--samples 5] [--questions 40] [--json-out bench/n_samples.json]

Uses a database of its own (created and dropped) and its own Redis prefix. About 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.harness import service_urls  # noqa: E402
from scheduler.processes import start_process, stop, wait_http  # noqa: E402
from scheduler.services.ports import free_port  # noqa: E402

KEY_ENV = "ITAS_BENCH_N_KEY"
SYSTEM = ("You are a careful assistant. Solve the problem step by step, then give the final "
          "answer on its own last line as 'Answer: <number>'.")


@dataclass
class GeneratorComponent:
    """An Archon generator component (the fields the generator technique reads)."""

    samples: int
    type: str = "generator"
    model: str = "sim-medium"
    model_type: str | None = None
    temperature: float = 0.7
    max_tokens: int = 256


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5, help="k (Archon's configs use 5-10)")
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--json-out", type=Path, help="write the figures here (a JSON list)")
    args = parser.parse_args()
    if args.samples < 2 or args.questions < 1:
        print("--samples: expected at least 2; --questions: at least 1", file=sys.stderr)
        return 2
    urls = service_urls()
    if urls is None:
        return 2
    database_url, redis_url = urls
    db_name = f"itas_bench_n_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    bench_db = make_url(database_url).set(database=db_name).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="itas-bench-n-"))
    (work / "fleet.yaml").write_text(yaml.safe_dump({
        "latency_scale": 0,
        "keys": [{"key": "bench-n", "requests_per_min": 1_000_000, "tokens_per_min": 10**9}],
        "llms": {"sim-medium": {"ability": 0.3, "judge": 0.4}},
    }))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ITAS_DATASETS"}
    simulator = start_process([sys.executable, "-m", "simulator", "--port", str(port),
                               "--fleet", str(work / "fleet.yaml")], work / "sim.log", env)
    os.environ[KEY_ENV] = "bench-n"
    client = redis.Redis.from_url(redis_url)
    prefix = os.environ.get("ITAS_REDIS_PREFIX", "itas:") + f"bench-n-{uuid.uuid4().hex[:8]}:"
    try:
        wait_http(f"http://127.0.0.1:{port}/health", simulator, work / "sim.log")
        figures = run(args, f"http://127.0.0.1:{port}", bench_db, client, prefix)
    finally:
        stop(simulator)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
        from models.db import dispose_engines

        dispose_engines()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{db_name}" WITH (FORCE)')
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures[0]["value"] <= 1 / args.samples + 0.01 else 1


def run(args: argparse.Namespace, url: str, database_url: str, client: redis.Redis,
        prefix: str) -> list[dict[str, object]]:
    from models.db import ensure_schema, get_engine, session_scope
    from models.endpoints import parse_registry
    from worker.cache import ResponseCache
    from worker.layer import run_layer_calls
    from worker.llm_calls import CallSite, LLMCaller
    from worker.ratelimit import RateLimiter
    from worker.sending import Sender
    from worker.techniques.base import LayerState
    from worker.techniques.conversation import Conversation
    from worker.techniques.generator import Generator

    ensure_schema(get_engine(database_url))
    endpoint = {"kind": "openai", "base_url": f"{url}/v1", "api_key_envs": [KEY_ENV],
                "requests_per_min": 100_000, "tokens_per_min": 10**8}
    registry = parse_registry({
        "endpoints": {"with-n": {**endpoint, "supports_n": True}, "without-n": endpoint},
        "llms": {"sim-medium": {"endpoint": "with-n", "price_in_per_mtok": 0.5,
                                "price_out_per_mtok": 1.5},
                 "sim-medium-plain": {"endpoint": "without-n", "wire_model": "sim-medium",
                                      "price_in_per_mtok": 0.5, "price_out_per_mtok": 1.5}},
    }, "bench registry", simulator_url=None)
    cache = ResponseCache(client, prefix, database_url)
    sender = Sender(RateLimiter(client, prefix))
    questions = [f"A shop sells pencils at {q + 2} cents each and erasers at {q + 7} cents. "
                 f"Mia buys {q % 5 + 2} pencils and one eraser. How many cents does she pay?"
                 for q in range(args.questions)]

    def served() -> int:
        return int(httpx.get(f"{url}/health").json()["responses"].get("200", 0))

    counts: dict[str, dict[str, int]] = {}
    hits = 0
    with ThreadPoolExecutor(16) as pool:
        for arm, llm in (("with n", "sim-medium"), ("without n", "sim-medium-plain")):
            before = served()
            for q, question in enumerate(questions):
                caller = LLMCaller(registry=registry, cache=cache, database_url=database_url,
                                   send=sender, site=CallSite(None, f"{arm}:{q}", 0))
                run_layer_calls([GeneratorComponent(args.samples, model=llm)],
                                Conversation(query=question, system=SYSTEM), LayerState(),
                                call=caller, pool=pool, prefetch=caller.prefetch)
            counts[arm] = {"requests": served() - before}
            with session_scope(database_url) as session:
                tin, tout = session.execute(text(
                    "SELECT coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0) "
                    "FROM llm_calls WHERE question_id LIKE :p AND NOT cache_hit"),
                    {"p": f"{arm}:%"}).one()
            counts[arm] |= {"prompt": int(tin), "completion": int(tout)}
        # A later trial asks for each sample alone: all cache hits, nothing sent.
        before = served()
        for q, question in enumerate(questions):
            caller = LLMCaller(registry=registry, cache=cache, database_url=database_url,
                               send=sender, site=CallSite(None, f"later:{q}", 0))
            plan = Generator().plan(GeneratorComponent(args.samples),
                                    Conversation(query=question, system=SYSTEM), LayerState())
            hits += sum(1 for spec in plan if caller(spec).text is not None)
        sent_later = served() - before

    k, n_q = args.samples, args.questions
    print(f"{n_q} questions x {k} samples, one generator, through run_layer_calls\n")
    print(f"{'arm':10} {'requests':>9} {'prompt tokens':>14} {'completion tokens':>18}")
    for arm, c in counts.items():
        print(f"{arm:10} {c['requests']:9d} {c['prompt']:14d} {c['completion']:18d}")
    ratio = counts["with n"]["prompt"] / counts["without n"]["prompt"]
    total = ((counts["with n"]["prompt"] + counts["with n"]["completion"])
             / (counts["without n"]["prompt"] + counts["without n"]["completion"]))
    print(f"\nprompt tokens with n ÷ without: {ratio:.3f} (1/k = {1 / k:.3f}); all tokens: "
          f"{total:.3f}; later single-sample asks: {hits} of {n_q * k} answered, "
          f"{sent_later} requests sent")
    command = ("ITAS_DATABASE_URL=... ITAS_REDIS_URL=... .venv/bin/python bench/n_samples.py "
               f"--samples {k} --questions {n_q}")
    base = (f"the same {n_q} x {k} samples as {counts['without n']['requests']} separate "
            f"requests: {counts['without n']['prompt']} prompt tokens")
    return [
        {"name": "prompt_tokens_saved_by_n", "value": round(ratio, 4), "unit": "ratio",
         "goal": f"<= {1 / k:.2f} (1/k)", "baseline": base, "command": command},
        {"name": "requests_saved_by_n",
         "value": round(counts["with n"]["requests"] / counts["without n"]["requests"], 4),
         "unit": "ratio", "goal": f"<= {1 / k:.2f} (1/k)", "baseline": base,
         "command": command},
        {"name": "n_samples_later_cache_misses", "value": sent_later, "unit": "requests",
         "goal": "0", "baseline": f"{n_q * k} single-sample asks after the batched run",
         "command": command},
    ]


if __name__ == "__main__":
    sys.exit(main())
