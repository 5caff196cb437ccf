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
from dataclasses import asdict, dataclass
from typing import Any

import redis
from sqlalchemy import text

from models.db import session_scope
from models.errors import SharedCallTimeout

log = logging.getLogger(__name__)

HOT_TTL_S = 7 * 24 * 3600
#: A waiter looks again (lock free? answer there?) at least this often, in case the leader's
#: message was missed (sent between the waiter's check and its subscription).
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


class ResponseCache:
    """Redis hot level over the PostgreSQL durable level. Thread-safe."""

    def __init__(self, client: redis.Redis, prefix: str, database_url: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._database_url = database_url

    def _key(self, kind: str, digest: str) -> str:
        return f"{self._prefix}{kind}:{digest}"

    def get(self, digest: str) -> tuple[CachedResponse, str] | None:
        """The response and the level it came from ("hot" or "durable"), or None."""
        raw = self._redis.get(self._key("cache", digest))
        if raw is not None:
            return CachedResponse(**json.loads(raw)), "hot"
        durable = self._durable(digest)
        if durable is not None:
            self._put_hot(digest, durable)
            return durable, "durable"
        return None

    def _durable(self, digest: str) -> CachedResponse | None:
        with session_scope(self._database_url) as session:
            row = session.execute(
                text(
                    "SELECT response_text, tokens_in, tokens_out, latency_s, "
                    "coalesce(finish_reason, 'stop') FROM llm_calls "
                    "WHERE request_hash = :h AND NOT cache_hit AND response_text IS NOT NULL "
                    "AND status IN ('ok', 'parse_failure', 'truncated') ORDER BY id LIMIT 1"
                ),
                {"h": digest},
            ).first()
        if row is None:
            return None
        return CachedResponse(text=row[0], tokens_in=row[1], tokens_out=row[2], latency_s=row[3],
                              finish_reason=row[4])

    def _put_hot(self, digest: str, response: CachedResponse) -> None:
        self._redis.set(self._key("cache", digest), json.dumps(asdict(response)), ex=HOT_TTL_S)

    def put_hot(self, digest: str, response: CachedResponse) -> None:
        """Put a response in Redis. Callers record it durably first (see module docstring)."""
        self._put_hot(digest, response)

    @contextmanager
    def single_flight(self, digest: str, *, lease_s: float = 130.0,
                      wait_s: float = 900.0) -> Iterator[CachedResponse | None]:
        """Yield None to the one caller that must make the request, or the response that
        another caller made meanwhile.

        The leader holds a lease of ``lease_s`` (about the endpoint's timeout), renewed every
        third of it while the body runs; a leader that died stops renewing, and a waiter takes
        over within ``lease_s``. Raises SharedCallTimeout after ``wait_s`` without either.
        """
        lock_key = self._key("flight", digest)
        channel = self._key("flight-done", digest)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        subscription = None
        try:
            while True:
                if self._redis.set(lock_key, token, nx=True, px=int(lease_s * 1000)):
                    with self._renewing(lock_key, token, lease_s):
                        try:
                            found = self.get(digest)  # it may have landed before our lock
                            yield found[0] if found else None
                        finally:
                            self._release(lock_key, token)
                            self._redis.publish(channel, "done")
                    return
                if subscription is None:  # subscribe before looking, so no message is missed
                    subscription = self._redis.pubsub(ignore_subscribe_messages=True)
                    subscription.subscribe(channel)
                found = self.get(digest)
                if found is not None:
                    yield found[0]
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SharedCallTimeout(
                        f"waited {wait_s:.0f}s for an identical call in flight elsewhere")
                subscription.get_message(timeout=min(RECHECK_S, left))
        finally:
            if subscription is not None:
                subscription.close()

    @contextmanager
    def _renewing(self, lock_key: str, token: str, lease_s: float) -> Iterator[None]:
        """Keep our lease alive while the body runs, from a daemon thread."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(lease_s / 3):
                try:
                    self._redis.eval(_RENEW, 1, lock_key, token, int(lease_s * 1000))
                except Exception:  # Redis away: the lease may lapse, a waiter takes over
                    log.warning("could not renew the single-flight lease %s", lock_key)

        thread = threading.Thread(target=renew, name="itas-flight-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()

    def _release(self, lock_key: str, token: str) -> None:
        # Delete only our own lease: after an expiry another leader may hold the key.
        self._redis.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
            "end return 0",
            1, lock_key, token,
        )


#: Extend the lease only if it is still ours.
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0")
