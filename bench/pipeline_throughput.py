"""The pipeline's own cost, latency hiding, and a worker's memory with hundreds of calls waiting.

Three figures of issue 12, each on a fresh stack with ONE `itas worker` at its defaults (threads
sized from the endpoints registry) and an endpoints file of the bench's own: the simulator's
first key only (600,000 requests/min, so no rate binds) with a stated in-flight limit.

- ``pipeline_vs_raw_throughput``: LLM calls/s through the whole pipeline (layer task, cache,
  single flight, limiter, HTTP, record in PostgreSQL), simulator at zero latency, 128 in
  flight: an `itas run` of one generator with 10 samples on 200 synth-math questions (2,000
  calls; from the evaluation's creation to its last answer) / calls/s of a plain asyncio +
  httpx loop sending the very same 2,000 requests to the same simulator, 128 at once (run
  twice right after, the faster counts). While the
  pipeline runs, py-spy samples the worker; where its CPU goes is printed (and noted in the
  figure): itas's component nearest the sampled frame, and the library at the leaf.
- ``latency_hiding_efficiency``: the same 2,000 calls with every reply taking 1 s: ideal time
  (calls / in-flight limit x 1 s) / measured time (evaluation created -> last answer), at 32
  in flight (32 calls/s asked, below the pipeline's CPU-bound rate here, so the waiting is
  what shows); ``latency_hiding_efficiency_at_128_in_flight`` the same at 128, where 128
  calls/s asked exceed that rate on these 2 shared cores and the CPU is what shows.
- ``worker_rss_mb_at_500_in_flight``: the worker's resident memory while 500 calls of 10 s are
  in flight (limit 500), beside the same worker's idle memory before the work came.

    .venv/bin/python -u bench/pipeline_throughput.py [--json-out FILE] [--profile FILE]

Needs PostgreSQL and Redis (ITAS_DATABASE_URL / ITAS_REDIS_URL, or `itas services up`), and
py-spy (in the dev dependencies) with the right to trace a process (root, or ptrace_scope 0).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ITAS, fresh_stack  # noqa: E402
from bench.results import figure, write_figures  # noqa: E402

COMMAND = ".venv/bin/python -u bench/pipeline_throughput.py"
#: In flight for ``latency_hiding_efficiency``: with 1 s calls, the calls/s asked of the
#: pipeline. Below its CPU-bound rate on these 2 shared cores (70-90 calls/s, see
#: pipeline_vs_raw_throughput), so that waiting, not the CPU, is what the figure shows; the
#: same at 128 in flight is reported beside it.
HIDING_IN_FLIGHT = 32
LLM = "sim-tiny"
SAMPLES = 10
QUESTIONS = 200


def endpoints_file(directory: Path, max_in_flight: int) -> Path:
    path = directory / f"endpoints-{max_in_flight}.yaml"
    path.write_text(f"""\
# bench/pipeline_throughput.py: the simulator's first key (600,000 requests/min), so only the
# in-flight limit binds.
endpoints:
  simulator:
    kind: openai
    base_url: ${{ITAS_SIMULATOR_URL}}/v1
    api_key_envs: [ITAS_SIM_KEY_1]
    requests_per_min: 600000
    tokens_per_min: 500000000
    max_in_flight: {max_in_flight}
    timeout_s: 90
llms:
  {LLM}: {{endpoint: simulator, price_in_per_mtok: 0.05, price_out_per_mtok: 0.2}}
""")
    return path


def architecture(temperature: float = 0.7) -> dict[str, Any]:
    return {"name": f"{LLM} x{SAMPLES}", "layers": [[
        {"type": "generator", "model": LLM, "model_type": "OpenAI_API",
         "temperature": temperature, "max_tokens": 256, "samples": SAMPLES}]]}


def run_evaluation(env: dict[str, str], work: Path, questions: int,
                   temperature: float = 0.7) -> tuple[int, float]:
    """`itas run` of architecture(); (evaluation id, seconds from its creation to its last
    answer, as PostgreSQL stamped them). Every call must be paid (nothing cached before)."""
    arch = work / "arch.json"
    arch.write_text(json.dumps(architecture(temperature)))
    done = subprocess.run([*ITAS, "run", str(arch), "--benchmark", "synth-math", "--split", "all",
                           "--limit", str(questions), "--json"], env=env, capture_output=True,
                          text=True, timeout=1200)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    evaluation_id = int(json.loads(done.stdout.strip().splitlines()[-1])["evaluation_id"])
    with psycopg.connect(env["ITAS_DATABASE_URL"]) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM max(a.created_at) - e.created_at), "
            "(SELECT count(*) FROM llm_calls c WHERE c.evaluation_id = e.id AND NOT c.cache_hit) "
            "FROM evaluations e JOIN answers a ON a.evaluation_id = e.id WHERE e.id = %s "
            "GROUP BY e.id", (evaluation_id,)).fetchone()
    assert row is not None
    if int(row[1]) != questions * SAMPLES:
        raise SystemExit(f"expected {questions * SAMPLES} provider calls, got {row[1]}")
    return evaluation_id, float(row[0])


def requests_of(database_url: str, evaluation_id: int) -> list[dict[str, Any]]:
    """The bodies the pipeline sent (messages, seed = sample index), for the raw loop."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT request_messages, sample_index FROM llm_calls "
                            "WHERE evaluation_id = %s AND NOT cache_hit",
                            (evaluation_id,)).fetchall()
    return [{"model": LLM, "messages": messages, "temperature": 0.7, "max_tokens": 256,
             "seed": sample} for messages, sample in rows]


