"""A search at realistic latencies against the endpoint's limits, and the scheduler's CPU.

Issue 12's `search_rpm_use_at_real_latency`: examples/search-demo.yaml at 8 trials, ONE
`itas worker` with its defaults, the simulator's default fleet at its realistic latencies
(0.1-1 s to the first token, 55-300 tokens/s), on the default endpoints registry (the simulated
endpoint: 3,000 requests/min and 64 in flight per key, two keys), or with ``--max-in-flight N``
the same registry with N in flight per key: "an endpoint limit the job could fill". At the
default 128 in flight this job rarely has that many independent calls (4 trials at once, a
rung of 10-40 questions, one call per question in most layers: the in-flight profile per 10 s
is printed); `make bench` uses 16 per key (32), below the 40 questions-in-flight that 4
trials on their first rung have. The figure is whichever binds of

- provider calls per minute over the job's wall time / the endpoint's requests/min (both keys);
- calls in flight on average (the sum of the paid calls' latencies / the wall time, Little's
  law) / the endpoint's in-flight limit (both keys);

beside the same job's wall time at zero latency on a fresh stack (nothing cached). From that
zero-latency run also `scheduler_cpu_s_per_1000_calls`: CPU seconds of the `itas scheduler`
process per 1,000 LLM calls of the job (cache hits included), beside the worker's, and
`search_calls_vs_uncached_8_trials` (search_efficiency.py's part A on the same job). And
`worker_cpu_real_vs_zero_latency`: the worker's CPU seconds for the job at realistic latency
/ at zero latency, what waiting costs the worker (its hundreds of threads waiting for the
limiter's slots; 3.55 when each polled Redis every 20 ms, worker/ratelimit_waiting.py).

    .venv/bin/python -u bench/search_rpm.py [--trials 8] [--json-out FILE]

Needs PostgreSQL and Redis (ITAS_DATABASE_URL / ITAS_REDIS_URL, or `itas services up`).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import psutil
import psycopg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import REPO, fresh_stack  # noqa: E402
from bench.results import figure, write_figures  # noqa: E402
from bench.search_efficiency import run_job, uncached_figure  # noqa: E402
from models.endpoints import DEFAULT_REGISTRY, load_registry  # noqa: E402

COMMAND = ".venv/bin/python -u bench/search_rpm.py"


def job_calls(database_url: str, job_id: int) -> tuple[int, int, float]:
    """(LLM calls of the job, cache hits included; provider calls; sum of their latencies)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT c.cache_hit), "
            "coalesce(sum(c.latency_s) FILTER (WHERE NOT c.cache_hit), 0) "
            "FROM llm_calls c JOIN evaluations e ON e.id = c.evaluation_id "
            "WHERE e.job_id = %s", (job_id,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2])


def in_flight_profile(database_url: str, job_id: int, limit: int) -> tuple[int, float]:
    """(most paid calls in flight at once, share of the job's call-time span with at least 80%
    of ``limit`` in flight), from each paid call's end time and latency. Prints the mean in
    flight per 10 s, to see the job's phases."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM c.created_at), c.latency_s "
            "FROM llm_calls c JOIN evaluations e ON e.id = c.evaluation_id "
            "WHERE e.job_id = %s AND NOT c.cache_hit", (job_id,)).fetchall()
    events = sorted([(float(end) - lat, 1) for end, lat in rows]
                    + [(float(end), -1) for end, _ in rows])
    if not events:
        return 0, 0.0
    level = peak = 0
    busy = 0.0
    start = events[0][0]
    buckets = [0.0] * (int((events[-1][0] - start) // 10) + 1)
    for (t, step), (t_next, _) in zip(events, events[1:] + [events[-1]], strict=True):
        level += step
        peak = max(peak, level)
        if level >= 0.8 * limit:
            busy += t_next - t
        buckets[int((t - start) // 10)] += level * (t_next - t) / 10
    print("  in flight per 10 s: " + " ".join(f"{b:.0f}" for b in buckets), flush=True)
    return peak, busy / max(1e-9, events[-1][0] - start)


def endpoints_with(max_in_flight: int | None) -> dict[str, str]:
    """The environment that points the workers at the default registry with the simulated
    endpoint's in-flight limit per key replaced (nothing when None)."""
    if max_in_flight is None:
        return {}
    registry = yaml.safe_load(
        resources.files("models").joinpath(DEFAULT_REGISTRY).read_text(encoding="utf-8"))
    registry["endpoints"]["simulator"]["max_in_flight"] = max_in_flight
    handle, name = tempfile.mkstemp(prefix="itas-bench-endpoints-", suffix=".yaml")
    os.close(handle)
    Path(name).write_text(yaml.safe_dump(registry))
    return {"ITAS_ENDPOINTS_FILE": name}


