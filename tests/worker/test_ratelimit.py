"""The shared rate limiter, against the real Redis of the run (never fakeredis).

What a user notices: no window ever sees more calls than the limit, however many processes and
threads ask; tokens are charged by what calls really used; concurrency stays under its cap,
even when a worker dies holding a slot; a 429 seen by one worker stops all of them; several
keys share the load; no Redis, no calls. Timing assertions carry margins of several scheduler
ticks; the tests sleep only as long as the limits make them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from models.errors import AcquireTimeout, RateLimited, RateLimiterUnavailable
from tests.services import RunServices
from worker.ratelimit import Limits, RateLimiter


@pytest.fixture
def redis_client(services: RunServices) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(services.redis_url)
    yield client
    client.close()


@pytest.fixture
def limiter(redis_client: redis.Redis, services: RunServices) -> RateLimiter:
    return RateLimiter(redis_client, services.redis_prefix)


def endpoint_name() -> str:
    """A fresh endpoint per test, so tests never share limiter state."""
    return f"ep-{uuid.uuid4().hex[:8]}"


def max_in_window(times: list[float], window: float) -> int:
    """The most timestamps in any closed interval of length ``window``."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _hammer(redis_url: str, prefix: str, endpoint: str, limits: Limits, threads: int,
            duration: float, ready: Any, out: multiprocessing.Queue[list[float]]) -> None:
    """A worker process: ``threads`` threads acquiring as fast as the limiter lets them, for
    ``duration`` seconds from the moment every process is ready (``ready``, a barrier)."""
    limiter = RateLimiter(redis.Redis.from_url(redis_url), prefix)
    ready.wait(timeout=120)
    until = time.time() + duration
    admitted: list[float] = []
    lock = threading.Lock()

    def loop() -> None:
        while time.time() < until:
            try:
                permit = limiter.acquire(endpoint, "ITAS_SIM_KEY_1", limits, 1,
                                         timeout_s=max(0.0, until - time.time()))
            except AcquireTimeout:
                return
            with lock:
                admitted.append(time.time())
            permit.release()

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(admitted)