async def raw_loop(url: str, key: str, bodies: list[dict[str, Any]], concurrency: int) -> float:
    """Send every body, ``concurrency`` at once, with one httpx client; seconds taken."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60,
                                 headers={"authorization": f"Bearer {key}"}) as client:
        async def one() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post("/v1/chat/completions", json=body)
                response.raise_for_status()
                response.json()

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return time.monotonic() - started


def profile_summary(collapsed: Path) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Shares of py-spy's samples (taken of the thread holding the GIL, so: where the worker's
    one core goes): by itas component (the deepest frame in itas's own code) and by the
    package of the leaf frame."""
    components = [("worker/ratelimit", "limiter"), ("worker/cache", "cache"),
                  ("worker/clients", "HTTP client"), ("worker/llm_calls", "record in PostgreSQL"),
                  ("worker/techniques", "prompts and parsing"), ("worker/layer", "layer"),
                  ("worker/evaluation_steps", "layer state in PostgreSQL"),
                  ("worker/tasks", "task"), ("worker/runtime", "runtime"),
                  ("worker/sending", "sending")]
    own = ("worker", "models", "benchmarks")
    by_component: collections.Counter[str] = collections.Counter()
    by_library: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        found = "Celery and kombu (outside the task)"
        for frame in reversed(frames):
            hit = next((label for path, label in components if f"({path}" in frame), None)
            if hit:
                found = hit
                break
        by_component[found] += n
        where = frames[-1].rpartition("(")[2].split(":")[0]
        package = where.split("/")[0] if "/" in where else where.removesuffix(".py")
        by_library["itas" if package in own else package] += n
    shares = lambda c: [(k, v / max(1, total)) for k, v in c.most_common()]  # noqa: E731
    return shares(by_component), shares(by_library)


