"""Rate-limit utilisation: itas's shared Redis limiter against a naive client, side by side.

The issue's criterion: with two keys of 300 requests/min on one simulated endpoint and 4 worker
processes, a 3,000-call evaluation gets <= 1% 429s and uses >= 90% of the combined limit.

Two arms run at the same time against the same simulator (a simulated LLM fleet, no real LLM),
each with its own two keys of 300 requests/min (bench/fleets/two-keys-300rpm.yaml), each as
``--processes`` OS processes of ``--threads`` threads:

- ``limited``: every call goes through :func:`worker.clients.call_llm` with one
  :class:`worker.ratelimit.RateLimiter` in Redis shared by all processes (keys rotate, a 429
  pauses a key for everyone);
- ``naive``: round-robin over the two keys, and on a 429 sleep what ``retry-after`` says and try
  again; nothing else.

Printed per arm: calls, wall time, achieved requests/min and its ratio to the combined limit,
the most calls in any 60 s window, HTTP 429s and their share of all requests sent.

Quick check (600 calls, about a minute), with the simulator started by the bench:

    ITAS_REDIS_URL=redis://127.0.0.1:6379/0 python bench/ratelimit_utilisation.py --start-simulator

The criterion run (3,000 calls, about 5 minutes at 600 requests/min):

    ITAS_REDIS_URL=redis://127.0.0.1:6379/0 python bench/ratelimit_utilisation.py \\
        --start-simulator --calls 3000

Or start the simulator yourself and point ``--url`` at it:

    python -m simulator --port 8300 --fleet bench/fleets/two-keys-300rpm.yaml

For `make bench` (issue 12's `rate_limit_rpm_use`, `rate_limit_tpm_use`, `rate_limit_429_share`)
it runs for a fixed time instead of a number of calls, the limiter's arm alone:

    python bench/ratelimit_utilisation.py --start-simulator --arms limited --duration 95 \
        --mode rpm --json-out rpm.json     # short prompts: requests/min binds
    python bench/ratelimit_utilisation.py --start-simulator --arms limited --duration 95 \
        --mode tpm --json-out tpm.json     # prompts of 50-2,000 tokens: tokens/min binds

In ``tpm`` mode each key also allows ``--tpm`` tokens/min (default 30,000), and a request
counts as the simulator counts it: its prompt tokens plus ``max_tokens`` (32), at admission.
Achieved use is what was completed inside the window divided by the limit over the window.

Note on reading the naive arm: the simulator, like OpenAI's and Anthropic's limits, refills a
bucket that holds a whole minute, so a naive client may burst a minute's quota at the start (its
ratio can exceed 1 on a short run); the limiter does not count on a burst it cannot know of.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results import figure, write_figures  # noqa: E402

FLEET = REPO / "bench" / "fleets" / "two-keys-300rpm.yaml"
KEYS = {
    "limited": {"ITAS_BENCH_KEY_1": "bench-limited-1", "ITAS_BENCH_KEY_2": "bench-limited-2"},
    "naive": {"ITAS_BENCH_KEY_1": "bench-naive-1", "ITAS_BENCH_KEY_2": "bench-naive-2"},
}
LLM = "sim-tiny"


@dataclass(frozen=True)
class BenchEndpoint:
    """Has the attributes of models.endpoints.Endpoint that call_llm reads."""

    name: str
    base_url: str
    requests_per_min: int
    kind: str = "openai"
    api_key_envs: list[str] = field(default_factory=lambda: list(KEYS["limited"]))
    tokens_per_min: int | None = None
    max_in_flight: int | None = None
    timeout_s: float = 30.0


MAX_TOKENS = 32


def _body(i: int, mode: str = "rpm") -> dict[str, Any]:
    content = f"What is {i} + 2?"
    if mode == "tpm":  # prompts of 50 to 2,000 tokens (4 characters a token), mixed
        tokens = 50 + (i * 7919) % 1951
        content = (content + " Context: " + "lorem ipsum dolor " * (tokens // 4 + 1))[
            : tokens * 4]
    return {"model": LLM, "messages": [{"role": "user", "content": content}],
            "max_tokens": MAX_TOKENS, "temperature": 0.7, "seed": i}


def run_process(arm: str, url: str, rpm: int, threads: int, tickets: Any, start_at: float,
                redis_url: str, prefix: str, out: Any, mode: str = "rpm",
                tpm: int | None = None, stop_at: float | None = None) -> None:
    """One worker process of one arm: ``threads`` threads take tickets until none are left
    (or ``stop_at`` passes). Reports (arm, [(time done, tokens as the simulator counts them)],
    counters)."""
    from models.errors import EndpointError, RateLimited
    from worker.clients import ChatRequest, RetryPolicy, call_llm
    from worker.ratelimit import RateLimiter

    lock = threading.Lock()
    done: list[tuple[float, int]] = []
    stats = {"sent": 0, "429": 0, "errors": 0}

    def take() -> int | None:
        if stop_at is not None and time.time() >= stop_at:
            return None
        with tickets.get_lock():
            if tickets.value <= 0:
                return None
            tickets.value -= 1
            return int(tickets.value)

    def count(name: str, n: int = 1) -> None:
        with lock:
            stats[name] += n

    limiter = RateLimiter(redis.Redis.from_url(redis_url), prefix)
    endpoint = BenchEndpoint(name="bench-sim", base_url=url, requests_per_min=rpm,
                             tokens_per_min=tpm)
    policy = RetryPolicy(max_attempts=50, max_total_s=900)

    def on_failed(exc: EndpointError, key: str) -> None:
        count("429" if isinstance(exc, RateLimited) else "errors")

    client = httpx.Client(timeout=30)

    def limited_thread() -> None:
        while (i := take()) is not None:
            request = ChatRequest(llm=LLM, messages=_body(i, mode)["messages"],
                                  max_tokens=MAX_TOKENS, seed=i)
            response = call_llm(endpoint, request, limiter=limiter, keys_env=KEYS["limited"],
                                policy=policy, on_failed_attempt=on_failed)
            count("sent", response.attempts)
            with lock:
                done.append((time.time(), response.tokens_in + MAX_TOKENS))

    def naive_thread() -> None:
        keys = list(KEYS["naive"].values())
        while (i := take()) is not None:
            while True:
                key = keys[i % len(keys)]
                i += 1  # round-robin: the next try goes to the other key
                count("sent")
                r = client.post(f"{url}/v1/chat/completions", json=_body(i, mode),
                                headers={"authorization": f"Bearer {key}"})
                if r.status_code == 429:
                    count("429")
                    time.sleep(float(r.headers.get("retry-after", "1")))
                    continue
                if r.status_code != 200:
                    count("errors")
                    tokens = 0
                else:
                    tokens = int(r.json()["usage"]["prompt_tokens"]) + MAX_TOKENS
                with lock:
                    done.append((time.time(), tokens))
                break

    time.sleep(max(0.0, start_at - time.time()))
    target = limited_thread if arm == "limited" else naive_thread
    workers = [threading.Thread(target=target) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    client.close()
    out.put((arm, done, stats))


def max_in_window(times: list[float], window: float) -> int:
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def wait_healthy(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=600, help="calls per arm (default 600)")
    parser.add_argument("--duration", type=float,
                        help="run this many seconds instead of --calls (count what ends inside)")
    parser.add_argument("--mode", choices=("rpm", "tpm"), default="rpm",
                        help="rpm: short prompts; tpm: prompts of 50-2,000 tokens and a "
                             "tokens/min limit that binds")
    parser.add_argument("--tpm", type=int, default=30_000,
                        help="tokens/min of each key in tpm mode (default 30,000)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--rpm", type=int, default=300, help="requests/min of each key")
    parser.add_argument("--arms", default="limited,naive")
    parser.add_argument("--url", default="http://127.0.0.1:8300", help="the simulator")
    parser.add_argument("--start-simulator", action="store_true",
                        help="start `python -m simulator` with the bench fleet on --url's port")
    parser.add_argument("--simulator-python", default=sys.executable,
                        help="interpreter that has the simulator package (default: this one)")
    parser.add_argument("--json-out", type=Path, help="write the limited arm's figures here")
    args = parser.parse_args()
    redis_url = os.environ.get("ITAS_REDIS_URL")
    if not redis_url:
        print("ITAS_REDIS_URL is not set: the limiter needs Redis (e.g. "
              "redis://127.0.0.1:6379/0)", file=sys.stderr)
        return 2
    prefix = os.environ.get("ITAS_REDIS_PREFIX", "itas:") + f"bench-{uuid.uuid4().hex[:8]}:"

    simulator = None
    fleet = FLEET
    if args.start_simulator:
        if args.mode == "tpm":
            fleet = _tpm_fleet(args.rpm, args.tpm)
        port = httpx.URL(args.url).port or 8300
        simulator = subprocess.Popen(
            [args.simulator_python, "-m", "simulator", "--port", str(port), "--fleet",
             str(fleet)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_healthy(args.url, 20 if simulator else 2):
            print(f"no simulator answers at {args.url}; start it with\n  python -m simulator "
                  f"--port 8300 --fleet {FLEET.relative_to(REPO)}\nor pass --start-simulator",
                  file=sys.stderr)
            return 2
        return run(args, redis_url, prefix)
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait(10)
        if fleet != FLEET:
            fleet.unlink(missing_ok=True)
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def _tpm_fleet(rpm: int, tpm: int) -> Path:
    """The bench fleet with every key at ``rpm`` requests/min and ``tpm`` tokens/min."""
    import tempfile

    import yaml

    fleet = yaml.safe_load(FLEET.read_text())
    for key in fleet["keys"]:
        key.update(requests_per_min=rpm, tokens_per_min=tpm)
    handle, name = tempfile.mkstemp(prefix="itas-bench-tpm-", suffix=".yaml")
    os.close(handle)
    Path(name).write_text(yaml.safe_dump(fleet))
    return Path(name)


def run(args: argparse.Namespace, redis_url: str, prefix: str) -> int:
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    combined = 2 * args.rpm
    combined_tpm = 2 * args.tpm if args.mode == "tpm" else None
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3  # every interpreter is up before the clock starts
    stop_at = start_at + args.duration if args.duration else None
    calls = 10**9 if args.duration else args.calls
    procs = []
    counters = []  # each arm's remaining calls; kept referenced until the children have them
    for arm in arms:
        tickets = ctx.Value("i", calls)
        counters.append(tickets)
        procs += [ctx.Process(target=run_process,
                              args=(arm, args.url, args.rpm, args.threads, tickets, start_at,
                                    redis_url, prefix, out, args.mode,
                                    args.tpm if args.mode == "tpm" else None, stop_at))
                  for _ in range(args.processes)]
    size = f"{args.duration:.0f} s" if args.duration else f"{args.calls} calls per arm"
    print(f"{size}, {args.processes} processes x {args.threads} threads, mode {args.mode}, "
          f"two keys of {args.rpm} requests/min (combined {combined}/min)"
          + (f" and {args.tpm} tokens/min (combined {combined_tpm}/min)" if combined_tpm
             else "") + f", arms: {', '.join(arms)}", flush=True)
    for p in procs:
        p.start()
    results: dict[str, tuple[list[tuple[float, int]], dict[str, int]]] = {
        a: ([], {"sent": 0, "429": 0, "errors": 0}) for a in arms}
    for _ in procs:
        arm, done, stats = out.get()
        results[arm][0].extend(done)
        for k, v in stats.items():
            results[arm][1][k] += v
    for p in procs:
        p.join()

    verdict = 0
    figures = []
    print(f"\n{'arm':8} {'calls':>6} {'wall s':>7} {'req/min':>8} {'ratio':>6} "
          f"{'tok/min':>8} {'ratio':>6} {'max/60s':>8} {'429s':>6} {'429 share':>9} "
          f"{'errors':>6}")
    for arm in arms:
        done, stats = results[arm]
        if stop_at is not None:  # what ended inside the window, over the window
            inside = [(t, n) for t, n in done if t <= stop_at]
            wall = args.duration
        else:
            inside = done
            wall = max(t for t, _ in done) - start_at if done else float("nan")
        rpm = len(inside) / wall * 60 if inside else 0.0
        tpm = sum(n for _, n in inside) / wall * 60 if inside else 0.0
        share = stats["429"] / stats["sent"] if stats["sent"] else 0.0
        tpm_ratio = tpm / combined_tpm if combined_tpm else float("nan")
        print(f"{arm:8} {len(inside):6d} {wall:7.1f} {rpm:8.1f} {rpm / combined:6.3f} "
              f"{tpm:8.0f} {tpm_ratio:6.3f} {max_in_window([t for t, _ in done], 60.0):8d} "
              f"{stats['429']:6d} {share:9.2%} {stats['errors']:6d}")
        if arm == "limited":
            # The criterion of the mode: the limit that is meant to bind.
            use, limit = ((rpm / combined, f"{combined}/min") if args.mode == "rpm"
                          else (tpm_ratio, f"{combined_tpm} tokens/min"))
            passed = share <= 0.01 and use >= 0.90
            verdict = 0 if passed else 1
            print(f"         criterion (<= 1% 429s, >= 90% of {limit}): "
                  f"{'PASS' if passed else 'FAIL'}")
            command = (f"python bench/ratelimit_utilisation.py --start-simulator --arms limited "
                       f"--mode {args.mode} --duration {args.duration:.0f} --processes "
                       f"{args.processes}")
            if args.mode == "rpm":
                figures.append(figure(
                    "rate_limit_rpm_use", rpm / combined, "ratio", goal=">= 0.97",
                    command=command,
                    baseline=f"simulator's limit {combined} requests/min (two keys); "
                             f"achieved {rpm:.1f}/min over {wall:.0f} s"))
            else:
                figures.append(figure(
                    "rate_limit_tpm_use", tpm_ratio, "ratio", goal=">= 0.9", command=command,
                    baseline=f"simulator's limit {combined_tpm} tokens/min (two keys; a request "
                             f"counts prompt + max_tokens); achieved {tpm:.0f}/min over "
                             f"{wall:.0f} s ({rpm:.0f} requests/min)"))
            figures.append(figure(
                "rate_limit_429_share" + ("" if args.mode == "rpm" else "_tpm"), share,
                "ratio", goal="<= 0.005",
                command=command,
                baseline=f"{stats['429']} 429s of {stats['sent']} requests sent"))
    write_figures(args.json_out, figures)
    return verdict


if __name__ == "__main__":
    sys.exit(main())
