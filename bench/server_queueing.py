"""server_queueing: a server that runs one completion at a time, and a limiter that learns it.

llama.cpp's server runs one completion at a time; requests sent in parallel wait inside it and
time out (bench/real_llm.py saw 43% of its completions wasted at ``max_in_flight: 8``). Here
two simulated LLMs (the itas simulator, no real LLM) each run one completion at a time
(``server_concurrency: 1``, ``--service-ms`` each) behind an endpoint that allows 8 in flight
with a ``--timeout-s`` timeout. Two arms run side by side for ``--seconds``, each 8 threads
calling :func:`worker.clients.call_llm` as fast as they can:

- ``learning``: the limiter counts a timeout as the signal to send fewer (it halves the key's
  in-flight cap; successes bring it back slowly);
- ``trusting``: the baseline, learning off: 8 in flight, timeouts retried with backoff.

Figures: the share of HTTP attempts that timed out (wasted: the server still ran them) with
learning ÷ without (goal <= 0.5), and answers per minute with learning ÷ without.

    ITAS_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/server_queueing.py \\
        [--seconds 60] [--json-out bench/server_queueing.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.harness import service_urls  # noqa: E402
from scheduler.processes import start_process, stop, wait_http  # noqa: E402
from scheduler.services.ports import free_port  # noqa: E402

ARMS = ("learning", "trusting")


@dataclass(frozen=True)
class BenchEndpoint:
    """Has the attributes of models.endpoints.Endpoint that call_llm reads."""

    name: str
    base_url: str
    timeout_s: float
    max_in_flight: int | None = 8
    api_key_envs: list[str] = field(default_factory=lambda: ["ITAS_BENCH_KEY"])
    kind: str = "openai"
    requests_per_min: int | None = None
    tokens_per_min: int | None = None


def fleet(work: Path, service_ms: float) -> Path:
    llm = {"ability": 0, "judge": 0, "server_concurrency": 1,
           "description": "simulated local server: one completion at a time",
           "latency": {"ttft_median_ms": service_ms, "ttft_p95_ms": service_ms,
                       "tokens_per_s": 1e9}}
    path = work / "fleet.yaml"
    path.write_text(yaml.safe_dump({
        "keys": [{"key": "bench-local", "requests_per_min": 1_000_000,
                  "tokens_per_min": 1_000_000_000}],
        "llms": {f"local-{arm}": llm for arm in ARMS},
    }))
    return path


def run_arm(arm: str, url: str, args: argparse.Namespace, limiter: Any,
            out: dict[str, int]) -> None:
    from models.errors import EndpointError, EndpointTimeout
    from worker.clients import ChatRequest, RetryPolicy, call_llm

    endpoint = BenchEndpoint(name=f"bench-local-{uuid.uuid4().hex[:6]}", base_url=url,
                             timeout_s=args.timeout_s)
    until = time.monotonic() + args.seconds
    policy = RetryPolicy(max_attempts=1000, max_total_s=args.seconds + 5, base_s=0.1, cap_s=1)
    lock = threading.Lock()

    def failed(exc: EndpointError, key: str) -> None:
        with lock:
            out["attempts"] += 1
            out["timeouts" if isinstance(exc, EndpointTimeout) else "errors"] += 1

    def loop(n: int) -> None:
        i = 0
        while time.monotonic() < until:
            i += 1
            request = ChatRequest(llm=f"local-{arm}", max_tokens=4, seed=i, messages=[
                {"role": "user", "content": f"What is {n} + {i}?"}])
            try:
                call_llm(endpoint, request, limiter=limiter,
                         keys_env={"ITAS_BENCH_KEY": "bench-local"}, policy=policy,
                         on_failed_attempt=failed)
            except EndpointError:
                continue
            with lock:
                out["attempts"] += 1
                if time.monotonic() <= until:
                    out["answers"] += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--service-ms", type=float, default=500.0,
                        help="how long the server takes per completion")
    parser.add_argument("--timeout-s", type=float, default=2.0,
                        help="the endpoint's timeout (4 completions' worth by default)")
    parser.add_argument("--json-out", type=Path, help="write the figures here (a JSON list)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.service_ms <= 0 or args.timeout_s <= 0:
        print("--seconds, --service-ms, --timeout-s: expected positive numbers",
              file=sys.stderr)
        return 2
    urls = service_urls()
    if urls is None:
        return 2
    redis_url = urls[1]
    logging.getLogger("worker.clients.calling").setLevel(logging.ERROR)  # timeouts expected
    from worker.ratelimit import Adaptation, RateLimiter

    prefix = os.environ.get("ITAS_REDIS_PREFIX", "itas:") + f"bench-{uuid.uuid4().hex[:8]}:"
    work = Path(tempfile.mkdtemp(prefix="itas-bench-queueing-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "ITAS_DATASETS"}
    simulator = start_process([sys.executable, "-m", "simulator", "--port", str(port),
                               "--fleet", str(fleet(work, args.service_ms))],
                              work / "sim.log", env)
    client = redis.Redis.from_url(redis_url)
    counts = {arm: {"answers": 0, "attempts": 0, "timeouts": 0, "errors": 0} for arm in ARMS}
    try:
        wait_http(f"{url}/health", simulator, work / "sim.log")
        runs = [threading.Thread(target=run_arm, args=(
            arm, url, args, RateLimiter(client, prefix,
                                        adaptation=Adaptation(learn=arm == "learning")),
            counts[arm])) for arm in ARMS]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    finally:
        stop(simulator)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
    return report(args, counts)


def report(args: argparse.Namespace, counts: dict[str, dict[str, int]]) -> int:
    wasted = {arm: c["timeouts"] / c["attempts"] if c["attempts"] else 0.0
              for arm, c in counts.items()}
    print(f"one completion at a time, {args.service_ms:g} ms each; 8 threads per arm, "
          f"max_in_flight 8, timeout {args.timeout_s:g} s, {args.seconds:g} s\n")
    print(f"{'arm':9} {'answers':>8} {'attempts':>9} {'timeouts':>9} {'wasted':>7}")
    for arm in ARMS:
        c = counts[arm]
        print(f"{arm:9} {c['answers']:8d} {c['attempts']:9d} {c['timeouts']:9d} "
              f"{wasted[arm]:7.1%}")
    ratio = wasted["learning"] / wasted["trusting"] if wasted["trusting"] else float("nan")
    answers = (counts["learning"]["answers"] / counts["trusting"]["answers"]
               if counts["trusting"]["answers"] else float("inf"))
    command = ("ITAS_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python "
               f"bench/server_queueing.py --seconds {args.seconds:g}")
    base = (f"learning off (trusting max_in_flight 8): {wasted['trusting']:.1%} of attempts "
            f"timed out, {counts['trusting']['answers']} answers")
    figures = [
        {"name": "server_queueing_wasted_vs_trusting", "value": round(ratio, 4),
         "unit": "ratio", "goal": "<= 0.5", "baseline": base, "command": command},
        {"name": "server_queueing_answers_vs_trusting", "value": round(answers, 4),
         "unit": "ratio", "goal": ">= 1", "baseline": base, "command": command},
    ]
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nwasted with learning ÷ without: {ratio:.3f} (goal <= 0.5); answers: "
          f"{answers:.2f}x")
    return 0 if ratio <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
