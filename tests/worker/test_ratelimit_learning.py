"""The limiter learns from the provider, against the real Redis of the run and the simulator.

What a user notices: an endpoints file that states more than the provider allows costs a
first answer, not a stream of 429s (the stated limit is read from the headers); a provider
that states nothing is found by its 429s, once per congestion event, and the rate comes back
slowly; a server that queues what it cannot run makes us send fewer at once, so fewer calls
time out; every worker process sees what one learned.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis

from models.errors import EndpointError, EndpointTimeout
from tests.engine import fleet_simulator
from tests.services import RunServices
from worker.clients import ChatRequest, RetryPolicy, call_llm
from worker.clients.stated_limits import stated_limits
from worker.ratelimit import Adaptation, Limits, RateLimiter, Signal, StatedLimits


@pytest.fixture
def redis_client(services: RunServices) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(services.redis_url)
    yield client
    client.close()


def endpoint_name() -> str:
    return f"ep-{uuid.uuid4().hex[:8]}"


def limiter_of(client: redis.Redis, services: RunServices, **adaptation: object) -> RateLimiter:
    return RateLimiter(client, services.redis_prefix,
                       adaptation=Adaptation(**adaptation))  # type: ignore[arg-type]


# -- the provider's headers --------------------------------------------------------------------


def test_stated_limits_are_read_from_openai_and_anthropic_headers() -> None:
    assert stated_limits({"x-ratelimit-limit-requests": "600",
                          "x-ratelimit-limit-tokens": "150000"}) == StatedLimits(600, 150_000)
    assert stated_limits({"anthropic-ratelimit-requests-limit": "50",
                          "anthropic-ratelimit-tokens-limit": "40000"}) == StatedLimits(50, 40_000)
    assert stated_limits({"x-ratelimit-limit-requests": "many"}) == StatedLimits()
    assert stated_limits({"x-ratelimit-limit-requests": "0"}) == StatedLimits()
    assert stated_limits({}) == StatedLimits()


def test_a_stated_limit_lowers_the_keys_rate_for_every_limiter_but_never_raises_it(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    limiter = limiter_of(redis_client, services)
    other = RateLimiter(redis.Redis.from_url(services.redis_url), services.redis_prefix)
    endpoint, limits = endpoint_name(), Limits(requests_per_min=780, tokens_per_min=100_000)
    limiter.acquire(endpoint, "K", limits, 10, timeout_s=1).release(
        10, signal=Signal.OK, stated=StatedLimits(600, 200_000))
    seen = other.effective(endpoint, "K", limits)
    assert seen.requests_per_min == pytest.approx(600)
    assert seen.tokens_per_min == pytest.approx(100_000)  # 200k stated: the file's 100k stays
    assert other.effective(endpoint, "OTHER-KEY", limits).requests_per_min == pytest.approx(780)
    # ... and the admission follows it: 10 back to back (1 s of 600/min), then a 0.1 s wait.
    for _ in range(10):
        limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release()
    _, wait = limiter.choose_key(endpoint, ["K"], limits, 1)
    assert 0.05 <= wait <= 0.1


def test_learning_off_trusts_the_endpoints_file(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    limiter = limiter_of(redis_client, services, learn=False)
    endpoint, limits = endpoint_name(), Limits(requests_per_min=780, max_in_flight=4)
    limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release(
        signal=Signal.RATE_LIMITED, stated=StatedLimits(600))
    limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release(signal=Signal.TIMEOUT)
    seen = limiter.effective(endpoint, "K", limits)
    assert (seen.requests_per_min, seen.max_in_flight, seen.factor) == (780, 4, 1.0)


# -- 429s: AIMD on the rates -------------------------------------------------------------------


def test_a_429_cuts_the_rate_once_per_event_and_it_recovers_with_time(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    limiter = limiter_of(redis_client, services, rate_backoff=0.5, rate_recover_s=4)
    endpoint, limits = endpoint_name(), Limits(requests_per_min=6000)
    before = [limiter.acquire(endpoint, "K", limits, 1, timeout_s=1) for _ in range(3)]
    before[0].release(signal=Signal.RATE_LIMITED)
    assert limiter.effective(endpoint, "K", limits).requests_per_min == pytest.approx(
        3000, rel=0.02)
    # The other 429s of calls sent before the cut are the same event: no further cut.
    before[1].release(signal=Signal.RATE_LIMITED)
    before[2].release(signal=Signal.RATE_LIMITED)
    assert limiter.effective(endpoint, "K", limits).factor == pytest.approx(0.5, abs=0.02)
    # A call sent at the lower rate that still gets a 429 cuts again.
    limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release(signal=Signal.RATE_LIMITED)
    assert limiter.effective(endpoint, "K", limits).factor == pytest.approx(0.25, abs=0.03)
    time.sleep(1.0)  # 1/4 of the full factor comes back per second
    assert limiter.effective(endpoint, "K", limits).factor == pytest.approx(0.5, abs=0.06)
    time.sleep(2.2)
    assert limiter.effective(endpoint, "K", limits).factor == 1.0


# -- timeouts: AIMD on the in-flight cap -------------------------------------------------------


def test_a_timeout_halves_the_slots_in_flight_and_successes_bring_them_back_slowly(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    limiter = limiter_of(redis_client, services)
    endpoint, limits = endpoint_name(), Limits(max_in_flight=8)
    held = [limiter.acquire(endpoint, "K", limits, 1, timeout_s=1) for _ in range(6)]
    held[0].release(signal=Signal.TIMEOUT)  # 6 were in flight: the cap becomes 3
    for permit in held[1:]:  # the timeouts of the same burst are one event
        permit.release(signal=Signal.TIMEOUT)
    assert limiter.effective(endpoint, "K", limits).max_in_flight == 3
    permits = [limiter.acquire(endpoint, "K", limits, 1, timeout_s=1) for _ in range(3)]
    with pytest.raises(EndpointError):  # AcquireTimeout: the fourth waits
        limiter.acquire(endpoint, "K", limits, 1, timeout_s=0.2)
    for permit in permits:
        permit.release(signal=Signal.OK)
    # About one slot per 4 x cap successes (each adds 1/(4 cap)): from 3 to 4, 14.
    successes = 3
    while limiter.effective(endpoint, "K", limits).max_in_flight == 3:
        limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release(signal=Signal.OK)
        successes += 1
    assert 12 <= successes <= 15
    for _ in range(200):
        limiter.acquire(endpoint, "K", limits, 1, timeout_s=1).release(signal=Signal.OK)
    assert limiter.effective(endpoint, "K", limits).max_in_flight == 8


# -- against the simulator ---------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    base_url: str
    requests_per_min: int | None = None
    max_in_flight: int | None = None
    timeout_s: float = 10.0
    tokens_per_min: int | None = None
    kind: str = "openai"
    api_key_envs: list[str] = field(default_factory=lambda: ["ITAS_TEST_KEY"])


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator with a 600/min key, and two LLMs whose server runs one completion at a
    time, 0.25 s each (as llama.cpp's server does)."""
    work = tmp_path_factory.mktemp("sim-learning")
    serial = {"ability": 0, "judge": 0, "server_concurrency": 1,
              "latency": {"ttft_median_ms": 250, "ttft_p95_ms": 250, "tokens_per_s": 1e9}}
    with fleet_simulator(work, {
        "keys": [{"key": "k-600", "requests_per_min": 600, "tokens_per_min": 10_000_000},
                 {"key": "k-open", "requests_per_min": 1_000_000,
                  "tokens_per_min": 1_000_000_000}],
        "llms": {"sim-fast": {"ability": 0, "judge": 0, "latency": {"ttft_median_ms": 0,
                                                                     "ttft_p95_ms": 0}},
                 "serial-a": serial, "serial-b": serial},
    }) as url:
        yield url


