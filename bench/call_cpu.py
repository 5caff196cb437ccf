"""CPU per LLM call, where it is spent: by process in the pipeline, and in one LLMCaller.

Two measurements behind bench/README.md's "where a call's time goes" (not figures of
`make bench`):

- ``--processes``: the zero-latency run of bench/pipeline_throughput.py (one `itas worker` at
  its defaults, one generator x 10 samples on 200 synth-math questions, ``--in-flight`` at
  once) with the CPU seconds of each process of the stack (worker, simulator, PostgreSQL,
  Redis, the `itas run` waiting) divided by the calls.
- ``--caller``: ``worker.llm_calls.LLMCaller`` alone in this process (no Celery, no layer
  task), against the simulator at zero latency: cache, single flight, limiter, HTTP and the
  call's record, ``--calls`` distinct calls from each of ``--threads`` (one or more thread
  counts): the CPU of this process per call.

    .venv/bin/python -u bench/call_cpu.py --processes [--in-flight 128]
    .venv/bin/python -u bench/call_cpu.py --caller --threads 1 16 128 [--calls 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import fresh_stack  # noqa: E402
from bench.pipeline_throughput import QUESTIONS, SAMPLES, endpoints_file, run_evaluation  # noqa: E402,I001


def _role(cmdline: str, name: str) -> str | None:
    if "postgres" in name:
        return "postgres"
    if "redis-server" in cmdline:
        return "redis"
    if "simulator" in cmdline:
        return "simulator"
    if "itas" in cmdline and " worker" in cmdline:
        return "worker"
    if "itas" in cmdline and " run " in cmdline:
        return "itas run"
    return None


def _cpu_by_process() -> dict[tuple[str, int], float]:
    found: dict[tuple[str, int], float] = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            role = _role(" ".join(process.info["cmdline"] or []), process.info["name"] or "")
            if role:
                times = process.cpu_times()
                found[(role, process.pid)] = times.user + times.system
        except psutil.Error:
            continue
    return found


def by_process(in_flight: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="itas-bench-cpu-"))
    with fresh_stack(latency_scale=0.0, workers=1, threads=None,
                     extra_env={"ITAS_ENDPOINTS_FILE": str(endpoints_file(work, in_flight))}
                     ) as (env, stack_work):
        before = _cpu_by_process()
        last: dict[tuple[str, int], float] = {}
        done = threading.Event()

        def sample() -> None:  # `itas run` exits before the end: keep its last reading
            while not done.wait(0.5):
                last.update(_cpu_by_process())

        sampler = threading.Thread(target=sample)
        sampler.start()
        _, seconds = run_evaluation(env, stack_work, QUESTIONS)
        done.set()
        sampler.join()
        last.update(_cpu_by_process())
    calls = QUESTIONS * SAMPLES
    totals: dict[str, float] = {}
    for key, cpu in last.items():
        totals[key[0]] = totals.get(key[0], 0.0) + cpu - before.get(key, 0.0)
    print(f"{calls} calls, {in_flight} in flight, zero latency: {calls / seconds:.0f} calls/s")
    for role, cpu in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {role:10s} {cpu:6.1f} s CPU = {cpu / calls * 1000:5.1f} ms per call")


def caller(threads: list[int], calls: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="itas-bench-cpu-"))
    with fresh_stack(latency_scale=0.0, workers=0, threads=None,
                     extra_env={"ITAS_ENDPOINTS_FILE": str(endpoints_file(work, 128))}
                     ) as (env, _):
        os.environ.update(env)
        from worker.llm_calls import CallSite, LLMCaller
        from worker.runtime import runtime
        from worker.techniques.base import CallSpec, Role

        rt = runtime()
        call = LLMCaller(registry=rt.registry, cache=rt.cache, database_url=rt.database_url,
                         send=rt.send, site=CallSite(None, None, None))

        def spec(i: int) -> CallSpec:
            return CallSpec(llm="sim-tiny", model_type=None,
                            messages=(("user", f"What is {i} + 3? Give the number."),),
                            temperature=0.7, max_tokens=64, sample_index=0,
                            role=Role.GENERATE)

        for i in range(20):  # warm: pools, connections, imports
            call(spec(-1 - i))
        for n, count in enumerate(threads):
            specs = [spec(n * 10 * calls + i) for i in range(calls)]
            cpu, wall = time.process_time(), time.monotonic()
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(call, specs))
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            print(f"{count:4d} threads, {calls} calls: {cpu / calls * 1000:.2f} ms CPU per "
                  f"call, {calls / wall:.0f} calls/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", action="store_true")
    parser.add_argument("--in-flight", type=int, default=128)
    parser.add_argument("--caller", action="store_true")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 16, 128])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    if not (args.processes or args.caller):
        parser.error("say --processes, --caller or both")
    if args.processes:
        by_process(args.in_flight)
    if args.caller:
        caller(args.threads, args.calls)


if __name__ == "__main__":
    main()
