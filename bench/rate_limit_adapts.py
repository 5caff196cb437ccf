"""rate_limit_adapts: the limiter learns a key's true limit from the provider and converges.

The endpoints file states 390 requests/min per key; the simulator (a simulated LLM fleet, no
real LLM) enforces 300, 30% less. Three arms run side by side against one simulator, each on
its own key, each as ``--processes`` OS processes of ``--threads`` threads calling
:func:`worker.clients.call_llm` through one Redis limiter per arm, as hungry as they can be:

- ``headers``: the limiter learns (the default); the key's answers carry ``x-ratelimit-*``
  headers, as OpenAI's, Anthropic's, Groq's and Together's do;
- ``quiet``: the limiter learns, but the key's answers carry no limit headers: only 429s teach
  (AIMD);
- ``trusting``: the baseline, the limiter with learning off (``Adaptation(learn=False)``): it
  trusts the file, and a 429 only pauses the key.

``--limit requests`` (the default) makes requests/min bind (390 stated, 300 true, tiny
prompts); ``--limit tokens`` makes tokens/min bind (78,000 stated, 60,000 true, ~160-token
prompts with max_tokens 64; the simulator charges max_tokens as OpenAI does, while the limiter
corrects its estimate to the tokens used, so there the 429s also teach what the headers
cannot: the provider counts more than we do).

Before the clock starts, each key's bucket is emptied (the simulator's buckets hold a whole
minute, so without this a 30% excess would take over three minutes to show at all: it stands
for another client having used the key's burst). Each arm then runs ``--seconds``; the figures
are the last 60 s's successful calls (or tokens the simulator charged) per minute ÷ the true
limit (goal >= 0.9) and the 429 share of all requests the arm sent over the whole run (goal
<= 2%).

    ITAS_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/rate_limit_adapts.py \\
        [--seconds 150] [--json-out bench/rate_limit_adapts.json]

Takes ``--seconds`` + about 15 s. Exit 0 when the ``headers`` arm meets both goals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.harness import service_urls  # noqa: E402
from scheduler.processes import start_process, stop, wait_http  # noqa: E402
from scheduler.services.ports import free_port  # noqa: E402

# 5 calls/s: a rate a busy 2-core machine still keeps up with, so the figure measures the
# limiter rather than the machine's load (printed with the figures).
TRUE_RPM = 300
STATED_RPM = 390  # 30% above what the simulator enforces
TRUE_TPM = 60_000
STATED_TPM = 78_000
#: --limit tokens: each call's prompt (~160 tokens) and max_tokens (the simulator, as OpenAI,
#: charges max_tokens against tokens/min whatever the answer used).
PADDING = "Consider the numbers given below carefully before you answer. " * 10
MAX_TOKENS_TPM = 64
ARMS = ("headers", "quiet", "trusting")
LLM = "sim-tiny"
WINDOW_S = 60.0


@dataclass(frozen=True)
class BenchEndpoint:
    """Has the attributes of models.endpoints.Endpoint that call_llm reads."""

    name: str
    base_url: str
    api_key_envs: list[str] = field(default_factory=lambda: ["ITAS_BENCH_KEY"])
    kind: str = "openai"
    requests_per_min: int | None = None
    tokens_per_min: int | None = None
    max_in_flight: int | None = None
    timeout_s: float = 30.0


def fleet(work: Path, limit: str) -> Path:
    """Three keys at the true limit; the ``quiet`` one without limit headers."""
    rpm, tpm = (TRUE_RPM, 100_000_000) if limit == "requests" else (1_000_000, TRUE_TPM)
    keys = [{"key": f"bench-{arm}", "requests_per_min": rpm, "tokens_per_min": tpm,
             "limit_headers": arm != "quiet"} for arm in ARMS]
    path = work / "fleet.yaml"
    path.write_text(yaml.safe_dump({
        "latency_scale": 1.0,
        "keys": keys,
        "llms": {LLM: {"description": "simulated; 0.1-0.3 s a call", "ability": -1.2,
                       "judge": -1.5,
                       "latency": {"ttft_median_ms": 100, "ttft_p95_ms": 250,
                                   "tokens_per_s": 300}}},
    }))
    return path


async def _drain(url: str, key: str, limit: str) -> int:
    """Empty ``key``'s bucket (zero-latency calls until the first 429s)."""
    body = {"model": LLM, "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1 if limit == "requests" else 2000}
    headers = {"authorization": f"Bearer {key}", "x-sim-latency-ms": "0"}
    sent = 0
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            replies = await asyncio.gather(*[
                client.post(f"{url}/v1/chat/completions", json=body, headers=headers)
                for _ in range(50)])
            sent += len(replies)
            if any(r.status_code == 429 for r in replies):
                return sent


def run_process(arm: str, url: str, limit: str, threads: int, seconds: float, ready: Any,
                start: Any, redis_url: str, prefix: str, out: Any) -> None:
    """One worker process of one arm: ``threads`` threads call as fast as the limiter lets."""
    from models.errors import EndpointError, RateLimited
    from worker.clients import ChatRequest, RetryPolicy, call_llm
    from worker.ratelimit import Adaptation, RateLimiter

    logging.getLogger("worker.clients.calling").setLevel(logging.ERROR)  # 429s are expected
    limiter = RateLimiter(redis.Redis.from_url(redis_url), prefix,
                          adaptation=Adaptation(learn=arm != "trusting"))
    if limit == "requests":
        endpoint = BenchEndpoint(name=f"bench-{arm}", base_url=url,
                                 requests_per_min=STATED_RPM)
    else:
        endpoint = BenchEndpoint(name=f"bench-{arm}", base_url=url, tokens_per_min=STATED_TPM)
    keys_env = {"ITAS_BENCH_KEY": f"bench-{arm}"}
    # The clock starts once every process is up and the buckets are empty (spawning
    # interpreters takes long on a loaded machine, and the buckets refill meanwhile).
    ready.wait()
    start.wait()
    until = time.time() + seconds
    policy = RetryPolicy(max_attempts=1000, max_total_s=seconds + 60)
    lock = threading.Lock()
    done: list[tuple[float, int]] = []  # (when, what the simulator charged)
    stats = {"sent": 0, "429": 0, "errors": 0}

    def on_failed(exc: EndpointError, key: str) -> None:
        with lock:
            stats["sent"] += 1
            stats["429" if isinstance(exc, RateLimited) else "errors"] += 1

    def loop(n: int) -> None:
        i = 0
        while time.time() < until:
            i += 1
            if limit == "requests":
                request = ChatRequest(llm=LLM, max_tokens=8, seed=i, messages=[
                    {"role": "user", "content": f"What is {n} + {i}?"}])
            else:
                request = ChatRequest(llm=LLM, max_tokens=MAX_TOKENS_TPM, seed=i, messages=[
                    {"role": "user", "content": f"{PADDING}What is {n} + {i}?"}])
            try:
                response = call_llm(endpoint, request, limiter=limiter, keys_env=keys_env,
                                    policy=policy, on_failed_attempt=on_failed)
            except EndpointError:
                continue
            with lock:
                stats["sent"] += 1
                done.append((time.time(), response.tokens_in + request.max_tokens))

    workers = [threading.Thread(target=loop, args=(os.getpid() * 1000 + t,))
               for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((arm, done, stats))


def figure(name: str, value: float, unit: str, goal: str, baseline: str,
           command: str) -> dict[str, Any]:
    return {"name": name, "value": round(value, 4), "unit": unit, "goal": goal,
            "baseline": baseline, "command": command}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0,
                        help="run time of each arm (at least 90: the last 60 s are measured)")
    parser.add_argument("--processes", type=int, default=2, help="processes per arm")
    parser.add_argument("--threads", type=int, default=6, help="threads per process")
    parser.add_argument("--limit", choices=("requests", "tokens"), default="requests",
                        help="which limit binds: requests/min (tiny prompts) or tokens/min "
                        "(~160-token prompts, max_tokens 64)")
    parser.add_argument("--json-out", type=Path, help="write the figures here (a JSON list)")
    args = parser.parse_args()
    if args.seconds < 90:
        print("--seconds: expected at least 90 (the last 60 s are measured)", file=sys.stderr)
        return 2
    urls = service_urls()
    if urls is None:
        return 2
    redis_url = urls[1]
    prefix = os.environ.get("ITAS_REDIS_PREFIX", "itas:") + f"bench-{uuid.uuid4().hex[:8]}:"
    work = Path(tempfile.mkdtemp(prefix="itas-bench-adapts-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    simulator = start_process([sys.executable, "-m", "simulator", "--port", str(port),
                               "--fleet", str(fleet(work, args.limit))], work / "sim.log",
                              {k: v for k, v in os.environ.items() if k != "ITAS_DATASETS"})
    try:
        wait_http(f"{url}/health", simulator, work / "sim.log")
        results = run(args, url, redis_url, prefix)
    finally:
        stop(simulator)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
    return report(args, results)


def run(args: argparse.Namespace, url: str, redis_url: str,
        prefix: str) -> dict[str, tuple[list[tuple[float, int]], dict[str, int], float]]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    count = len(ARMS) * args.processes
    ready, start = ctx.Barrier(count + 1), ctx.Event()
    procs = [ctx.Process(target=run_process, args=(arm, url, args.limit, args.threads,
                                                   args.seconds, ready, start, redis_url,
                                                   prefix, out))
             for arm in ARMS for _ in range(args.processes)]
    stated, true, unit = limit_of(args.limit)
    print(f"{len(ARMS)} arms x {args.processes} processes x {args.threads} threads for "
          f"{args.seconds:.0f} s; file states {stated} {unit}/min, the simulator enforces "
          f"{true}", flush=True)
    for p in procs:
        p.start()
    ready.wait(timeout=300)
    for arm in ARMS:
        asyncio.run(_drain(url, f"bench-{arm}", args.limit))
    until = time.time() + args.seconds
    start.set()
    results: dict[str, tuple[list[tuple[float, int]], dict[str, int], float]] = {
        a: ([], {"sent": 0, "429": 0, "errors": 0}, until) for a in ARMS}
    for _ in procs:
        arm, done, stats = out.get(timeout=args.seconds + 300)
        results[arm][0].extend(done)
        for k, v in stats.items():
            results[arm][1][k] += v
    for p in procs:
        p.join()
    return results


def limit_of(limit: str) -> tuple[int, int, str]:
    """(stated, true, unit) of the binding limit."""
    if limit == "requests":
        return STATED_RPM, TRUE_RPM, "requests"
    return STATED_TPM, TRUE_TPM, "tokens"


def report(args: argparse.Namespace,
           results: dict[str, tuple[list[tuple[float, int]], dict[str, int], float]]) -> int:
    command = ("ITAS_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python "
               f"bench/rate_limit_adapts.py --seconds {args.seconds:g} --limit {args.limit}")
    stated, true, unit = limit_of(args.limit)
    rows: dict[str, tuple[float, float]] = {}
    print(f"\n{'arm':9} {'calls':>6} {'sent':>6} {'429s':>6} {'429 share':>9} "
          f"{'last 60 s ' + unit + '/min':>22} {'÷ true':>7}")
    for arm in ARMS:
        done, stats, until = results[arm]
        last = sum(1 if args.limit == "requests" else charged
                   for t, charged in done if until - WINDOW_S < t <= until)
        ratio = last / true
        share = stats["429"] / stats["sent"] if stats["sent"] else 0.0
        rows[arm] = (ratio, share)
        print(f"{arm:9} {len(done):6d} {stats['sent']:6d} {stats['429']:6d} {share:9.2%} "
              f"{last:22d} {ratio:7.3f}")
    load = os.getloadavg()[0]
    print(f"\nload average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs")
    base = (f"load average {load:.1f}; true limit {true} {unit}/min (file states {stated}); "
            f"trusting the file: {rows['trusting'][0]:.3f} of it, "
            f"{rows['trusting'][1]:.2%} 429s")
    name = "rate_limit_adapts" + ("" if args.limit == "requests" else "_tpm")
    figures = [
        figure(name, rows["headers"][0], "ratio", ">= 0.9", base, command),
        figure(f"{name}_429_share", rows["headers"][1], "share", "<= 0.02", base, command),
        figure(f"{name}_without_headers", rows["quiet"][0], "ratio", ">= 0.9",
               base + " (429s alone teach)", command),
        figure(f"{name}_without_headers_429_share", rows["quiet"][1], "share", "<= 0.02",
               base + " (429s alone teach)", command),
    ]
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    ok = rows["headers"][0] >= 0.9 and rows["headers"][1] <= 0.02
    print(f"\n{name} {rows['headers'][0]:.3f} (goal >= 0.9), 429 share "
          f"{rows['headers'][1]:.2%} (goal <= 2%): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