def throughput(work: Path, profile_out: Path | None) -> dict[str, Any]:
    endpoints = endpoints_file(work, 128)
    with fresh_stack(latency_scale=0.0, workers=1, threads=None,
                     extra_env={"ITAS_ENDPOINTS_FILE": str(endpoints)}) as (env, stack_work):
        pid = env["ITAS_BENCH_WORKER_PIDS"].split(",")[0]
        collapsed = stack_work / "profile.txt"
        spy = None
        if shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
                "py-spy"):
            spy_bin = (shutil.which("py-spy", path=str(Path(sys.executable).parent))
                       or "py-spy")
            spy = subprocess.Popen([spy_bin, "record", "--pid", pid, "--format", "raw",
                                    "--rate", "200", "--gil", "--nonblocking", "--output",
                                    str(collapsed)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        evaluation_id, pipeline_s = run_evaluation(env, stack_work, QUESTIONS)
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
            spy.wait(30)
        bodies = requests_of(env["ITAS_DATABASE_URL"], evaluation_id)
        # Twice, the faster counts: the machine is shared, and the baseline should not be
        # flattered by a slow moment.
        raw_s = min(asyncio.run(raw_loop(env["ITAS_SIMULATOR_URL"], env["ITAS_SIM_KEY_1"],
                                         bodies, 128)) for _ in range(2))
        profile = profile_summary(collapsed) if collapsed.exists() else ([], [])
        if profile_out is not None and collapsed.exists():
            shutil.copy(collapsed, profile_out)
    return {"calls": len(bodies), "pipeline_s": pipeline_s, "raw_s": raw_s, "profile": profile}


def latency_hiding(work: Path, in_flight: int) -> dict[str, Any]:
    endpoints = endpoints_file(work, in_flight)
    one_second = {LLM: {"latency": {"ttft_median_ms": 1000, "ttft_p95_ms": 1000,
                                    "tokens_per_s": 10_000_000}}}
    with fresh_stack(latency_scale=1.0, workers=1, threads=None, fleet_llms=one_second,
                     extra_env={"ITAS_ENDPOINTS_FILE": str(endpoints)}) as (env, stack_work):
        _, measured = run_evaluation(env, stack_work, QUESTIONS)
    return {"ideal_s": QUESTIONS * SAMPLES / in_flight * 1.0, "measured_s": measured,
            "in_flight": in_flight}


def memory_at_500(work: Path) -> dict[str, Any]:
    endpoints = endpoints_file(work, 500)
    ten_seconds = {LLM: {"latency": {"ttft_median_ms": 10000, "ttft_p95_ms": 10000,
                                     "tokens_per_s": 10_000_000}}}
    with fresh_stack(latency_scale=1.0, workers=1, threads=None, fleet_llms=ten_seconds,
                     extra_env={"ITAS_ENDPOINTS_FILE": str(endpoints)}) as (env, stack_work):
        worker = psutil.Process(int(env["ITAS_BENCH_WORKER_PIDS"].split(",")[0]))
        # One trivial evaluation first, so the idle figure has the runtime (registry, pools,
        # imports of the techniques) built, as any worker that has done some work has.
        run_evaluation(env, stack_work, 1, temperature=0.5)  # not the same calls as below
        idle_mb = worker.memory_info().rss / 2**20
        peak = {"rss": 0.0, "in_flight": 0, "threads": 0}
        stop = threading.Event()

        def sample() -> None:
            from redis import Redis

            from worker.ratelimit import RateLimiter

            limiter = RateLimiter(Redis.from_url(env["ITAS_REDIS_URL"]),
                                  env["ITAS_REDIS_PREFIX"])
            while not stop.wait(0.5):
                _, held = limiter.status("simulator", "ITAS_SIM_KEY_1")
                rss = worker.memory_info().rss / 2**20
                if held >= peak["in_flight"]:
                    peak.update(in_flight=held, rss=max(peak["rss"], rss),
                                threads=worker.num_threads())

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            run_evaluation(env, stack_work, 50)
        finally:
            stop.set()
            sampler.join()
    return {"idle_mb": idle_mb, **peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--profile", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="itas-bench-pipeline-"))

    t = throughput(work, args.profile)
    pipeline_rate, raw_rate = t["calls"] / t["pipeline_s"], t["calls"] / t["raw_s"]
    print(f"zero latency, 128 in flight, {t['calls']} calls: pipeline {pipeline_rate:.0f} "
          f"calls/s ({t['pipeline_s']:.1f} s), raw asyncio + httpx {raw_rate:.0f} calls/s "
          f"({t['raw_s']:.1f} s): {pipeline_rate / raw_rate:.3f}", flush=True)
    components, libraries = t["profile"]
    where = ", ".join(f"{k} {v:.0%}" for k, v in components[:8])
    leaves = ", ".join(f"{k} {v:.0%}" for k, v in libraries[:8])
    print(f"  worker samples by itas component: {where}\n  by library at the leaf: {leaves}",
          flush=True)

    hiding = {n: latency_hiding(work, n) for n in (HIDING_IN_FLIGHT, 128)}
    for n, h in hiding.items():
        print(f"1 s latency, {n} in flight, {QUESTIONS * SAMPLES} calls: ideal "
              f"{h['ideal_s']:.1f} s, measured {h['measured_s']:.1f} s: "
              f"{h['ideal_s'] / h['measured_s']:.3f}", flush=True)

    m = memory_at_500(work)
    print(f"500 calls of 10 s: worker RSS {m['rss']:.0f} MB with {m['in_flight']} in flight "
          f"({m['threads']} threads); idle {m['idle_mb']:.0f} MB", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    notes = {
        HIDING_IN_FLIGHT: ("latency_hiding_efficiency", ">= 0.9",
                           f"{HIDING_IN_FLIGHT} calls of 1 s at once ask {HIDING_IN_FLIGHT} "
                           "calls/s, below what the pipeline does on this machine's CPU "
                           "(pipeline_vs_raw_throughput): the waiting is what is measured"),
        128: ("latency_hiding_efficiency_at_128_in_flight", None,
              "128 calls/s asked: at or above what the pipeline does on this machine's CPU "
              "at zero latency (pipeline_vs_raw_throughput), so the CPU is measured here, not "
              "the waiting"),
    }
    hiding_figures = [
        figure(notes[n][0], h["ideal_s"] / h["measured_s"], "ratio", goal=notes[n][1],
               command=COMMAND, note=notes[n][2],
               baseline=f"ideal {h['ideal_s']:.1f} s ({QUESTIONS * SAMPLES} calls / {n} in "
                        f"flight x 1 s); measured {h['measured_s']:.1f} s")
        for n, h in hiding.items()]
    write_figures(args.json_out, [
        figure("pipeline_vs_raw_throughput", pipeline_rate / raw_rate, "ratio", goal=">= 0.5",
               command=COMMAND,
               baseline=f"raw asyncio + httpx loop {raw_rate:.0f} calls/s (pipeline "
                        f"{pipeline_rate:.0f} calls/s), {t['calls']} calls, 128 at once",
               note=f"py-spy samples of the worker by itas component: {where}; by library "
                    f"at the leaf: {leaves}"),
        *hiding_figures,
        figure("worker_rss_mb_at_500_in_flight", m["rss"], "MB", goal=None, command=COMMAND,
               baseline=f"idle worker {m['idle_mb']:.0f} MB; {m['in_flight']} in flight seen, "
                        f"{m['threads']} threads"),
    ])


if __name__ == "__main__":
    main()