def run_search(latency_scale: float, trials: int, limit: int,
               endpoints_env: dict[str, str], command: str) -> dict[str, Any]:
    demo = yaml.safe_load((REPO / "examples" / "search-demo.yaml").read_text())
    demo["trials"] = trials
    with fresh_stack(latency_scale=latency_scale, workers=1, threads=None,
                     extra_env=endpoints_env) as (env, work):
        worker = psutil.Process(int(env["ITAS_BENCH_WORKER_PIDS"].split(",")[0]))
        worker_cpu = sum(worker.cpu_times()[:2])
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        job_id = run_job(env, work, demo)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        scheduler_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime
                                                             + children.ru_stime)
        worker_cpu = sum(worker.cpu_times()[:2]) - worker_cpu
        calls, paid, latency_sum = job_calls(env["ITAS_DATABASE_URL"], job_id)
        # search_efficiency.py's part A on this very job (a fresh stack: nothing cached before)
        sharing = uncached_figure(env["ITAS_DATABASE_URL"], job_id, trials=trials,
                                  questions=demo["questions"], command=command)
        peak, busy = in_flight_profile(env["ITAS_DATABASE_URL"], job_id, limit)
        threads = worker.num_threads()
    return {"wall_s": wall, "calls": calls, "paid": paid, "latency_sum": latency_sum,
            "scheduler_cpu_s": scheduler_cpu, "worker_cpu_s": worker_cpu,
            "worker_threads": threads, "peak": peak, "busy": busy, "sharing": sharing}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--max-in-flight", type=int,
                        help="the simulated endpoint's in-flight limit per key (default: the "
                             "default registry's)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    endpoints_env = endpoints_with(args.max_in_flight)
    endpoint = load_registry(Path(endpoints_env["ITAS_ENDPOINTS_FILE"]) if endpoints_env
                             else None, simulator_url="http://127.0.0.1").endpoints["simulator"]
    keys = len(endpoint.api_key_envs)
    rpm_limit = endpoint.requests_per_min * keys
    in_flight_limit = endpoint.max_in_flight * keys

    command = f"{COMMAND} --trials {args.trials}" + (
        f" --max-in-flight {args.max_in_flight}" if args.max_in_flight else "")
    real = run_search(1.0, args.trials, in_flight_limit, endpoints_env, command)
    print(f"realistic latencies: {real['wall_s']:.0f} s, {real['paid']} provider calls of "
          f"{real['calls']}; worker threads {real['worker_threads']}, worker CPU "
          f"{real['worker_cpu_s']:.1f} s", flush=True)
    rpm = real["paid"] / real["wall_s"] * 60
    in_flight = real["latency_sum"] / real["wall_s"]
    rpm_use, in_flight_use = rpm / rpm_limit, in_flight / in_flight_limit
    print(f"  {rpm:.0f} calls/min = {rpm_use:.3f} of {rpm_limit}/min; {in_flight:.1f} in "
          f"flight on average = {in_flight_use:.3f} of {in_flight_limit}; at most "
          f"{real['peak']} at once; >= 80% of the limit {real['busy']:.0%} of the time",
          flush=True)
    zero = run_search(0.0, args.trials, in_flight_limit, endpoints_env, command)
    print(f"zero latency: {zero['wall_s']:.0f} s, {zero['paid']} provider calls of "
          f"{zero['calls']}; scheduler CPU {zero['scheduler_cpu_s']:.1f} s, worker CPU "
          f"{zero['worker_cpu_s']:.1f} s", flush=True)

    binds = "requests/min" if rpm_use >= in_flight_use else "in flight"
    per_1000 = 1000 / max(1, zero["calls"])
    if endpoints_env:
        Path(endpoints_env["ITAS_ENDPOINTS_FILE"]).unlink(missing_ok=True)
    write_figures(args.json_out, [
        figure("search_rpm_use_at_real_latency", max(rpm_use, in_flight_use), "ratio",
               goal=">= 0.8", command=command,
               baseline=f"endpoint limits {rpm_limit} requests/min, {in_flight_limit} in flight "
                        f"({binds} binds)",
               note=f"search-demo, {args.trials} trials, one worker with its defaults "
                    f"({real['worker_threads']} threads in all): {real['paid']} provider calls "
                    f"in {real['wall_s']:.0f} s = {rpm:.0f}/min ({rpm_use:.3f} of the rate), "
                    f"{in_flight:.1f} in flight on average ({in_flight_use:.3f}), at most "
                    f"{real['peak']}, at >= 80% of the limit {real['busy']:.0%} of the time; "
                    f"the same job at zero latency {zero['wall_s']:.0f} s"),
        figure("search_wall_real_vs_zero_latency", real["wall_s"] / zero["wall_s"], "ratio",
               goal=None, command=command,
               baseline=f"zero latency {zero['wall_s']:.0f} s; realistic {real['wall_s']:.0f} s"),
        figure("worker_cpu_real_vs_zero_latency", real["worker_cpu_s"] / zero["worker_cpu_s"],
               "ratio", goal=None, command=command,
               baseline=f"the worker's CPU for the same job at zero latency "
                        f"{zero['worker_cpu_s']:.1f} s ({zero['calls']} calls); at realistic "
                        f"latency {real['worker_cpu_s']:.1f} s ({real['calls']} calls, "
                        f"{real['worker_threads']} threads)"),
        zero["sharing"],  # from the zero-latency run: nothing else of the job's timing in it
        figure("scheduler_cpu_s_per_1000_calls", zero["scheduler_cpu_s"] * per_1000, "s",
               goal=None, command=command,
               baseline=f"worker {zero['worker_cpu_s'] * per_1000:.2f} s per 1000 calls "
                        f"(same zero-latency job, {zero['calls']} calls)"),
    ])


if __name__ == "__main__":
    main()
