"""The two-level response cache, keyed by one function, with single flight.

- :func:`request_hash` is the only place a cache key is computed. It covers everything that
  decides an answer (endpoint, LLM, messages, temperature, max_tokens, sample index, which is
  also sent as the provider's ``seed``), so sample *i* of an LLM on a question is the same call
  in every architecture that contains it, and trials share work.
- Redis is the hot level (``<prefix>cache:<hash>``). PostgreSQL's ``llm_calls`` rows are the
  durable level: a paid response is written there *before* it is put in Redis, so after a Redis
  flush no paid call is repeated.
- Single flight: of several concurrent identical calls (threads, processes, machines) one
  makes the request; the others wait for its answer in Redis (``<prefix>flight:<hash>``).
  The leader's lease is short (about one endpoint timeout) and renewed while it works, so a
  leader that died is replaced within that time; waiters are woken by a message on
  ``<prefix>flight-done:<hash>`` instead of polling.
  :meth:`ResponseCache.lead_many` takes several such leases at once, for one request that
  answers several calls (k samples of one prompt as one ``n=k`` request).

A response keeps its first output token's top log-probabilities (for calls that asked for
them) at both levels: in the Redis entry, and in ``llm_calls.response_logprobs`` as
``[[token, logprob], ...]``. An entry written before they were kept reads as having none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

import redis
from sqlalchemy import text

from models.db import one_statement
from models.errors import SharedCallTimeout

log = logging.getLogger(__name__)

HOT_TTL_S = 7 * 24 * 3600
#: A waiter looks again (lock free? answer there?) at least this often, in case the leader's
#: message was missed (sent while the process's listener was not subscribed, see DoneListener).
RECHECK_S = 1.0


def request_hash(
    *,
    endpoint: str,
    llm: str,
    messages: Sequence[Mapping[str, Any]],
    temperature: float,
    max_tokens: int,
    sample_index: int,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 of the canonical JSON of everything that decides the answer."""
    canonical = json.dumps(
        {
            "endpoint": endpoint,
            "llm": llm,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": round(float(temperature), 6),
            "max_tokens": int(max_tokens),
            "sample_index": int(sample_index),
            "extra": dict(extra or {}),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    text: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    finish_reason: str = "stop"
    #: Paid, but PostgreSQL did not take its record (it was down): the next use records it as
    #: the paid call it was, instead of paying for it again (see LLMCaller).
    unrecorded: bool = False
    #: The first output token's top (token, logprob) pairs, best first; empty when the call
    #: did not ask for them or the endpoint did not give them.
    top_logprobs: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> str:
        """The Redis entry. ``top_logprobs`` is left out when empty, so that the entries of
        calls without them are the ones they always were (and a worker of an earlier version
        still reads them while a deployment rolls)."""
        data = asdict(self)
        if not self.top_logprobs:
            del data["top_logprobs"]
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> CachedResponse:
        """A Redis entry back; fields it does not know (a later version's) are ignored."""
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["top_logprobs"] = logprob_pairs(data.get("top_logprobs"))
        return cls(**data)


def logprob_pairs(value: Any) -> tuple[tuple[str, float], ...]:
    """(token, logprob) pairs from their JSON form ``[[token, logprob], ...]`` (a Redis entry,
    ``llm_calls.response_logprobs``); None or anything else gives none."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple((pair[0], float(pair[1])) for pair in value
                 if isinstance(pair, list | tuple) and len(pair) == 2
                 and isinstance(pair[0], str) and isinstance(pair[1], int | float))


class ResponseCache:
    """Redis hot level over the PostgreSQL durable level. Thread-safe."""

    def __init__(self, client: redis.Redis, prefix: str, database_url: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._database_url = database_url
        self._read_or_lead = client.register_script(_READ_OR_LEAD)
        self._finish = client.register_script(_FINISH)
        self._leases = LeaseKeeper(client)
        self._done = DoneListener(client, self._key("flight-done", "*"))

    def _key(self, kind: str, digest: str) -> str:
        return f"{self._prefix}{kind}:{digest}"

    def get(self, digest: str) -> tuple[CachedResponse, str] | None:
        """The response and the level it came from ("hot" or "durable"), or None."""
        hot = self._hot(digest)
        if hot is not None:
            return hot, "hot"
        durable = self._durable(digest)
        if durable is not None:
            self._put_hot(digest, durable)
            return durable, "durable"
        return None

    def _hot(self, digest: str) -> CachedResponse | None:
        raw = self._redis.get(self._key("cache", digest))
        return CachedResponse.from_json(raw) if raw is not None else None

    def _durable(self, digest: str) -> CachedResponse | None:
        # A plain connection, not an ORM session: this runs for every call the hot level
        # misses, and a session's bookkeeping was a good part of a call's CPU (bench/
        # pipeline_throughput.py profiles it).
        with one_statement(self._database_url) as session:
            row = session.execute(
                text(
                    "SELECT response_text, tokens_in, tokens_out, latency_s, "
                    "coalesce(finish_reason, 'stop'), response_logprobs FROM llm_calls "
                    "WHERE request_hash = :h AND NOT cache_hit AND response_text IS NOT NULL "
                    "AND status IN ('ok', 'parse_failure', 'truncated') ORDER BY id LIMIT 1"
                ),
                {"h": digest},
            ).first()
        if row is None:
            return None
        return CachedResponse(text=row[0], tokens_in=row[1], tokens_out=row[2], latency_s=row[3],
                              finish_reason=row[4], top_logprobs=logprob_pairs(row[5]))

    def _put_hot(self, digest: str, response: CachedResponse) -> None:
        self._redis.set(self._key("cache", digest), response.to_json(), ex=HOT_TTL_S)

    def put_hot(self, digest: str, response: CachedResponse) -> None:
        """Put a response in Redis. Callers record it durably first (see module docstring)."""
        self._put_hot(digest, response)

    @contextmanager
    def single_flight(self, digest: str, *, lease_s: float = 130.0,
                      wait_s: float = 900.0) -> Iterator[CachedResponse | None]:
        """Yield None to the one caller that must make the request, or the response that
        another caller made (or the cache held) meanwhile: callers need not look in the cache
        first.

        The leader holds a lease of ``lease_s`` (about the endpoint's timeout), renewed every
        third of it while the body runs; a leader that died stops renewing, and a waiter takes
        over within ``lease_s``. Raises SharedCallTimeout after ``wait_s`` without either.
        """
        cache_key = self._key("cache", digest)
        lock_key = self._key("flight", digest)
        channel = self._key("flight-done", digest)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        woken: threading.Event | None = None
        try:
            while True:
                # One round trip for the common cases: the answer is in Redis, or no one is
                # making the call and the lease is ours (this runs for every LLM call).
                outcome = self._read_or_lead(keys=[cache_key, lock_key],
                                             args=[token, int(lease_s * 1000)])
                if outcome[0] == b"hot":
                    yield CachedResponse.from_json(outcome[1])
                    return
                if outcome[0] == b"lead":
                    self._leases.hold(lock_key, token, lease_s)
                    try:
                        # Only the leader looks in PostgreSQL: once per paid call, and an
                        # answer recorded before a Redis flush is not paid for again.
                        durable = self._durable(digest)
                        if durable is not None:
                            self._put_hot(digest, durable)
                        yield durable
                    finally:
                        self._leases.drop(lock_key)
                        self._finish(keys=[lock_key, channel], args=[token])
                    return
                if woken is None:  # listen before looking again, so no message is missed
                    woken = self._done.listen(channel)
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SharedCallTimeout(
                        f"waited {wait_s:.0f}s for an identical call in flight elsewhere")
                woken.wait(min(RECHECK_S, left))
                woken.clear()
        finally:
            if woken is not None:
                self._done.forget(channel, woken)

    @contextmanager
    def lead_many(self, digests: Sequence[str], *, lease_s: float = 130.0
                  ) -> Iterator[list[str]]:
        """Take, without waiting, the single-flight lease of each of ``digests`` that no one
        holds and that is not cached yet; yield those (in order), release them at the end.
        The leases are renewed while the body runs and waiters are woken at the end, as in
        :meth:`single_flight`.

        For a caller that answers several requests with one (k samples as one ``n=k``
        request): it must put every digest it yields in the cache before leaving, or the
        callers waiting on them make their own requests once the leases are gone.
        """
        token = uuid.uuid4().hex
        led: list[str] = []
        try:
            for digest in digests:
                lock_key = self._key("flight", digest)
                if not self._redis.set(lock_key, token, nx=True, px=int(lease_s * 1000)):
                    continue
                if self.get(digest) is not None:  # landed before we took the lease
                    self._release(lock_key, token)
                    continue
                self._leases.hold(lock_key, token, lease_s)
                led.append(digest)
            yield led
        finally:
            for digest in led:
                lock_key = self._key("flight", digest)
                self._leases.drop(lock_key)
                self._finish(keys=[lock_key, self._key("flight-done", digest)], args=[token])

    def _release(self, lock_key: str, token: str) -> None:
        # Delete only our own lease: after an expiry another leader may hold the key.
        self._redis.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
            "end return 0",
            1, lock_key, token,
        )


class LeaseKeeper:
    """Renews the single-flight leases a process holds, from one daemon thread.

    One thread for all of them rather than one per call: a worker holds a lease for every
    call it has in flight (hundreds), and a thread started per call cost its start-up and a
    stack each. A lease is renewed every third of its length while held; one the keeper
    could not renew (Redis away) may lapse, and a waiter then takes the call over.
    """

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._renew = client.register_script(_RENEW)
        self._held: dict[str, tuple[str, float, float]] = {}  # key -> (token, lease_s, due)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the keeper, asleep, wakes next (0: it is awake)

    def hold(self, lock_key: str, token: str, lease_s: float) -> None:
        due = time.monotonic() + lease_s / 3
        with self._changed:
            self._held[lock_key] = (token, lease_s, due)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="itas-flight-leases",
                                                daemon=True)
                self._thread.start()
            if due < self._wake_at:  # else the keeper wakes in time anyway: let it sleep
                self._changed.notify()

    def drop(self, lock_key: str) -> None:
        with self._changed:
            self._held.pop(lock_key, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [(k, t, s) for k, (t, s, at) in self._held.items() if at <= now]
                for key, token, lease_s in due:
                    self._held[key] = (token, lease_s, now + lease_s / 3)
                if not due:
                    self._wake_at = min((at for _, _, at in self._held.values()),
                                        default=now + 60)
                    self._changed.wait(max(0.01, self._wake_at - now))
                    self._wake_at = 0.0  # awake: a lease held now is seen on the next pass
                    continue
            for key, token, lease_s in due:
                try:
                    self._renew(keys=[key], args=[token, int(lease_s * 1000)])
                except Exception:  # Redis away: the lease may lapse, a waiter takes over
                    log.warning("could not renew the single-flight lease %s", key)


#: A process's single-flight listener lets its connection go after this long with no waiter.
IDLE_LISTENER_S = 30.0


class DoneListener:
    """Wakes this process's threads waiting for calls in flight elsewhere, from one Redis
    connection subscribed to every ``flight-done`` channel of the prefix.

    One connection per process rather than a subscription per waiting thread: waiters wait as
    long as the call they share (seconds to minutes with real LLMs), and a search has hundreds
    of them at once (its trials ask the same samples), which held every connection of the
    worker's pool and starved the cache and the limiter (`No connection available`,
    bench/search_rpm.py on 2026-12-02). Each waiter also looks again every RECHECK_S, so a
    message lost while this connection is re-made only delays it.
    """

    def __init__(self, client: redis.Redis, pattern: str) -> None:
        self._redis = client
        self._pattern = pattern
        self._waiting: dict[bytes, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def listen(self, channel: str) -> threading.Event:
        """An event set when ``channel`` says done (or spuriously: callers look again)."""
        woken = threading.Event()
        with self._lock:
            self._waiting.setdefault(channel.encode(), set()).add(woken)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="itas-flight-done",
                                                daemon=True)
                self._thread.start()
        return woken

    def forget(self, channel: str, woken: threading.Event) -> None:
        with self._lock:
            waiters = self._waiting.get(channel.encode())
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[channel.encode()]

    def _idle_end(self, since: float) -> bool:
        """Whether to stop listening: no one waiting for IDLE_LISTENER_S. Decided under the
        lock, so that :meth:`listen` starts a new listener if it comes after."""
        with self._lock:
            if self._waiting or time.monotonic() - since < IDLE_LISTENER_S:
                return False
            self._thread = None
            return True

    def _run(self) -> None:
        busy_at = time.monotonic()
        while True:
            subscription = None
            try:
                subscription = self._redis.pubsub(ignore_subscribe_messages=True)
                subscription.psubscribe(self._pattern)
                while True:
                    message = subscription.get_message(timeout=1.0)
                    if self._waiting:
                        busy_at = time.monotonic()
                    elif self._idle_end(busy_at):
                        return  # its connection goes back to the pool (finally)
                    if message is None:
                        continue
                    channel = message["channel"]
                    if isinstance(channel, str):  # a client made with decode_responses
                        channel = channel.encode()
                    with self._lock:
                        for woken in self._waiting.get(channel, ()):
                            woken.set()
            except Exception as exc:  # Redis away: waiters fall back on looking again
                log.warning("single-flight wake-ups: Redis does not answer (%s); waiters "
                            "look again every %.0f s meanwhile", type(exc).__name__, RECHECK_S)
                time.sleep(RECHECK_S)
                if self._waiting:
                    busy_at = time.monotonic()
                elif self._idle_end(busy_at):
                    return
            finally:
                if subscription is not None:
                    try:
                        subscription.close()
                    except Exception:  # noqa: S110  # the connection is gone already
                        pass


#: The answer if Redis has it, else the lease if no one holds it: ["hot", answer], ["lead"] or
#: ["wait"].
_READ_OR_LEAD = ("local hot = redis.call('get', KEYS[1]) "
                 "if hot then return {'hot', hot} end "
                 "if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then "
                 "return {'lead'} end return {'wait'}")
#: Release our lease (only if still ours: after an expiry another leader may hold it) and wake
#: the waiters, in one round trip.
_FINISH = ("if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end "
           "return redis.call('publish', KEYS[2], 'done')")
#: Extend the lease only if it is still ours.
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")