@pytest.mark.slow
def test_processes_and_threads_never_exceed_requests_per_min_in_any_window(
    services: RunServices,
) -> None:
    endpoint = endpoint_name()
    limits = Limits(requests_per_min=600, burst_s=0.5)  # 10/s, at most 5 back to back
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[list[float]] = ctx.Queue()
    duration = 4.0
    # The clock starts once every spawned interpreter is up (slow on a loaded machine).
    ready = ctx.Barrier(4)
    procs = [
        ctx.Process(target=_hammer, args=(services.redis_url, services.redis_prefix, endpoint,
                                          limits, 4, duration, ready, out))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    ready.wait(timeout=120)
    admitted = [t for _ in procs for t in out.get(timeout=60)]
    for p in procs:
        p.join(10)
    assert admitted, "no process was admitted at all"
    rate = 600 / 60
    for window in (0.5, 1.0, 2.0, 3.0):
        allowed = 5 + rate * window
        # +2: a timestamp is taken a moment after Redis admitted (later still on a busy
        # machine), so two admissions can look closer together than they were.
        assert max_in_window(admitted, window) <= allowed + 2, (window, allowed)
    # ... and the limiter does not leave the limit unused: 12 hungry threads get ~all of it.
    span = max(admitted) - min(admitted)
    assert len(admitted) >= 0.9 * (5 + rate * span)


def test_tokens_are_charged_by_estimate_then_corrected_by_actual_usage(
    limiter: RateLimiter,
) -> None:
    limits = Limits(tokens_per_min=6000)  # 100 tokens/s, 100 back to back
    endpoint = endpoint_name()
    permit = limiter.acquire(endpoint, "K", limits, est_tokens=100, timeout_s=1)
    _, wait = limiter.choose_key(endpoint, ["K"], limits, 100)
    assert 0.8 <= wait <= 1.0  # the estimate used the whole second's worth
    permit.release(actual_tokens=10)  # 90 tokens come back
    _, wait = limiter.choose_key(endpoint, ["K"], limits, 100)
    assert wait <= 0.15

    endpoint = endpoint_name()
    limiter.acquire(endpoint, "K", limits, est_tokens=100, timeout_s=1).release(400)
    _, wait = limiter.choose_key(endpoint, ["K"], limits, 100)
    assert 3.7 <= wait <= 4.0  # 300 tokens more than estimated: three more seconds owed


@pytest.mark.slow
def test_threads_stay_within_tokens_per_min_of_actual_usage(limiter: RateLimiter) -> None:
    limits = Limits(tokens_per_min=60_000)  # 1,000 tokens/s, 1,000 back to back
    endpoint = endpoint_name()
    used: list[tuple[float, int]] = []
    lock = threading.Lock()
    until = time.monotonic() + 2.5

    def worker() -> None:
        while time.monotonic() < until:
            try:
                permit = limiter.acquire(endpoint, "K", limits, est_tokens=100,
                                         timeout_s=max(0.0, until - time.monotonic()))
            except AcquireTimeout:
                return
            with lock:
                used.append((time.monotonic(), 50))
            permit.release(actual_tokens=50)  # every call used half its estimate

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = [t for t, _ in used]
    for window in (0.5, 1.0, 2.0):
        tokens = 50 * max_in_window(times, window)
        assert tokens <= 1000 + 1000 * window + 100 * 2, window  # margin: two estimates
    # The corrections count: calls went at the rate of their real usage (~20/s), not at the
    # rate their estimates alone would allow (10/s).
    span = max(times) - min(times)
    assert len(used) >= 0.8 * (1000 + 1000 * span) / 50


def test_a_call_larger_than_the_burst_goes_when_the_bucket_is_full(limiter: RateLimiter) -> None:
    limits = Limits(tokens_per_min=6000)
    endpoint = endpoint_name()
    limiter.acquire(endpoint, "K", limits, est_tokens=250, timeout_s=1).release()
    _, wait = limiter.choose_key(endpoint, ["K"], limits, 250)
    assert 2.3 <= wait <= 2.5  # it owes 250 tokens = 2.5 s, then may go again


def test_in_flight_never_exceeds_max(limiter: RateLimiter) -> None:
    limits = Limits(max_in_flight=3)
    endpoint = endpoint_name()
    lock = threading.Lock()
    holding, peak, done = 0, 0, 0

    def worker() -> None:
        nonlocal holding, peak, done
        for _ in range(6):
            with limiter.acquire(endpoint, "K", limits, 1, timeout_s=10):
                with lock:
                    holding += 1
                    peak = max(peak, holding)
                time.sleep(0.02)
                with lock:
                    holding -= 1
                    done += 1

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done == 60
    assert peak == 3
    assert limiter.status(endpoint, "K") == (0.0, 0)  # every slot came back


class CountingLimiter(RateLimiter):
    """A limiter that counts its asks (admission scripts run), to see how callers wait."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asks = 0
        self._count_lock = threading.Lock()

    def _decide(self, *args: Any, **kwargs: Any) -> Any:
        with self._count_lock:
            self.asks += 1
        return super()._decide(*args, **kwargs)


def _hold_slots(limiters: list[CountingLimiter], endpoint: str, limits: Limits, callers: int,
                hold_s: float) -> tuple[int, int, float]:
    """``callers`` threads, spread over ``limiters``, each taking one call of ``hold_s``:
    (calls done, most calls held at once, seconds taken)."""
    lock = threading.Lock()
    holding, peak, done = 0, 0, 0

    def call(limiter: RateLimiter) -> None:
        nonlocal holding, peak, done
        with limiter.acquire(endpoint, "K", limits, 1, timeout_s=60):
            with lock:
                holding += 1
                peak = max(peak, holding)
            time.sleep(hold_s)
            with lock:
                holding -= 1
                done += 1

    threads = [threading.Thread(target=call, args=(limiters[i % len(limiters)],))
               for i in range(callers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done, peak, time.monotonic() - started


def test_callers_waiting_for_a_slot_sleep_instead_of_polling_redis(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    """A worker has hundreds of calls waiting on one endpoint's in-flight cap. They sleep until
    a release wakes one, and one per process polls for the other processes' releases, instead
    of each asking Redis every 20 ms (about 53 asks per provider call in bench/search_rpm.py).
    Two limiters stand for two worker processes: one's releases reach the other's callers
    through Redis alone, and the cap holds across both."""
    limits = Limits(max_in_flight=2)
    endpoint = endpoint_name()
    limiters = [CountingLimiter(redis_client, services.redis_prefix) for _ in range(2)]
    done, peak, elapsed = _hold_slots(limiters, endpoint, limits, callers=40, hold_s=0.1)
    asks = sum(limiter.asks for limiter in limiters)
    assert done == 40 and peak == 2
    # Each of 40 callers polling every 20 ms while the others hold the 2 slots for 0.1 s
    # asks about 40 x (elapsed / 2) / 0.02, 2,000 times for the ideal 2 s. Sleeping: an ask
    # per admission, one per wake-up, and per limiter one poller every 20 ms.
    polling = 40 * (elapsed / 2) / 0.02
    assert asks < 40 * 3 + 2 * elapsed / 0.02, f"{asks} asks in {elapsed:.1f}s"
    assert asks < polling / 3, f"{asks} asks against {polling:.0f} for polling"
    assert elapsed < 40 / 2 * 0.1 * 3  # slots did not sit idle: the ideal is 2 s
    assert limiters[0].status(endpoint, "K") == (0.0, 0)


def test_callers_waiting_for_a_rate_ask_one_at_a_time(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    """Behind a requests/min limit every waiter used to wake at the instant the next request
    was allowed, so each admission cost an ask from all of them. Now the poller asks at that
    instant and, once in, wakes the next: a few asks per admission, at the same pace."""
    limits = Limits(requests_per_min=1200, burst_s=0.05)  # one every 50 ms
    endpoint = endpoint_name()
    limiter = CountingLimiter(redis_client, services.redis_prefix)
    done, _, elapsed = _hold_slots([limiter], endpoint, limits, callers=30, hold_s=0.0)
    assert done == 30
    assert elapsed < 29 * 0.05 * 2 + 0.5  # the pace is the rate's (ideal 1.45 s)
    # Everyone waking at each 50 ms step: about 30 x 29 / 2 = 435 asks (465 measured). Now
    # per admission: the poller's, the next poller's, one woken by the release (a release
    # cannot tell a waiter for a rate from one for a slot), and the 1 s safety net (143).
    assert limiter.asks < 30 * 6, f"{limiter.asks} asks for 30 admissions"


def test_a_waiter_that_gives_up_leaves_the_others_waiting_to_be_served(
    redis_client: redis.Redis, services: RunServices,
) -> None:
    """A waiter with a short deadline gives up with AcquireTimeout, whether it was polling or
    asleep; the callers still waiting are admitted as soon as the slot comes back."""
    limits = Limits(max_in_flight=1)
    endpoint = endpoint_name()
    limiter = CountingLimiter(redis_client, services.redis_prefix)
    holder = limiter.acquire(endpoint, "K", limits, 1, timeout_s=5)
    results: dict[str, float | str] = {}

    def wait_for_slot(name: str, timeout_s: float) -> None:
        started = time.monotonic()
        try:
            with limiter.acquire(endpoint, "K", limits, 1, timeout_s=timeout_s):
                results[name] = time.monotonic() - started
        except AcquireTimeout:
            results[name] = "timeout"

    patient = [threading.Thread(target=wait_for_slot, args=(f"patient-{i}", 30))
               for i in range(3)]
    hasty = [threading.Thread(target=wait_for_slot, args=(f"hasty-{i}", 0.3)) for i in range(3)]
    for t in hasty + patient:
        t.start()
    for t in hasty:
        t.join()
    released_at = time.monotonic()
    holder.release()
    for t in patient:
        t.join()
    assert [results[f"hasty-{i}"] for i in range(3)] == ["timeout"] * 3
    waits = [results[f"patient-{i}"] for i in range(3)]
    assert all(isinstance(w, float) for w in waits)
    # Served one after another from the release on, each woken by the one before: not by
    # the non-pollers' 1 s safety net.
    assert time.monotonic() - released_at < 0.8, waits


def _die_holding_a_slot(redis_url: str, prefix: str, endpoint: str) -> None:
    limiter = RateLimiter(redis.Redis.from_url(redis_url), prefix)
    limiter.acquire(endpoint, "K", Limits(max_in_flight=1), 1, timeout_s=5, lease_s=1.0)
    os.kill(os.getpid(), signal.SIGKILL)  # a worker killed mid-call: no release


def test_a_dead_holders_slot_comes_back_when_its_lease_ends(
    limiter: RateLimiter, services: RunServices,
) -> None:
    endpoint = endpoint_name()
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_die_holding_a_slot,
                        args=(services.redis_url, services.redis_prefix, endpoint))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    limits = Limits(max_in_flight=1)
    assert limiter.status(endpoint, "K")[1] == 1
    with pytest.raises(AcquireTimeout):
        limiter.acquire(endpoint, "K", limits, 1, timeout_s=0.1)
    permit = limiter.acquire(endpoint, "K", limits, 1, timeout_s=5)
    assert permit.waited_s <= 1.5  # the lease was 1 s from the child's acquire
    permit.release()


def test_pause_stops_every_limiter_instance_until_it_ends(
    limiter: RateLimiter, services: RunServices,
) -> None:
    other_client = redis.Redis.from_url(services.redis_url)  # another worker, its own pool
    other = RateLimiter(other_client, services.redis_prefix)
    endpoint = endpoint_name()
    limits = Limits(requests_per_min=6000)
    limiter.pause(endpoint, "K", 1.0)
    limiter.pause(endpoint, "K", 0.1)  # a shorter pause does not cut the first one short

    started = time.monotonic()
    with pytest.raises(AcquireTimeout) as refused:
        other.acquire(endpoint, "K", limits, 1, timeout_s=0.3)
    # Refused at once (no point sleeping out a hopeless wait), saying when to come back,
    # and distinguishable from a provider's 429 although it is a RateLimited.
    assert time.monotonic() - started < 0.2
    assert isinstance(refused.value, RateLimited) and refused.value.status is None
    assert refused.value.retry_after_s is not None and 0.7 <= refused.value.retry_after_s <= 1.0

    permit = other.acquire(endpoint, "K", limits, 1, timeout_s=3)
    assert 0.7 <= permit.waited_s <= 1.5
    permit.release()
    other_client.close()


def test_rotation_spreads_load_and_skips_a_paused_key(limiter: RateLimiter) -> None:
    endpoint = endpoint_name()
    keys = ["ITAS_SIM_KEY_1", "ITAS_SIM_KEY_2", "ITAS_SIM_KEY_3"]
    limits = Limits(requests_per_min=600)  # 10 back to back per key
    used = [limiter.acquire_any(endpoint, keys, limits, 1, timeout_s=1).key_id
            for _ in range(18)]
    assert {k: used.count(k) for k in keys} == dict.fromkeys(keys, 6)

    limiter.pause(endpoint, "ITAS_SIM_KEY_2", 30)
    assert limiter.choose_key(endpoint, keys, limits, 1)[0] != "ITAS_SIM_KEY_2"
    more = [limiter.acquire_any(endpoint, keys, limits, 1, timeout_s=1).key_id for _ in range(6)]
    assert "ITAS_SIM_KEY_2" not in more
    assert sorted(set(more)) == ["ITAS_SIM_KEY_1", "ITAS_SIM_KEY_3"]


def test_with_every_key_paused_the_call_waits_for_the_first_to_return(
    limiter: RateLimiter,
) -> None:
    endpoint = endpoint_name()
    limiter.pause(endpoint, "A", 20)
    limiter.pause(endpoint, "B", 0.5)
    key, wait = limiter.choose_key(endpoint, ["A", "B"], Limits(), 1)
    assert key == "B" and 0.3 <= wait <= 0.5
    permit = limiter.acquire_any(endpoint, ["A", "B"], Limits(), 1, timeout_s=3)
    assert permit.key_id == "B" and 0.3 <= permit.waited_s <= 1.2


def test_redis_keys_are_namespaced_and_name_the_key_variable(
    limiter: RateLimiter, redis_client: redis.Redis, services: RunServices,
) -> None:
    endpoint = endpoint_name()
    limits = Limits(requests_per_min=60, tokens_per_min=1000, max_in_flight=2)
    permit = limiter.acquire(endpoint, "ITAS_SIM_KEY_1", limits, 5, timeout_s=1)
    keys = sorted(k.decode() for k in redis_client.scan_iter(match=f"*{endpoint}*"))
    assert keys == [f"{services.redis_prefix}rl:{{{endpoint}}}:ITAS_SIM_KEY_1",
                    f"{services.redis_prefix}rl:{{{endpoint}}}:ITAS_SIM_KEY_1:inflight"]
    assert all(0 < redis_client.pttl(k) <= 11 * 60_000 for k in keys)  # idle state expires
    permit.release(3)
    # the empty in-flight set is gone; the rest expires on its own
    assert [k.decode() for k in redis_client.scan_iter(match=f"*{endpoint}*")] == keys[:1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_redis_fails_closed_without_showing_the_password() -> None:
    url = f"redis://:hunter2-canary@127.0.0.1:{_closed_port()}/0"
    # retry=None: fail at once instead of redis-py's own reconnect backoff (seconds)
    limiter = RateLimiter(redis.Redis.from_url(url, retry=None), "itas:")
    for attempt in (
        lambda: limiter.acquire("ep", "K", Limits(requests_per_min=1), 1, timeout_s=1),
        lambda: limiter.pause("ep", "K", 1),
    ):
        with pytest.raises(RateLimiterUnavailable) as raised:
            attempt()
        assert "127.0.0.1" in str(raised.value)
        assert "hunter2-canary" not in str(raised.value)


def test_limits_reject_nonsense() -> None:
    for bad in ({"requests_per_min": 0}, {"tokens_per_min": -5}, {"max_in_flight": 1.5},
                {"burst_s": 0}):
        with pytest.raises(ValueError):
            Limits(**bad)  # type: ignore[arg-type]