def test_call_llm_lowers_a_keys_rate_to_what_the_simulator_states(
    sim: str, redis_client: redis.Redis, services: RunServices,
) -> None:
    limiter = limiter_of(redis_client, services)
    endpoint = Endpoint(name=endpoint_name(), base_url=sim, requests_per_min=780)
    call_llm(endpoint, ChatRequest(llm="sim-fast", messages=[{"role": "user",
                                                                "content": "2+2?"}]),
             limiter=limiter, keys_env={"ITAS_TEST_KEY": "k-600"})
    limits = Limits(requests_per_min=780)
    seen = limiter.effective(endpoint.name, "ITAS_TEST_KEY", limits)
    assert seen.requests_per_min == pytest.approx(600)


def _timeouts_in(sim: str, limiter: RateLimiter, llm: str, seconds: float,
                 out: dict[str, int]) -> None:
    """8 threads calling ``llm`` (served one at a time, 0.25 s each) through an endpoint
    that lets 8 go at once with a 1 s timeout; counts answers and timed-out attempts."""
    endpoint = Endpoint(name=endpoint_name(), base_url=sim, max_in_flight=8, timeout_s=1.0)
    policy = RetryPolicy(max_attempts=50, max_total_s=seconds + 2, base_s=0.05, cap_s=0.2)
    lock = threading.Lock()
    until = time.monotonic() + seconds

    def failed(exc: EndpointError, key: str) -> None:
        if isinstance(exc, EndpointTimeout):
            with lock:
                out["timeouts"] += 1

    def loop(n: int) -> None:
        i = 0
        while time.monotonic() < until:
            i += 1
            try:
                call_llm(endpoint, ChatRequest(llm=llm, max_tokens=4, seed=i, messages=[
                    {"role": "user", "content": f"{n} + {i}?"}]), limiter=limiter,
                    keys_env={"ITAS_TEST_KEY": "k-open"}, policy=policy,
                    on_failed_attempt=failed)
            except EndpointError:
                continue  # gave up at the deadline: only timed out
            with lock:
                out["answers"] += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.slow
def test_timeouts_behind_a_serial_server_make_the_limiter_send_fewer_and_waste_less(
    sim: str, services: RunServices,
) -> None:
    arms = {"learning": ("serial-a", Adaptation()), "trusting": ("serial-b",
                                                                 Adaptation(learn=False))}
    counts = {arm: {"answers": 0, "timeouts": 0} for arm in arms}
    runs = [threading.Thread(target=_timeouts_in, args=(
        sim, RateLimiter(redis.Redis.from_url(services.redis_url), services.redis_prefix,
                         adaptation=adaptation), llm, 12.0, counts[arm]))
        for arm, (llm, adaptation) in arms.items()]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    learning, trusting = counts["learning"], counts["trusting"]
    wasted = {arm: c["timeouts"] / (c["timeouts"] + c["answers"]) for arm, c in counts.items()}
    # Trusting max_in_flight=8 keeps 8 queued where 4 fit in the timeout: about half the
    # calls time out, and their abandoned completions still take the server's time.
    assert wasted["trusting"] >= 0.3, counts
    assert wasted["learning"] <= wasted["trusting"] / 2, counts
    assert learning["answers"] >= trusting["answers"], counts

